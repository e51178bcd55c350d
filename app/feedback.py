"""What a visitor does with the cards, as feedback events on the Redis stream.

Every event is built by ``app.logic.event_fields`` (pure), validated by the feedback library's
``parse_event`` and written by its ``record_event``, which never raises on Redis trouble: an
outage loses the event, never the page. An event the library refuses is logged and dropped.
"""

from __future__ import annotations

import logging

import redis

from animerec_assets.lib.feedback.events import InvalidFeedbackError, parse_event
from animerec_assets.lib.feedback.stream import RecordResult, record_event

log = logging.getLogger("animerec.app.feedback")


def record(client: redis.Redis | None, fields: dict[str, object]) -> RecordResult | None:
    """Validate and write one event; None when the library refused it as invalid."""
    try:
        event = parse_event(fields)
    except InvalidFeedbackError as error:
        log.warning("feedback event refused: %s", error)
        return None
    return record_event(client, event)
