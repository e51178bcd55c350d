"""record_event against real Redis servers: the per-session cap is exact under concurrency,
the stored entries are the contract's encoding and nothing else, and an outage never raises."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import redis
from feedback_checks import assert_no_address, assert_no_address_under, stored_entries
from redis_fault_proxy import FaultyRedisProxy

from animerec_assets.contracts.feedback import SESSION_EVENT_LIMIT, SESSION_WINDOW_S
from animerec_assets.lib.feedback.events import (
    EVENT_FIELDS,
    FeedbackEvent,
    InvalidFeedbackError,
    event_time_of,
    from_stream_fields,
    new_session_id,
    parse_event,
)
from animerec_assets.lib.feedback.stream import (
    _RECORD_LUA,
    FeedbackKeys,
    RecordResult,
    dropped_count,
    record_event,
)

# a fixed instant at the start of a window, so every event of a test falls in known windows
WINDOW_START = datetime.fromtimestamp(1_796_000_400 // SESSION_WINDOW_S * SESSION_WINDOW_S, UTC)
FLOOD = 3 * SESSION_EVENT_LIMIT


def event(session_id: str, anime_id: int = 1, **changes: object) -> FeedbackEvent:
    raw: dict[str, object] = {
        "session_id": session_id,
        "model_version": "model-7",
        "anime_id": anime_id,
        "position": anime_id % 5,
        "reason_type": "popular",
        "action": "shown",
        "origin": "app",
    }
    raw.update(changes)
    return parse_event(raw)


def test_a_flood_from_one_session_is_capped_exactly_and_others_are_unaffected(
    feedback_redis: redis.Redis, feedback_keys: FeedbackKeys
) -> None:
    flooder, bystander = new_session_id(), new_session_id()
    now = WINDOW_START + timedelta(seconds=5)

    def send(i: int) -> RecordResult:
        return record_event(feedback_redis, event(flooder, i + 1), now, keys=feedback_keys)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, range(FLOOD)))
    statuses = [r.status for r in results]
    assert statuses.count("recorded") == SESSION_EVENT_LIMIT
    assert statuses.count("rate_limited") == FLOOD - SESSION_EVENT_LIMIT
    assert all(r.retry_after_s == SESSION_WINDOW_S - 5 for r in results if not r.recorded)
    assert dropped_count(feedback_redis, feedback_keys) == FLOOD - SESSION_EVENT_LIMIT

    assert record_event(feedback_redis, event(bystander), now, keys=feedback_keys).recorded
    entries = stored_entries(feedback_redis, feedback_keys)
    sessions = [fields["session_id"] for _, fields in entries]
    assert sessions.count(flooder) == SESSION_EVENT_LIMIT and sessions.count(bystander) == 1
    recorded_ids = {r.event_id for r in results if r.recorded}
    assert recorded_ids | {entries[-1][0]} == {entry_id for entry_id, _ in entries}


def test_the_window_slides_the_previous_windows_count_weighs_by_its_overlap(
    feedback_redis: redis.Redis, feedback_keys: FeedbackKeys
) -> None:
    session = new_session_id()
    window = timedelta(seconds=SESSION_WINDOW_S)

    def burst(at: datetime) -> int:
        results = [
            record_event(feedback_redis, event(session), at, keys=feedback_keys)
            for _ in range(SESSION_EVENT_LIMIT + 10)
        ]
        return sum(r.recorded for r in results)

    assert burst(WINDOW_START) == SESSION_EVENT_LIMIT
    # half-way through the next window, half of the full previous window still counts
    assert burst(WINDOW_START + window * 1.5) == SESSION_EVENT_LIMIT // 2
    # at the start of the one after, all of the previous window's half counts
    assert burst(WINDOW_START + window * 2) == SESSION_EVENT_LIMIT // 2
    # two quiet windows later the session starts afresh
    assert burst(WINDOW_START + window * 4) == SESSION_EVENT_LIMIT


def test_stored_entries_are_the_contract_encoding_and_carry_no_address(
    feedback_redis: redis.Redis, feedback_keys: FeedbackKeys
) -> None:
    session = new_session_id()
    sent = [
        event(session, 5, username="Xinil", reason_anime_id=30, action="like"),
        event(session, 6, reason_type=None, action="click_mal", origin="api"),
        parse_event(
            {"session_id": session, "model_version": "model-7", "action": "more", "origin": "app"}
        ),
    ]
    before = datetime.now(UTC) - timedelta(seconds=1)
    results = [record_event(feedback_redis, e, keys=feedback_keys) for e in sent]
    entries = stored_entries(feedback_redis, feedback_keys)
    assert [entry_id for entry_id, _ in entries] == [r.event_id for r in results]
    for (entry_id, fields), original in zip(entries, sent, strict=True):
        assert list(fields) == list(EVENT_FIELDS)  # exactly these fields, in this order
        for value in fields.values():
            assert_no_address(value)
        assert from_stream_fields(fields) == original  # the landing side's decoding
        moment = datetime.fromisoformat(event_time_of(entry_id))
        assert before <= moment <= datetime.now(UTC) + timedelta(seconds=1)
    assert entries[0][1]["username"] == "xinil" and entries[0][1]["reason_anime_id"] == "30"
    assert entries[2][1]["anime_id"] == "" and entries[2][1]["position"] == ""
    # and nothing else under the feedback keys holds more than counts
    assert assert_no_address_under(feedback_redis, feedback_keys) == 3 * len(EVENT_FIELDS) + 1


def test_invalid_events_are_rejected_without_affecting_the_others(
    feedback_redis: redis.Redis, feedback_keys: FeedbackKeys
) -> None:
    session = new_session_id()
    raws: list[dict[str, object]] = [
        {"session_id": session, "model_version": "m", "anime_id": 1, "position": 0,
         "action": "like", "origin": "app"},
        {"session_id": session, "model_version": "m", "anime_id": -1, "position": 0,
         "action": "like", "origin": "app"},
        {"session_id": "x", "model_version": "m", "action": "more", "origin": "app"},
        {"session_id": session, "model_version": "m", "anime_id": 2, "position": 1,
         "action": "like", "origin": "app", "ip": "198.51.100.1"},
        {"session_id": session, "model_version": "m", "anime_id": 3, "position": 2,
         "action": "dislike", "origin": "api"},
    ]  # fmt: skip
    outcomes = []
    for raw in raws:
        try:
            outcomes.append(record_event(feedback_redis, parse_event(raw), keys=feedback_keys))
        except InvalidFeedbackError:
            outcomes.append(None)
    assert [o is not None and o.recorded for o in outcomes] == [True, False, False, False, True]
    assert [f["anime_id"] for _, f in stored_entries(feedback_redis, feedback_keys)] == ["1", "3"]
    # an event built around parse_event is checked again and never stored
    forged = replace(event(session), anime_id=-4)
    with pytest.raises(InvalidFeedbackError):
        record_event(feedback_redis, forged, keys=feedback_keys)
    assert feedback_redis.xlen(feedback_keys.stream) == 2


def test_redis_trouble_returns_not_recorded_and_never_raises(private_redis) -> None:
    session, keys = new_session_id(), FeedbackKeys()
    assert record_event(None, event(session)).status == "unavailable"

    def status(client: redis.Redis) -> str:
        return record_event(client, event(session), keys=keys, backoff_s=0).status

    proxy = FaultyRedisProxy(private_redis.port)
    direct = redis.Redis.from_url(private_redis.url)
    try:
        through = redis.Redis.from_url(proxy.url, socket_timeout=0.5)
        assert status(through) == "recorded"
        proxy.delay_s = 1.0  # slower than the client waits
        assert status(through) == "unavailable"
        proxy.delay_s = 0.0
        proxy.drop_reply_to = hashlib.sha1(_RECORD_LUA).hexdigest().encode()  # reply lost
        assert status(through) == "unavailable"
        proxy.drop_reply_to = None
        direct.set(keys.stream, "not a stream")  # the server answers with an error
        assert status(through) == "unavailable"
        direct.delete(keys.stream)
        assert status(through) == "recorded"
    finally:
        proxy.close()
    private_redis.kill()  # the server is gone: the connection is refused
    assert status(direct) == "unavailable"


def test_after_a_failure_events_skip_a_hanging_redis_for_the_backoff(private_redis) -> None:
    session, keys = new_session_id(), FeedbackKeys()
    proxy = FaultyRedisProxy(private_redis.port)
    try:
        hanging = redis.Redis.from_url(proxy.url, socket_timeout=0.3)
        healthy = redis.Redis.from_url(private_redis.url)
        proxy.delay_s = 1.0
        started = time.monotonic()
        assert record_event(hanging, event(session), keys=keys, backoff_s=1.0).status == (
            "unavailable"
        )
        first = time.monotonic() - started
        started = time.monotonic()
        skipped = [record_event(hanging, event(session), keys=keys) for _ in range(50)]
        assert {r.status for r in skipped} == {"unavailable"}
        assert time.monotonic() - started < first / 3  # none of them waited for Redis
        assert record_event(healthy, event(session), keys=keys).recorded  # other pools unaffected
        proxy.delay_s = 0.0
        time.sleep(1.1)
        assert record_event(hanging, event(session), keys=keys).recorded
    finally:
        proxy.close()
    assert healthy.xlen(keys.stream) == 2


def test_the_address_check_finds_addresses() -> None:
    for value in ("from 203.0.113.7", "2001:db8::1", "::ffff:10.0.0.1", "fe80::1%eth0"):
        with pytest.raises(AssertionError):
            assert_no_address(value)
    assert_no_address("1796000431848-0 model-7 20261129T120000Z-ab12cd AAAA_-zz")
