"""The crawl queue: canonical URLs waiting for a crawler worker.

Production runs many workers on one Redis Stream read through a consumer group: each entry goes
to one worker, stays *pending* until that worker acknowledges it, and a worker that dies
(SIGKILL, OOM, lost node) leaves its entries pending, where ``reclaim_stale`` (XAUTOCLAIM) hands
them to a live worker. Delivery is therefore at-least-once; workers acknowledge only after the
items are written. Acknowledged entries are deleted from the stream so it stays as small as the
backlog.

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
    ) -> None:
        self.redis = redis_client
        self.stream = stream
        self.group = group
        self.dead_letter_stream = f"{stream}:dead"
        self.ensure_group()

    def ensure_group(self) -> None:
        """Create the stream and group if missing (reading from the stream's start)."""
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def enqueue(self, kind: str, urls: Iterable[str]) -> int:
        """Append validated canonical URLs; returns how many entries were added."""
        checked_kind = check_kind(kind)
        checked = validate_urls(checked_kind, urls)
        for start in range(0, len(checked), ENQUEUE_PIPELINE_SIZE):
            pipeline = self.redis.pipeline(transaction=False)
            for url in checked[start : start + ENQUEUE_PIPELINE_SIZE]:
                pipeline.xadd(self.stream, {"kind": checked_kind, "url": url})
            pipeline.execute()
        return len(checked)

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
            pipeline.xack(self.stream, self.group, *ids)
            pipeline.xdel(self.stream, *ids)
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

    def ack(self, message_ids: Sequence[str]) -> int:
        """Acknowledge and delete entries whose items are written. Returns how many were
        pending (an entry acknowledged twice counts once)."""
        if not message_ids:
            return 0
        pipeline = self.redis.pipeline(transaction=True)
        pipeline.xack(self.stream, self.group, *message_ids)
        pipeline.xdel(self.stream, *message_ids)
        acked, _deleted = pipeline.execute()
        return int(acked)

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
        ids = [message.id for message in messages]
        pipeline.xack(self.stream, self.group, *ids)
        pipeline.xdel(self.stream, *ids)
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
        self.redis.delete(self.stream, self.dead_letter_stream)


@dataclass
class _Pending:
    message: Message
    consumer: str
    delivered_at: float
    deliveries: int = 1


class InMemoryCrawlQueue:
    """The same semantics inside one process: FIFO, pending until acknowledged, reclaimable."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._waiting: list[Message] = []
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self.dead_letters: list[tuple[Message, str]] = []

    def enqueue(self, kind: str, urls: Iterable[str]) -> int:
        checked_kind = check_kind(kind)
        checked = validate_urls(checked_kind, urls)
        with self._lock:
            self._waiting.extend(
                Message(f"{next(self._ids)}-0", checked_kind, url) for url in checked
            )
            self._lock.notify_all()
        return len(checked)

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
            return sum(self._pending.pop(i, None) is not None for i in message_ids)

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
