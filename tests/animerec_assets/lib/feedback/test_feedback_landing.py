"""Stream entries → landing.feedback rows: validation, the hour's id range, merging re-runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import redis
from feedback_stream import add_entries, feedback_event

from animerec_assets.contracts.feedback import FEEDBACK_LANDING_COLUMNS, STREAM_KEY
from animerec_assets.lib.feedback.landing import (
    event_time_text,
    expired_rows_sql,
    hour_id_range,
    hour_rows_sql,
    merge_hour,
    parse_entries,
    read_stream,
)

HOUR = "2026-11-30 01:00:00"
AT = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def as_stream(*events: dict[str, str], start_ms: int = 1_796_000_000_000) -> list:
    """Entries as redis-py returns them (bytes ids, bytes fields)."""
    return [
        (f"{start_ms + i}-0".encode(), {k.encode(): v.encode() for k, v in event.items()})
        for i, event in enumerate(events)
    ]


def test_valid_events_become_typed_rows_with_time_from_the_entry_id() -> None:
    hour = parse_entries(
        as_stream(
            feedback_event(action="like", anime_id=5, position=3, username="Alice_1"),
            feedback_event(action="more", anime_id=None, position=None, reason_type=None),
            start_ms=int(AT.timestamp() * 1000) + 1234,
        ),
        HOUR,
    )
    assert hour.invalid == {} and hour.entries == 2
    assert list(hour.rows.columns) == [name for name, _ in FEEDBACK_LANDING_COLUMNS]
    like, more = hour.rows.to_dict("records")
    assert like["event_time"] == "2026-11-30T01:00:01.234+00:00"
    assert (like["anime_id"], like["position"], like["username"]) == (5, 3, "alice_1")
    assert like["event_hour"] == HOUR and pd.isna(like["reason_anime_id"])
    assert pd.isna(more["anime_id"]) and pd.isna(more["reason_type"])
    assert str(hour.rows["anime_id"].dtype) == "Int64"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"action": "delete_everything"}, "action: invalid"),
        ({"anime_id": "-5"}, "anime_id: invalid"),
        ({"anime_id": "1" * 30}, "anime_id: invalid"),
        ({"position": "1001"}, "position: invalid"),
        ({"session_id": "x" * 65}, "session_id: invalid"),
        ({"session_id": "<script>alert(1)</script>"}, "session_id: invalid"),
        ({"username": "a" * 17}, "username: invalid"),
        ({"model_version": ""}, "model_version: invalid"),
        ({"model_version": "v1\nDROP"}, "model_version: invalid"),
        ({"reason_type": "because"}, "reason_type: invalid"),
        ({"origin": "cli"}, "origin: invalid"),
        ({"action": "like", "anime_id": ""}, "anime_id: invalid"),
        ({"ip": "10.0.0.1"}, "unknown field"),
    ],
)
def test_an_invalid_entry_is_counted_with_its_reason_and_skipped(
    fields: dict[str, str], reason: str
) -> None:
    good = feedback_event()
    hour = parse_entries(as_stream(good, {**feedback_event(), **fields}, good), HOUR)
    assert hour.invalid == {reason: 1}
    assert len(hour.rows) == 2 and hour.entries == 3
    assert hour.samples[0].startswith("'1796000000001-0': ")


def test_garbage_entries_never_fail_the_batch() -> None:
    encoded = as_stream(feedback_event())[0][1]
    garbage = [
        (b"1796000000000-0", {b"\xff\xfe": b"\x00\xff" * 100}),
        (b"1796000000001-0", {}),
        (b"1796000000002-0", {b"action": b"like"}),
        (b"1796000000003-0", {k: v + b"\xff" for k, v in encoded.items()}),
        (b"1796000000004-0", {**encoded, b"session_id": b"s" * 100_000}),
    ]
    hour = parse_entries([*garbage, *as_stream(feedback_event(), start_ms=1796000000009)], HOUR)
    assert hour.invalid_count == 5 and len(hour.rows) == 1
    assert all(len(sample) < 300 for sample in hour.samples)


def test_merge_keeps_each_event_once_and_drops_expired_ones() -> None:
    first = parse_entries(as_stream(feedback_event(), feedback_event(anime_id=2)), HOUR).rows
    later = parse_entries(
        as_stream(feedback_event(), feedback_event(anime_id=2), feedback_event(anime_id=3)), HOUR
    ).rows
    merged = merge_hour(first, later, "2000-01-01T00:00:00.000+00:00")
    assert merged["anime_id"].tolist() == [1, 2, 3]
    assert merged["event_id"].is_unique
    # the stream lost the hour (MAXLEN): what landed stays
    assert merge_hour(merged, later.iloc[:0], "2000-01-01T00:00:00.000+00:00").equals(merged)
    assert merge_hour(merged, later, "2099-01-01T00:00:00.000+00:00").empty


def test_sql_built_from_values_refuses_anything_but_hours_and_times() -> None:
    assert hour_rows_sql('landing."feedback"', HOUR).endswith("event_hour = '2026-11-30 01:00:00'")
    assert expired_rows_sql("t", event_time_text(AT)).endswith("< '2026-11-30T01:00:00.000+00:00'")
    with pytest.raises(ValueError):
        hour_rows_sql("t", "2026' or 1=1 --")
    with pytest.raises(ValueError):
        expired_rows_sql("t", "x' or '1'='1")


def test_an_hour_is_read_whole_across_pages_and_nothing_of_its_neighbours(
    private_redis,
) -> None:
    client = redis.Redis.from_url(private_redis.url)
    try:
        add_entries(client, AT - timedelta(milliseconds=1), [feedback_event(anime_id=99)])
        ids = add_entries(client, AT, [feedback_event(anime_id=i) for i in range(1, 8)])
        add_entries(client, AT + timedelta(hours=1), [feedback_event(anime_id=98)])
        first, last = hour_id_range(AT, AT + timedelta(hours=1))
        entries = read_stream(client, STREAM_KEY, first, last, page=3)
        assert [entry_id.decode() for entry_id, _ in entries] == ids
    finally:
        client.close()
