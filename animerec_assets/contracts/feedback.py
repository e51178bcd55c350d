"""The feedback contract: what a visitor's action on a recommendation card records.

The app and the JSON API write these events to a Redis stream; the hourly feedback landing asset
reads the stream into ``landing.feedback`` and dbt models them into the feedback tables (which
are not part of the exported dataset). All of them import this module, so a field changes in one
place.

An event carries no IP address and no username unless the visitor typed one to look up their
own picks: ``session_id`` is a random id the visitor's session holds, rotated every
``SESSION_ROTATE_S`` seconds.

The stream entry (what ``animerec_assets.lib.feedback.stream.record_event`` writes with XADD,
and what the landing asset reads back):

- the entry id is ``event_id`` (``<ms>-<seq>``, assigned by Redis: unique and time-ordered);
- ``event_time`` is not stored: it is the entry id's millisecond part as an ISO-8601 UTC time
  with milliseconds, e.g. ``1764464523456-0`` -> ``2025-11-30T01:02:03.456+00:00``;
- the fields are the other ``FEEDBACK_COLUMNS`` names (``session_id`` ... ``origin``), each
  present exactly once; every value is a string: integers in decimal, ``""`` for NULL
  (``username``, ``reason_type``, ``reason_anime_id``, and ``anime_id``/``position`` of a
  ``more`` event).

No other field is ever written (in particular no address of the visitor).
"""

from __future__ import annotations

from typing import Literal

from animerec_assets.contracts.landing import ColumnType

FeedbackAction = Literal[
    "shown",  # a card was displayed (the denominator of every rate)
    "like",  # "Looks good"
    "dislike",  # "Not for me"
    "hide",  # "Not interested": hidden for this visitor at once
    "click_mal",  # followed the link to the anime's MAL page
    "more",  # asked for "Another 5"
]
FEEDBACK_ACTIONS: tuple[FeedbackAction, ...] = (
    "shown",
    "like",
    "dislike",
    "hide",
    "click_mal",
    "more",
)
# What kind of reason the card showed ("because you liked X", "popular", ...); free-form values
# are bounded to this set so a metric per reason type stays a small table.
ReasonType = Literal["similar_to", "popular", "content", "franchise", "other"]
REASON_TYPES: tuple[ReasonType, ...] = ("similar_to", "popular", "content", "franchise", "other")
FeedbackOrigin = Literal["app", "api"]

# Bounds on what a caller can put in an event (everything else is rejected, not truncated).
MAX_SESSION_ID_LEN = 64
MAX_USERNAME_LEN = 16  # MAL usernames are 2-16 characters
MAX_MODEL_VERSION_LEN = 64
MAX_POSITION = 1000

# The Redis keys of the feedback (a deployment or a test with its own serving prefix P uses
# "P:feedback" as the root):
#   {root}:events               STREAM  the events (entry encoding above), trimmed to ~MAXLEN
#   {root}:rate:{session}:{w}   STRING  the session's event count in window w (now // window)
#   {root}:dropped              STRING  how many events the per-session cap has dropped, ever
FEEDBACK_KEY_ROOT = "animerec:feedback"
# The Redis stream events go to first, and how much it keeps before the landing asset reads it.
STREAM_KEY = f"{FEEDBACK_KEY_ROOT}:events"
STREAM_MAXLEN = 1_000_000
# Per-session cap: at most this many events per window (a sliding window: the previous window's
# count weighs in by how much of it still overlaps); the rest are dropped (and counted).
SESSION_EVENT_LIMIT = 120
SESSION_WINDOW_S = 60
SESSION_ROTATE_S = 24 * 3600
# Events older than this are dropped from landing and the feedback tables (a setting overrides).
DEFAULT_RETENTION_DAYS = 90

FEEDBACK_COLUMNS: list[tuple[str, ColumnType]] = [
    ("event_id", "VARCHAR"),  # the stream entry id: unique, time-ordered, idempotent landing
    ("event_time", "VARCHAR"),  # ISO-8601 UTC
    ("session_id", "VARCHAR"),
    ("username", "VARCHAR"),  # NULL unless the visitor typed their own username
    ("model_version", "VARCHAR"),
    ("anime_id", "BIGINT"),
    ("position", "BIGINT"),  # 0-based place of the card in the list shown
    ("reason_type", "VARCHAR"),
    ("reason_anime_id", "BIGINT"),  # the anime the reason names, if any
    ("action", "VARCHAR"),
    ("origin", "VARCHAR"),  # app | api
]
FEEDBACK_FIELD_NAMES: list[str] = [name for name, _ in FEEDBACK_COLUMNS]

# ``landing.feedback``: the event columns, then the hour of the event (the landing asset's
# hourly partition, in the crawl tables' ``crawl_hour`` format).
FEEDBACK_TABLE = "feedback"
FEEDBACK_HOUR_COLUMN: tuple[str, ColumnType] = ("event_hour", "VARCHAR")
FEEDBACK_LANDING_COLUMNS: list[tuple[str, ColumnType]] = [*FEEDBACK_COLUMNS, FEEDBACK_HOUR_COLUMN]
# The setting that overrides DEFAULT_RETENTION_DAYS (landing, the stream and dbt all honour it).
RETENTION_DAYS_ENV = "ANIMEREC_FEEDBACK_RETENTION_DAYS"
