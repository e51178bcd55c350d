"""Feedback events written to a Redis stream in the encoding ``record_event`` uses.

Fields are the ``FEEDBACK_COLUMNS`` names except ``event_id`` (the entry id) and
``event_time`` (the entry id's milliseconds); values are strings, ``""`` for None. Entries get
explicit ids so a test decides which hour (partition) each event falls in; ``feedback_event``
does not validate, so a test can also write what no writer would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import redis

from animerec_assets.contracts.feedback import FEEDBACK_COLUMNS, STREAM_KEY

ENTRY_FIELDS = [name for name, _ in FEEDBACK_COLUMNS if name not in ("event_id", "event_time")]
SESSION_A = "A" * 22  # the shape new_session_id() gives
SESSION_B = "B" * 22


def feedback_event(**fields: object) -> dict[str, str]:
    """One event in the stream's encoding: a card shown by model ``v1`` unless overridden."""
    event: dict[str, object] = {
        "session_id": SESSION_A,
        "username": None,
        "model_version": "v1",
        "anime_id": 1,
        "position": 0,
        "reason_type": "popular",
        "reason_anime_id": None,
        "action": "shown",
        "origin": "app",
        **fields,
    }
    return {name: "" if event.get(name) is None else str(event[name]) for name in ENTRY_FIELDS}


def add_entries(
    client: redis.Redis,
    at: datetime,
    entries: Iterable[Mapping[str, str | bytes]],
    key: str = STREAM_KEY,
) -> list[str]:
    """XADD each entry with an id at ``at`` (one millisecond apart, in order); their ids."""
    start = int(at.timestamp() * 1000)
    ids = []
    for offset, fields in enumerate(entries):
        entry_id = f"{start + offset}-0"
        client.xadd(key, dict(fields), id=entry_id)
        ids.append(entry_id)
    return ids
