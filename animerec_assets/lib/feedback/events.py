"""A visitor's feedback event: validated from whatever a caller sent, bounded, IP-free.

``parse_event`` is the one gate: the app and the JSON API build every event through it, and the
stream encoding (``to_stream_fields`` / ``from_stream_fields``) round-trips through it, so an
event in the stream always satisfies the bounds of ``animerec_assets.contracts.feedback``.
Anything out of bounds is rejected, never truncated.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from animerec_assets.contracts.feedback import (
    FEEDBACK_ACTIONS,
    FEEDBACK_FIELD_NAMES,
    MAX_MODEL_VERSION_LEN,
    MAX_POSITION,
    MAX_SESSION_ID_LEN,
    REASON_TYPES,
    SESSION_ROTATE_S,
    FeedbackAction,
    FeedbackOrigin,
    ReasonType,
)
from animerec_assets.lib.serving.keys import InvalidKeyError, user_key_of

ORIGINS: tuple[FeedbackOrigin, ...] = get_args(FeedbackOrigin)
# The actions about one card: they name the anime and its place. "more" ("Another 5") names none.
CARD_ACTIONS: frozenset[str] = frozenset(FEEDBACK_ACTIONS) - {"more"}
# The fields an event carries: the contract's columns minus the two the stream entry gives.
EVENT_FIELDS: tuple[str, ...] = tuple(
    name for name in FEEDBACK_FIELD_NAMES if name not in ("event_id", "event_time")
)
SESSION_ID_BYTES = 16  # 128 random bits: unguessable, and 22 characters in base64url
SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")
MODEL_VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
MAX_ANIME_ID = 10**12  # as the API bounds ids
_DECIMAL = re.compile(r"^[0-9]{1,13}$")


class InvalidFeedbackError(ValueError):
    """An event that must not be recorded; the message says which field and why."""


@dataclass(frozen=True)
class FeedbackEvent:
    """One action of one visitor's session on one list of picks (no address, ever)."""

    session_id: str
    username: str | None  # the key form of the username the visitor typed, else None
    model_version: str
    anime_id: int | None  # None only for "more"
    position: int | None  # 0-based; None only for "more"
    reason_type: ReasonType | None  # None when the card showed no reason
    reason_anime_id: int | None
    action: FeedbackAction
    origin: FeedbackOrigin


def new_session_id() -> str:
    """A fresh anonymous session id (random, carries nothing about the visitor)."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def session_expired(started_at: datetime, now: datetime | None = None) -> bool:
    """Whether a session id started at ``started_at`` must be replaced by a new one."""
    now = now or datetime.now(UTC)
    return now - started_at >= timedelta(seconds=SESSION_ROTATE_S)


def parse_event(raw: Mapping[str, Any]) -> FeedbackEvent:
    """The event ``raw`` describes, every field checked; raises ``InvalidFeedbackError``.

    Integers may come as ints or as decimal strings (query strings, the stream); ``None`` or
    ``""`` mean absent. Unknown fields are refused, so nothing else (an address, a name) can
    ride along into the stream.
    """
    if not isinstance(raw, Mapping):
        raise InvalidFeedbackError("a feedback event is a JSON object")
    unknown = sorted(str(name)[:40] for name in raw if name not in EVENT_FIELDS)
    if unknown:
        raise InvalidFeedbackError(f"unknown field(s) {unknown[:5]}; allowed: {list(EVENT_FIELDS)}")
    action = _choice(raw, "action", FEEDBACK_ACTIONS, required=True)
    on_card = action in CARD_ACTIONS
    anime_id = _integer(raw, "anime_id", 1, MAX_ANIME_ID, required=on_card)
    reason_anime_id = _integer(raw, "reason_anime_id", 1, MAX_ANIME_ID, required=False)
    return FeedbackEvent(
        session_id=_session_id(raw.get("session_id")),
        username=_username(raw.get("username")),
        model_version=_model_version(raw.get("model_version")),
        anime_id=anime_id,
        position=_integer(raw, "position", 0, MAX_POSITION, required=on_card),
        reason_type=_choice(raw, "reason_type", REASON_TYPES, required=False),
        reason_anime_id=reason_anime_id,
        action=action,
        origin=_choice(raw, "origin", ORIGINS, required=True),
    )


def to_stream_fields(event: FeedbackEvent) -> dict[str, str]:
    """The stream entry's fields (the encoding in the contract): strings, "" for None."""
    values = (getattr(event, name) for name in EVENT_FIELDS)
    return {name: "" if v is None else str(v) for name, v in zip(EVENT_FIELDS, values, strict=True)}


def from_stream_fields(fields: Mapping[str, str] | Mapping[bytes, bytes]) -> FeedbackEvent:
    """The event a stream entry encodes (validated again: the stream is input too)."""
    decoded = {_text(name): _text(value) for name, value in fields.items()}
    return parse_event(decoded)


def event_time_of(entry_id: str | bytes) -> str:
    """``event_time`` of a stream entry: its id's millisecond part, ISO-8601 UTC."""
    millis = _text(entry_id).split("-", 1)[0]
    if not _DECIMAL.fullmatch(millis):
        raise InvalidFeedbackError(f"not a stream entry id: {_text(entry_id)[:40]!r}")
    moment = datetime.fromtimestamp(int(millis) / 1000, UTC)
    return moment.isoformat(timespec="milliseconds")


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _absent(value: Any) -> bool:
    return value is None or value == ""


def _shown(value: Any) -> str:
    return repr(value)[:40]


def _session_id(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidFeedbackError(f"session_id must be a string, got {_shown(value)}")
    if len(value) > MAX_SESSION_ID_LEN or not SESSION_ID_PATTERN.fullmatch(value):
        raise InvalidFeedbackError(
            f"session_id must be an id made by new_session_id() (22 characters of "
            f"A-Z a-z 0-9 _ -), got {_shown(value)}"
        )
    return value


def _username(value: Any) -> str | None:
    if _absent(value):
        return None
    if not isinstance(value, str):
        raise InvalidFeedbackError(f"username must be a string, got {_shown(value)}")
    try:
        return user_key_of(value)
    except InvalidKeyError as error:
        raise InvalidFeedbackError(f"username: {error}") from error


def _model_version(value: Any) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_MODEL_VERSION_LEN
        or not MODEL_VERSION_PATTERN.fullmatch(value)
    ):
        raise InvalidFeedbackError(
            f"model_version must be 1-{MAX_MODEL_VERSION_LEN} characters of A-Z a-z 0-9 . _ : - "
            f"(starting with a letter or digit), got {_shown(value)}"
        )
    return value


def _choice(raw: Mapping[str, Any], name: str, allowed: tuple[Any, ...], *, required: bool) -> Any:
    value = raw.get(name)
    if _absent(value):
        if required:
            raise InvalidFeedbackError(f"{name} is required (one of {list(allowed)})")
        return None
    if value not in allowed:
        raise InvalidFeedbackError(f"{name} must be one of {list(allowed)}, got {_shown(value)}")
    return value


def _integer(
    raw: Mapping[str, Any], name: str, low: int, high: int, *, required: bool
) -> int | None:
    value = raw.get(name)
    if _absent(value):
        if required:
            raise InvalidFeedbackError(f"{name} is required for this action")
        return None
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidFeedbackError(f"{name} must be a whole number, got {_shown(value)}")
    if not low <= number <= high:
        raise InvalidFeedbackError(f"{name} must be between {low} and {high}, got {number}")
    return number
