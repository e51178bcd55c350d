"""Feedback events into the Redis stream: one atomic script per event, never an exception.

``record_event`` runs one Lua script that checks the session's cap and appends the event to the
stream (``XADD ... MAXLEN ~``) in a single round trip, so the cap is exact under any
concurrency: the check, the append and the count cannot interleave with another event's. The
cap is a sliding window approximated by two fixed windows (the previous window's count weighs
in by how much of it still overlaps the last ``window_s`` seconds), keyed by the window number,
so the window needs no clock on the server and a test can move time on.

Redis trouble of any kind (down, timing out, read-only, out of memory) is logged and returned as
``unavailable``: a visitor's page never breaks because feedback could not be kept. After such a
failure the same connection pool is left alone for ``OUTAGE_BACKOFF_S`` (every event is then
answered ``unavailable`` at once), so during an outage only one event in that time waits for a
connect or read timeout, not every click of every visitor.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import redis

from animerec_assets.contracts.feedback import (
    FEEDBACK_KEY_ROOT,
    SESSION_EVENT_LIMIT,
    SESSION_WINDOW_S,
    STREAM_MAXLEN,
)
from animerec_assets.lib.feedback.events import (
    FeedbackEvent,
    parse_event,
    to_stream_fields,
)
from animerec_assets.lib.serving.keys import KeyLayout

log = logging.getLogger(__name__)

RecordStatus = Literal["recorded", "rate_limited", "unavailable"]
WARN_EVERY_S = 60.0  # an outage is logged once a minute, not once per event
OUTAGE_BACKOFF_S = 5.0  # after a failure, events skip Redis this long (per connection pool)


@dataclass(frozen=True)
class RecordResult:
    """What became of one event: recorded (with its stream id), capped, or Redis unavailable."""

    status: RecordStatus
    event_id: str | None = None
    retry_after_s: int | None = None  # when capped: seconds until the session's window moves

    @property
    def recorded(self) -> bool:
        return self.status == "recorded"


@dataclass(frozen=True)
class FeedbackKeys:
    """The feedback keys under one root (layout in ``animerec_assets.contracts.feedback``)."""

    root: str = FEEDBACK_KEY_ROOT

    @classmethod
    def for_prefix(cls, prefix: str | None) -> FeedbackKeys:
        """The keys beside a serving prefix (``None``: the default root)."""
        return cls() if prefix is None else cls(f"{KeyLayout(prefix).prefix}:feedback")

    @property
    def stream(self) -> str:
        return f"{self.root}:events"

    @property
    def dropped(self) -> str:
        return f"{self.root}:dropped"

    def window(self, session_id: str, index: int) -> str:
        return f"{self.root}:rate:{session_id}:{index}"


# KEYS: this window's count, the previous window's count, the dropped counter, the stream.
# ARGV: limit, window ms, ms elapsed in this window, stream max length, then field, value, ...
_RECORD_LUA = b"""
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local window_ms = tonumber(ARGV[2])
local overlap = (window_ms - tonumber(ARGV[3])) / window_ms
if current + previous * overlap >= tonumber(ARGV[1]) then
  return {0, redis.call('INCR', KEYS[3])}
end
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], window_ms * 2)
return {1, id}
"""


class _OutageLog:
    """Warns about an unreachable Redis at most once per ``WARN_EVERY_S`` (per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -math.inf
        self.suppressed = 0

    def warn(self, error: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < WARN_EVERY_S:
                self.suppressed += 1
                return
            self._last, suppressed, self.suppressed = now, self.suppressed, 0
        log.warning(
            "feedback not recorded, Redis unavailable: %s (%d more since the last warning)",
            error,
            suppressed,
        )

    def skipped(self) -> None:
        with self._lock:
            self.suppressed += 1


class _Backoff:
    """Per connection pool: until when events skip Redis after a failure."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: weakref.WeakKeyDictionary[object, float] = weakref.WeakKeyDictionary()

    def active(self, pool: object) -> bool:
        with self._lock:
            return time.monotonic() < self._until.get(pool, -math.inf)

    def start(self, pool: object, seconds: float) -> None:
        with self._lock:
            self._until[pool] = time.monotonic() + seconds


_outage_log = _OutageLog()
_backoff = _Backoff()


def record_event(
    client: redis.Redis | None,
    event: FeedbackEvent,
    now: datetime | None = None,
    *,
    keys: FeedbackKeys | None = None,
    limit: int = SESSION_EVENT_LIMIT,
    window_s: int = SESSION_WINDOW_S,
    maxlen: int = STREAM_MAXLEN,
    backoff_s: float = OUTAGE_BACKOFF_S,
) -> RecordResult:
    """Append ``event`` to the stream unless its session is over the cap; never raises on Redis.

    ``client`` may be ``None`` (the caller has no Redis): the event is then not recorded. An
    event built without ``parse_event`` is checked again here (``InvalidFeedbackError``).
    """
    fields = to_stream_fields(parse_event(to_stream_fields(event)))
    if client is None:
        return RecordResult("unavailable")
    pool = getattr(client, "connection_pool", client)
    if _backoff.active(pool):
        _outage_log.skipped()
        return RecordResult("unavailable")
    keys = keys or FeedbackKeys()
    now_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    window_ms = window_s * 1000
    index, elapsed_ms = divmod(now_ms, window_ms)
    script_keys = [
        keys.window(event.session_id, index),
        keys.window(event.session_id, index - 1),
        keys.dropped,
        keys.stream,
    ]
    args: list[str | int] = [limit, window_ms, elapsed_ms, maxlen]
    for name, value in fields.items():
        args += [name, value]
    try:
        recorded, value = client.register_script(_RECORD_LUA)(script_keys, args)
    except (redis.RedisError, OSError) as error:
        _backoff.start(pool, backoff_s)
        _outage_log.warn(error)
        return RecordResult("unavailable")
    if not recorded:
        return RecordResult(
            "rate_limited", retry_after_s=max(1, -(-(window_ms - elapsed_ms) // 1000))
        )
    return RecordResult("recorded", event_id=_text(value))


def dropped_count(client: redis.Redis, keys: FeedbackKeys | None = None) -> int:
    """How many events the per-session cap has dropped so far (raises on Redis trouble)."""
    value = client.get((keys or FeedbackKeys()).dropped)
    return int(value) if value is not None else 0


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
