"""Feedback events: every field validated and bounded; the stream encoding round-trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from animerec_assets.contracts.feedback import (
    FEEDBACK_ACTIONS,
    MAX_POSITION,
    REASON_TYPES,
    SESSION_ROTATE_S,
)
from animerec_assets.lib.feedback.events import (
    EVENT_FIELDS,
    FeedbackEvent,
    InvalidFeedbackError,
    event_time_of,
    from_stream_fields,
    new_session_id,
    parse_event,
    session_expired,
    to_stream_fields,
)

SESSION = "AAAAAAAAAAAAAAAAAAAAAA"


def card(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "session_id": SESSION,
        "model_version": "20261129T120000Z-ab12cd",
        "anime_id": 5114,
        "position": 3,
        "reason_type": "similar_to",
        "reason_anime_id": 1,
        "action": "like",
        "origin": "app",
    }
    raw.update(changes)
    return {name: value for name, value in raw.items() if value is not ...}


def test_a_card_event_parses_to_typed_fields() -> None:
    event = parse_event(card(username="  Xinil ", position="0", anime_id="5114"))
    assert event == FeedbackEvent(
        session_id=SESSION,
        username="xinil",  # the key form, as the app's username input makes it
        model_version="20261129T120000Z-ab12cd",
        anime_id=5114,
        position=0,
        reason_type="similar_to",
        reason_anime_id=1,
        action="like",
        origin="app",
    )


def test_every_action_and_reason_type_of_the_contract_is_accepted() -> None:
    for action in FEEDBACK_ACTIONS:
        for reason in (*REASON_TYPES, None):
            assert parse_event(card(action=action, reason_type=reason)).action == action


def test_more_needs_no_card_but_card_actions_do() -> None:
    more = parse_event(card(action="more", anime_id=..., position=..., reason_type=...))
    assert (more.anime_id, more.position, more.reason_type) == (None, None, None)
    for action in ("shown", "like", "dislike", "hide", "click_mal"):
        with pytest.raises(InvalidFeedbackError, match="anime_id is required"):
            parse_event(card(action=action, anime_id=...))
        with pytest.raises(InvalidFeedbackError, match="position is required"):
            parse_event(card(action=action, position=None))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"action": "purchase"}, "action must be one of"),
        ({"action": ...}, "action is required"),
        ({"action": ["like"]}, "action must be one of"),
        ({"reason_type": "because I said so"}, "reason_type must be one of"),
        ({"origin": "email"}, "origin must be one of"),
        ({"anime_id": 0}, "anime_id must be between 1"),
        ({"anime_id": -5}, "anime_id must be between 1"),
        ({"anime_id": 10**13}, "anime_id must be between 1"),
        ({"anime_id": True}, "anime_id must be a whole number"),
        ({"anime_id": 1.5}, "anime_id must be a whole number"),
        ({"anime_id": "12abc"}, "anime_id must be a whole number"),
        ({"anime_id": " 12"}, "anime_id must be a whole number"),
        ({"position": -1}, "position must be between 0"),
        ({"position": MAX_POSITION + 1}, "position must be between 0"),
        ({"reason_anime_id": 0}, "reason_anime_id must be between 1"),
        ({"session_id": ...}, "session_id must be a string"),
        ({"session_id": "short"}, "session_id must be an id made by new_session_id"),
        ({"session_id": SESSION[:-1] + ":"}, "session_id must be an id made by new_session_id"),
        ({"session_id": SESSION + "A"}, "session_id must be an id made by new_session_id"),
        ({"session_id": "A" * 10_000}, "session_id must be an id made by new_session_id"),
        ({"session_id": 12345}, "session_id must be a string"),
        ({"username": "a"}, "username: a MAL username is 2-16"),
        ({"username": "x" * 17}, "username: a MAL username is 2-16"),
        ({"username": "bob<script>"}, "username: a MAL username is 2-16"),
        ({"username": 42}, "username must be a string"),
        ({"model_version": ""}, "model_version must be"),
        ({"model_version": "v" * 65}, "model_version must be"),
        ({"model_version": "-v1"}, "model_version must be"),
        ({"model_version": "v1\nforged"}, "model_version must be"),
        ({"ip": "203.0.113.7"}, r"unknown field\(s\) \['ip'\]"),
        ({"event_time": "2026-01-01"}, r"unknown field\(s\) \['event_time'\]"),
    ],
)
def test_out_of_bounds_fields_are_rejected_with_their_name(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidFeedbackError, match=message):
        parse_event(card(**changes))


def test_a_non_mapping_is_rejected() -> None:
    with pytest.raises(InvalidFeedbackError, match="JSON object"):
        parse_event(["like"])  # type: ignore[arg-type]


def test_session_ids_are_random_and_of_the_accepted_format() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    for session_id in list(ids)[:50]:
        assert parse_event(card(session_id=session_id)).session_id == session_id


def test_sessions_rotate_after_the_contract_period() -> None:
    started = datetime(2026, 11, 30, 12, tzinfo=UTC)
    period = timedelta(seconds=SESSION_ROTATE_S)
    assert not session_expired(started, started)
    assert not session_expired(started, started + period - timedelta(seconds=1))
    assert session_expired(started, started + period)
    assert not session_expired(datetime.now(UTC))


def test_the_stream_encoding_is_strings_with_empty_for_none_and_round_trips() -> None:
    more = parse_event(card(action="more", anime_id=..., position=..., reason_type=...))
    fields = to_stream_fields(more)
    assert list(fields) == list(EVENT_FIELDS)
    assert "event_id" not in fields and "event_time" not in fields
    assert (
        fields["anime_id"] == "" and fields["username"] == "" and fields["reason_anime_id"] == "1"
    )
    assert all(isinstance(value, str) for value in fields.values())
    assert from_stream_fields(fields) == more
    as_bytes = {name.encode(): value.encode() for name, value in fields.items()}
    assert from_stream_fields(as_bytes) == more


def test_event_time_is_the_entry_ids_milliseconds_in_utc() -> None:
    assert event_time_of("1764464523456-0") == "2025-11-30T01:02:03.456+00:00"
    assert event_time_of(b"1764464523000-7") == "2025-11-30T01:02:03.000+00:00"
    with pytest.raises(InvalidFeedbackError):
        event_time_of("not-an-id")
