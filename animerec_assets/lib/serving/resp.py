"""Encode whole batches of Redis commands in the Redis protocol (RESP) with Arrow kernels.

A publish writes hundreds of thousands of keys. Handing each key and value to redis-py as a
Python string costs more than Redis needs to store them (the client encodes every argument in
Python). Here a batch such as ``MSET k1 v1 k2 v2 ...`` becomes one bytes blob built by Arrow's
vectorized string kernels: ``$<len>\\r\\n<arg>\\r\\n`` per argument, joined per batch under a
``*<n>\\r\\n`` header — the format Redis' own "mass insertion" guide describes. Arguments are
handled as bytes, so a value may be text or packed binary (a user's list, ``payloads.py``), and
rows are encoded a slice at a time: a whole publish of long lists is more than the 2 GiB one
Arrow array can hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CRLF = "\r\n"
ENCODE_SLICE_BYTES = 256 * 1024 * 1024  # about this much argument data per encoded slice
Column: TypeAlias = np.ndarray | Sequence[object] | pa.Array


def _literal(text: str) -> pa.Scalar:
    return pa.scalar(text.encode(), pa.binary())


def _as_bytes(values: Column) -> pa.Array:
    """Arguments as Arrow ``binary``: text is UTF-8 encoded, bytes pass through as they are."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        if pa.types.is_binary(values.type):
            return values
        if not (pa.types.is_string(values.type) or pa.types.is_large_binary(values.type)):
            values = values.cast(pa.string())
        return values.cast(pa.binary())
    array = np.asarray(values, dtype=object)
    kind = pa.binary() if len(array) and isinstance(array[0], bytes) else pa.string()
    return pa.array(array, type=kind).cast(pa.binary())


def bulk_strings(values: Column) -> pa.Array:
    """Each value as a RESP bulk string ``$<byte length>\\r\\n<value>\\r\\n`` (Arrow binary)."""
    data = _as_bytes(values)
    if data.null_count:
        raise ValueError("a Redis argument cannot be null")
    lengths = pc.cast(pc.cast(pc.binary_length(data), pa.string()), pa.binary())
    crlf = _literal(CRLF)
    return pc.binary_join_element_wise(_literal("$"), lengths, crlf, data, crlf, _literal(""))


def _byte_size(column: Column) -> int:
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        return int(column.nbytes)
    array = np.asarray(column, dtype=object)
    sample = array[: min(len(array), 1000)]
    each = np.mean([len(v) for v in sample]) if len(sample) else 0.0
    return int(each * len(array))


def _rows_per_slice(columns: Sequence[Column], n_rows: int, batch_size: int) -> int:
    """Rows encoded at once: a whole number of batches, about ``ENCODE_SLICE_BYTES`` of data."""
    total = sum(_byte_size(column) for column in columns) + 32 * n_rows * len(columns)
    slices = max(1, -(-total // ENCODE_SLICE_BYTES))
    per_slice = -(-n_rows // slices)
    return max(batch_size, -(-per_slice // batch_size) * batch_size)


def command_batches(
    head: Sequence[str], columns: Sequence[np.ndarray | pa.Array], batch_size: int
) -> Iterator[tuple[int, bytes]]:
    """(rows in the batch, RESP bytes) of ``head + interleaved columns`` commands.

    ``command_batches(["MSET"], [keys, values], 2)`` yields ``MSET k0 v0 k1 v1``,
    ``MSET k2 v2 ...``: every column has one value per row, rows are cut into batches.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    n_rows = len(columns[0]) if columns else 0
    if any(len(column) != n_rows for column in columns):
        raise ValueError("every column needs one value per row")
    if n_rows == 0:
        return
    head_args = "".join(f"${len(arg.encode())}{CRLF}{arg}{CRLF}" for arg in head)
    step = _rows_per_slice(columns, n_rows, batch_size)
    for start in range(0, n_rows, step):
        stop = min(start + step, n_rows)
        encoded = [bulk_strings(column[start:stop]) for column in columns]
        rows = pc.binary_join_element_wise(*encoded, _literal(""))
        offsets = np.append(np.arange(0, stop - start, batch_size, dtype=np.int32), stop - start)
        bodies = pc.binary_join(
            pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), rows), _literal("")
        )
        for size, body in zip(np.diff(offsets).tolist(), bodies, strict=True):
            header = f"*{len(head) + len(columns) * size}{CRLF}{head_args}".encode()
            yield size, header + body.as_buffer().to_pybytes()
