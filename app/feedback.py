"""What a visitor does with the cards, as feedback events on the Redis stream.

Every event is built by ``app.logic.event_fields`` (pure), validated by the feedback library's
``parse_event`` and written by its ``record_event``, which never raises: a Redis outage loses
the event, never the page. An event the library refuses is logged and dropped.
"""

from __future__ import annotations

import logging
import secrets

import redis

log = logging.getLogger("animerec.app.feedback")

try:
    from animerec_assets.lib.feedback.events import InvalidFeedbackError, parse_event
    from animerec_assets.lib.feedback.events import new_session_id as _new_session_id
    from animerec_assets.lib.feedback.stream import record_event
except ImportError:  # TEMPORARY until the feedback library is merged
    _new_session_id = None


def new_session_id() -> str:
    if _new_session_id is None:
        return secrets.token_urlsafe(16)
    return _new_session_id()


def record(client: redis.Redis | None, fields: dict[str, object]) -> None:
    """Validate and write one event (nothing when the store could not be reached at all)."""
    if client is None or _new_session_id is None:
        log.info("feedback event (not recorded): %s", fields)
        return
    try:
        event = parse_event(fields)
    except InvalidFeedbackError as error:
        log.warning("feedback event refused: %s", error)
        return
    record_event(client, event)
