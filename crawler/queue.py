"""The crawl queue: canonical URLs waiting for a crawler worker.

Production runs many workers on one Redis Stream read through a consumer group: each entry goes
to one worker, stays *pending* until that worker acknowledges it, and a worker that dies
(SIGKILL, OOM, lost node) leaves its entries pending, where ``reclaim_stale`` (XAUTOCLAIM) hands
them to a live worker. Delivery is therefore at-least-once; workers acknowledge only after the
items are written. Acknowledged entries are deleted from the stream so it stays as small as the
backlog.

Enqueue is idempotent and bounded. A set beside the stream (``<stream>:queued``) holds every URL
that is in the stream and not yet acknowledged; one Lua script checks it, checks the cap and
appends, and acknowledging (or dead-lettering) removes the URL in the same script as XACK/XDEL,
so a SIGKILL between the two cannot happen (Redis runs a script atomically). A URL already
waiting is not queued twice. The stream is capped at ``max_length`` entries by *refusing* a
batch that does not fit (``QueueFullError``), never by XADD MAXLEN: trimming would silently drop
entries that are queued or pending on a worker, and the caller could not tell.

``InMemoryCrawlQueue`` has the same interface for a single local process (tests, the in-process
crawl of the hour's batch) when no Redis is wanted.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import redis
from redis.typing import EncodableT, FieldT

from crawler.scheduler.urls import Kind, check_kind, is_canonical, validate_urls

if TYPE_CHECKING:
    from animerec_assets.settings import Settings

DEFAULT_STREAM = "animerec:crawl"
DEFAULT_GROUP = "crawlers"
ENQUEUE_PIPELINE_SIZE = 1_000
# ~100 bytes an entry: 500k entries is ~50 MB of Redis, several days of crawling at MAL's pace
DEFAULT_MAX_LENGTH = 500_000

# KEYS: stream, queued-set. ARGV: max_length, kind, url... -> entries added, or -1 when full.
_ENQUEUE_SCRIPT = """
local fresh = {}
for i = 3, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then fresh[#fresh + 1] = ARGV[i] end
end
if #fresh == 0 then return 0 end
if redis.call('XLEN', KEYS[1]) + #fresh > tonumber(ARGV[1]) then return -1 end
for _, url in ipairs(fresh) do
  redis.call('XADD', KEYS[1], '*', 'kind', ARGV[2], 'url', url)
  redis.call('SADD', KEYS[2], url)
end
return #fresh
"""
# KEYS: stream, queued-set. ARGV: group, id... -> entries that were pending (XACK's count).
_ACK_SCRIPT = """
for i = 2, #ARGV do
  local entry = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
  if entry[1] then
    local fields = entry[1][2]
    for j = 1, #fields, 2 do
      if fields[j] == 'url' then redis.call('SREM', KEYS[2], fields[j + 1]) end
    end
  end
end
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
return acked
"""


class QueueFullError(RuntimeError):
    """The stream holds ``max_length`` entries: nothing more is taken until workers catch up."""

    def __init__(self, max_length: int, enqueued: int = 0) -> None:
        self.max_length = max_length
        self.enqueued = enqueued  # entries of this call added before the stream filled
        super().__init__(f"crawl queue is full ({max_length} entries); try again later")


@dataclass(frozen=True)
class Message:
    """One URL to crawl, as delivered to a worker."""

    id: str
    kind: Kind
    url: str
    # how many times the queue has handed this entry out (counted for reclaimed entries)
    deliveries: int = 1


@dataclass(frozen=True)
class QueueStats:
    """What a backlog sensor needs: entries never delivered, and delivered but unacknowledged."""

    stream: str
    group: str
    length: int
    pending: int
    backlog: int
    consumers: int
    dead_letters: int

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


class Queue(Protocol):
    """The interface the worker and the service rely on (Redis or in-process)."""

    def enqueue(self, kind: str, urls: Iterable[str]) -> int: ...
    def read(self, consumer: str, count: int, block_ms: int | None = None) -> list[Message]: ...
    def ack(self, message_ids: Sequence[str]) -> int: ...
    def reclaim_stale(self, consumer: str, min_idle_ms: int, count: int = 100) -> list[Message]: ...
    def dead_letter(self, messages: Sequence[Message], reason: str) -> int: ...
    def stats(self) -> QueueStats: ...


def _text(value: bytes | str | int) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class CrawlQueue:
    """A Redis Streams consumer group holding ``{kind, url}`` entries."""

    def __init__(
        self,
        redis_client: redis.Redis,
        stream: str = DEFAULT_STREAM,
        group: str = DEFAULT_GROUP,
        max_length: int = DEFAULT_MAX_LENGTH,
    ) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        self.redis = redis_client
        self.stream = stream
        self.group = group
        self.max_length = max_length
        self.dead_letter_stream = f"{stream}:dead"
        self.queued_set = f"{stream}:queued"
        self._enqueue_script = redis_client.register_script(_ENQUEUE_SCRIPT)
        self._ack_script = redis_client.register_script(_ACK_SCRIPT)
        self.ensure_group()

    def ensure_group(self) -> None:
        """Create the stream and group if missing (reading from the stream's start)."""
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def enqueue(self, kind: str, urls: Iterable[str]) -> int:
        """Append validated canonical URLs not already waiting; returns how many were added.

        Raises QueueFullError when a chunk (1,000 URLs) does not fit under ``max_length``;
        earlier chunks of the same call stay queued (the error says how many).
        """
        checked_kind = check_kind(kind)
        checked = validate_urls(checked_kind, urls)
        added = 0
        for start in range(0, len(checked), ENQUEUE_PIPELINE_SIZE):
            chunk = checked[start : start + ENQUEUE_PIPELINE_SIZE]
            result = int(
                self._enqueue_script(
                    keys=[self.stream, self.queued_set],
                    args=[self.max_length, checked_kind, *chunk],
                )
            )
            if result < 0:
                raise QueueFullError(self.max_length, added)
            added += result
        return added

    def _parse(self, entries: Iterable[tuple]) -> list[Message]:
        """Entries -> Messages; malformed entries go to the dead-letter stream, not a worker."""
        messages: list[Message] = []
        rejected: list[tuple[str, dict[str, str]]] = []
        for raw_id, raw_fields in entries:
            if raw_fields is None:  # deleted while pending (Redis 6 reports it this way)
                continue
            fields = {_text(k): _text(v) for k, v in raw_fields.items()}
            kind, url = fields.get("kind", ""), fields.get("url", "")
            if kind in ("anime", "profile") and is_canonical(kind, url):  # type: ignore[arg-type]
                messages.append(Message(_text(raw_id), kind, url))  # type: ignore[arg-type]
            else:
                rejected.append((_text(raw_id), fields))
        if rejected:
            pipeline = self.redis.pipeline(transaction=True)
            for message_id, fields in rejected:
                dead: dict[FieldT, EncodableT] = {k: v for k, v in fields.items()}
                dead["original_id"] = message_id
                dead["reason"] = "not a canonical kind+url"
                pipeline.xadd(self.dead_letter_stream, dead)
            ids = [message_id for message_id, _ in rejected]
            self._ack_in(pipeline, ids)
            pipeline.execute()
        return messages

    def read(self, consumer: str, count: int, block_ms: int | None = None) -> list[Message]:
        """New entries for ``consumer`` (at most ``count``); waits up to ``block_ms`` if none.

        ``block_ms=None`` returns at once (Redis's BLOCK 0 would wait forever).
        """
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        # RESP2, the protocol these clients speak: [[stream, [(id, fields), ...]], ...]
        # (redis-py types the reply as that or RESP3's mapping)
        response = cast(
            "list[list[Any]] | None",
            self.redis.xreadgroup(
                self.group, consumer, {self.stream: ">"}, count=count, block=block_ms or None
            ),
        )
        entries = [entry for _stream, stream_entries in response or [] for entry in stream_entries]
        return self._parse(entries)

    def _ack_in(self, pipeline: redis.client.Pipeline, message_ids: Sequence[str]) -> None:
        """Queue the ack script in a MULTI pipeline (dead-lettering and acking are one step)."""
        self._ack_script(
            keys=[self.stream, self.queued_set], args=[self.group, *message_ids], client=pipeline
        )

    def ack(self, message_ids: Sequence[str]) -> int:
        """Acknowledge and delete entries whose items are written. Returns how many were
        pending (an entry acknowledged twice counts once)."""
        if not message_ids:
            return 0
        return int(
            self._ack_script(keys=[self.stream, self.queued_set], args=[self.group, *message_ids])
        )

    def reclaim_stale(self, consumer: str, min_idle_ms: int, count: int = 100) -> list[Message]:
        """Take over entries another consumer left pending for ``min_idle_ms`` (it died)."""
        claimed: list[Message] = []
        start = "0-0"
        while len(claimed) < count:
            response = self.redis.xautoclaim(
                self.stream,
                self.group,
                consumer,
                min_idle_time=min_idle_ms,
                start_id=start,
                count=count - len(claimed),
            )
            next_start, entries = _text(response[0]), response[1]
            claimed.extend(self._parse(entries))
            if next_start == "0-0":
                break
            start = next_start
        return self._with_delivery_counts(consumer, claimed)

    def _with_delivery_counts(self, consumer: str, messages: list[Message]) -> list[Message]:
        """Attach XPENDING's delivery counters (one range query for the whole batch)."""
        if not messages:
            return messages
        ordered = sorted(messages, key=lambda m: tuple(int(part) for part in m.id.split("-")))
        rows = self.redis.xpending_range(
            self.stream,
            self.group,
            min=ordered[0].id,
            max=ordered[-1].id,
            count=len(messages) * 4 + 100,
            consumername=consumer,
        )
        counts = {_text(row["message_id"]): int(row["times_delivered"]) for row in rows}
        return [Message(m.id, m.kind, m.url, counts.get(m.id, m.deliveries)) for m in messages]

    def dead_letter(self, messages: Sequence[Message], reason: str) -> int:
        """Park entries that keep failing in the dead-letter stream and drop them from the queue."""
        if not messages:
            return 0
        pipeline = self.redis.pipeline(transaction=True)
        for message in messages:
            pipeline.xadd(
                self.dead_letter_stream,
                {
                    "kind": message.kind,
                    "url": message.url,
                    "original_id": message.id,
                    "deliveries": message.deliveries,
                    "reason": reason[:500],
                },
            )
        self._ack_in(pipeline, [message.id for message in messages])
        pipeline.execute()
        return len(messages)

    def stats(self) -> QueueStats:
        pipeline = self.redis.pipeline(transaction=False)
        pipeline.xlen(self.stream)
        pipeline.xpending(self.stream, self.group)
        pipeline.xinfo_consumers(self.stream, self.group)
        pipeline.xlen(self.dead_letter_stream)
        length, pending_info, consumers, dead = pipeline.execute()
        pending = int(pending_info["pending"])
        # acknowledged entries are deleted, so what is in the stream and not pending is backlog
        return QueueStats(
            stream=self.stream,
            group=self.group,
            length=int(length),
            pending=pending,
            backlog=max(int(length) - pending, 0),
            consumers=len(consumers),
            dead_letters=int(dead),
        )

    def delete(self) -> None:
        """Drop the stream, its group and its dead letters (tests, resets)."""
        self.redis.delete(self.stream, self.dead_letter_stream, self.queued_set)


@dataclass
class _Pending:
    message: Message
    consumer: str
    delivered_at: float
    deliveries: int = 1


class InMemoryCrawlQueue:
    """The same semantics inside one process: FIFO, pending until acknowledged, reclaimable."""

    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        self.max_length = max_length
        self._lock = threading.Condition()
        self._waiting: list[Message] = []
        self._pending: dict[str, _Pending] = {}
        self._queued: set[str] = set()  # URLs waiting or pending: not queued again
        self._ids = itertools.count(1)
        self.dead_letters: list[tuple[Message, str]] = []

    def enqueue(self, kind: str, urls: Iterable[str]) -> int:
        checked_kind = check_kind(kind)
        checked = validate_urls(checked_kind, urls)
        with self._lock:
            fresh = [url for url in checked if url not in self._queued]
            if fresh and len(self._waiting) + len(self._pending) + len(fresh) > self.max_length:
                raise QueueFullError(self.max_length)
            self._waiting.extend(
                Message(f"{next(self._ids)}-0", checked_kind, url) for url in fresh
            )
            self._queued.update(fresh)
            self._lock.notify_all()
        return len(fresh)

    def read(self, consumer: str, count: int, block_ms: int | None = None) -> list[Message]:
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        with self._lock:
            if not self._waiting and block_ms:
                self._lock.wait_for(lambda: bool(self._waiting), timeout=block_ms / 1000)
            taken, self._waiting = self._waiting[:count], self._waiting[count:]
            now = time.monotonic()
            for message in taken:
                self._pending[message.id] = _Pending(message, consumer, now)
            return taken

    def ack(self, message_ids: Sequence[str]) -> int:
        with self._lock:
            done = [self._pending.pop(i, None) for i in message_ids]
            self._queued.difference_update(p.message.url for p in done if p is not None)
            return sum(p is not None for p in done)

    def reclaim_stale(self, consumer: str, min_idle_ms: int, count: int = 100) -> list[Message]:
        with self._lock:
            now = time.monotonic()
            stale = [
                p for p in self._pending.values() if (now - p.delivered_at) * 1000 >= min_idle_ms
            ][:count]
            for entry in stale:
                entry.consumer, entry.delivered_at = consumer, now
                entry.deliveries += 1
            return [
                Message(e.message.id, e.message.kind, e.message.url, e.deliveries) for e in stale
            ]

    def dead_letter(self, messages: Sequence[Message], reason: str) -> int:
        with self._lock:
            for message in messages:
                if self._pending.pop(message.id, None) is not None:
                    self.dead_letters.append((message, reason))
                    self._queued.discard(message.url)
            return len(messages)

    def stats(self) -> QueueStats:
        with self._lock:
            consumers = {p.consumer for p in self._pending.values()}
            return QueueStats(
                stream="in-memory",
                group="in-memory",
                length=len(self._waiting) + len(self._pending),
                pending=len(self._pending),
                backlog=len(self._waiting),
                consumers=len(consumers),
                dead_letters=len(self.dead_letters),
            )


def queue_from_settings(
    redis_url: str | None = None,
    stream: str = DEFAULT_STREAM,
    group: str = DEFAULT_GROUP,
    settings: Settings | None = None,
) -> CrawlQueue:
    """The crawl queue on this environment's Redis (REDIS_URL, or the embedded server)."""
    if redis_url:
        client = redis.Redis.from_url(redis_url, socket_timeout=30, socket_connect_timeout=3)
    else:
        from animerec_assets.lib.redis_conn import redis_client

        client = redis_client(settings)
    return CrawlQueue(client, stream=stream, group=group)
