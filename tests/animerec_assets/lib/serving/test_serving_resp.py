"""Batches encoded in the Redis protocol by Arrow kernels reach Redis byte for byte."""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pytest
import redis

from animerec_assets.lib.serving.resp import bulk_strings, command_batches

HOSTILE = ["plain", "", "multi\r\nline", "$5\r\nfake", "*3", "ümlaut ✓ 進撃", "x" * 10_000]


def test_bulk_strings_count_bytes_not_characters() -> None:
    encoded = bulk_strings(["a", "ü", ""]).to_pylist()
    assert encoded == [b"$1\r\na\r\n", "$2\r\nü\r\n".encode(), b"$0\r\n\r\n"]


def test_a_null_argument_is_refused() -> None:
    with pytest.raises(ValueError, match="null"):
        bulk_strings(pa.array(["a", None]))


def test_batches_split_rows_and_count_arguments() -> None:
    keys = np.array(["k0", "k1", "k2"], dtype=object)
    values = np.array(["v0", "v1", "v2"], dtype=object)
    batches = list(command_batches(["MSET"], [keys, values], batch_size=2))
    assert [size for size, _ in batches] == [2, 1]
    assert batches[1][1] == b"*3\r\n$4\r\nMSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n"
    assert batches[0][1].startswith(b"*5\r\n$4\r\nMSET\r\n$2\r\nk0\r\n")
    with pytest.raises(ValueError, match="one value per row"):
        list(command_batches(["MSET"], [keys, values[:2]], batch_size=2))
    assert list(command_batches(["MSET"], [keys[:0], values[:0]], batch_size=2)) == []


def test_packed_bytes_pass_through_unchanged() -> None:
    packed = b"\x00\xff\r\n\x80"
    assert bulk_strings(np.array([packed], dtype=object)).to_pylist() == [
        b"$5\r\n" + packed + b"\r\n"
    ]


def test_rows_are_encoded_a_slice_at_a_time_into_the_same_batches(monkeypatch) -> None:
    from animerec_assets.lib.serving import resp

    keys = np.array([f"k{i}" for i in range(50)], dtype=object)
    values = np.array([f"value {i}" * (i % 7) for i in range(50)], dtype=object)
    whole = list(command_batches(["MSET"], [keys, values], batch_size=4))
    monkeypatch.setattr(resp, "ENCODE_SLICE_BYTES", 64)
    assert resp._rows_per_slice([keys, values], 50, 4) < 50
    assert list(command_batches(["MSET"], [keys, values], batch_size=4)) == whole


def test_hostile_strings_round_trip_through_a_real_redis(redis_server_url: str) -> None:
    client = redis.Redis.from_url(redis_server_url)
    prefix = f"resp-test:{uuid.uuid4().hex}:"
    keys = np.array([prefix + text for text in HOSTILE], dtype=object)
    values = np.array(list(reversed(HOSTILE)), dtype=object)
    connection = client.connection_pool.get_connection()
    try:
        for _, command in command_batches(["MSET"], [keys, values], batch_size=3):
            connection.send_packed_command([command])
            assert connection.read_response() in (b"OK", "OK")
    finally:
        client.connection_pool.release(connection)
    try:
        stored = client.mget(list(keys))
        assert [value.decode() for value in stored] == list(values)
    finally:
        client.delete(*keys)
