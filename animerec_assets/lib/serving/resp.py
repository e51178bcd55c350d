"""Encode whole batches of Redis commands in the Redis protocol (RESP) with Arrow kernels.

A publish writes hundreds of thousands of keys. Handing each key and value to redis-py as a
Python string costs more than Redis needs to store them (the client encodes every argument in
Python). Here a batch such as ``MSET k1 v1 k2 v2 ...`` becomes one bytes blob built by Arrow's
vectorized string kernels: ``$<len>\\r\\n<arg>\\r\\n`` per argument, joined per batch under a
``*<n>\\r\\n`` header — the format Redis' own "mass insertion" guide describes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CRLF = "\r\n"


def _as_utf8(values: np.ndarray | Sequence[object] | pa.Array) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.string())
    return pa.array(np.asarray(values, dtype=object), type=pa.string())


def bulk_strings(values: np.ndarray | Sequence[object] | pa.Array) -> pa.Array:
    """Each value as a RESP bulk string ``$<byte length>\\r\\n<value>\\r\\n`` (Arrow strings)."""
    text = _as_utf8(values)
    if text.null_count:
        raise ValueError("a Redis argument cannot be null")
    lengths = pc.cast(pc.binary_length(text), pa.string())
    return pc.binary_join_element_wise("$", lengths, CRLF, text, CRLF, "")


def command_batches(
    head: Sequence[str], columns: Sequence[np.ndarray | pa.Array], batch_size: int
) -> Iterator[tuple[int, bytes]]:
    """(rows in the batch, RESP bytes) of ``head + interleaved columns`` commands.

    ``command_batches(["MSET"], [keys, values], 2)`` yields ``MSET k0 v0 k1 v1``,
    ``MSET k2 v2 ...``: every column has one value per row, rows are cut into batches.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    encoded = [bulk_strings(column) for column in columns]
    n_rows = len(encoded[0]) if encoded else 0
    if any(len(column) != n_rows for column in encoded):
        raise ValueError("every column needs one value per row")
    if n_rows == 0:
        return
    rows = pc.binary_join_element_wise(*encoded, "")
    head_args = "".join(f"${len(arg.encode())}{CRLF}{arg}{CRLF}" for arg in head)
    starts = np.arange(0, n_rows, batch_size, dtype=np.int32)
    offsets = np.append(starts, np.int32(n_rows))
    bodies = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), rows), "")
    sizes = np.diff(offsets)
    for size, body in zip(sizes.tolist(), bodies, strict=True):
        header = f"*{len(head) + len(columns) * size}{CRLF}{head_args}".encode()
        yield size, header + body.as_buffer().to_pybytes()
