"""Crawler workers: take URLs off the crawl queue, crawl them, write the items, then acknowledge.

The crawl itself runs in a SUBPROCESS (``python -m scrapy crawl <kind> -a urls_file=...``): Scrapy's
Twisted reactor cannot be restarted inside one process, a stuck crawl can be killed on a timeout,
and a crash takes down only that batch. The worker's side of the contract is
``crawl_batch(kind, urls, sink) -> BatchResult``; the spider's side is "read the canonical URLs
in ``urls_file``, write items as JSON lines to the feed given with ``-O``".

At-least-once: a batch's queue entries are acknowledged only after its JSON lines file has been
renamed into place (an atomic rename) and recorded as complete in the landing manifest
(``animerec_assets.lib.crawl_manifest``), and its URLs are marked crawled in the scheduler only
then; a worker killed at any moment leaves its entries pending and another worker reclaims
them (``CrawlQueue.reclaim_stale``). A batch may thus be crawled twice; staging dedupes to the
latest crawl per key. A file without its marker (killed between rename and marker) is never
loaded: its entries were not acknowledged, so the URLs are crawled again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import shlex
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
import sqlalchemy.exc
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from animerec_assets.lib.crash_points import crash_point
from animerec_assets.lib.crawl_manifest import record_completed
from animerec_assets.lib.processes import die_with_parent
from crawler.parsers.bounds import is_note
from crawler.queue import Message, Queue
from crawler.scheduler import CrawlScheduler
from crawler.scheduler.urls import Kind, validate_urls
from crawler.snapshots import ENTITY_PAGE_TYPES
from crawler.urls import parse_url

if TYPE_CHECKING:
    from animerec_assets.settings import Settings

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPIDER_COMMAND = (
    "{python} -m scrapy crawl {kind} -a urls_file={urls_file} -O {output}:jsonlines {settings}"
)
DEFAULT_BATCH_TIMEOUT_S = 3600.0


class CrawlBatchError(RuntimeError):
    """The crawl subprocess failed; the batch's queue entries stay pending for a retry."""


@dataclass(frozen=True)
class SinkSettings:
    """Where a batch's items go: a JSON lines file per batch under ``output_dir`` (the crawl
    asset loads them into landing), plus Scrapy settings for any other sink the pipelines offer
    (passed to the spider as ``-s KEY=VALUE``)."""

    output_dir: Path
    scrapy_settings: dict[str, str] = field(default_factory=dict)
    spider_command: str = DEFAULT_SPIDER_COMMAND
    timeout_s: float = DEFAULT_BATCH_TIMEOUT_S

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: Any) -> SinkSettings:
        from animerec_assets.settings import load_settings

        settings = settings or load_settings()
        return cls(output_dir=settings.crawl_output_dir / "items", **kwargs)


@dataclass(frozen=True)
class BatchResult:
    kind: Kind
    urls: list[str]
    output_path: Path
    item_counts: dict[str, int]
    # requested URLs the spider reported a crawl_error for
    failed_urls: list[str]

    @property
    def crawled_urls(self) -> list[str]:
        failed = set(self.failed_urls)
        return [url for url in self.urls if url not in failed]

    @property
    def items(self) -> int:
        return sum(self.item_counts.values())


CrawlFunction = Callable[[Kind, list[str], SinkSettings], BatchResult]


def failed_entity(item: dict[str, Any], wanted: set[str]) -> str | None:
    """The requested URL a crawl_error fails: its own URL, or the anime or profile whose entry
    page it is (an API page like ``/v2/anime/6?fields=...`` fails ``/anime/6``)."""
    url = item.get("url")
    if url in wanted:
        return str(url)
    if item.get("page_type") not in ENTITY_PAGE_TYPES or not isinstance(url, str):
        return None
    info = parse_url(url)
    return info.canonical if info is not None and info.canonical in wanted else None


def summarize_items(
    lines: Iterable[str], requested: Iterable[str]
) -> tuple[dict[str, int], list[str]]:
    """Count items per ``item_type``; list requested URLs named by a ``crawl_error`` item (a
    bounds note says the page was read with some values refused: not a failure).

    A line that is not a JSON object counts as ``"<unreadable>"`` rather than failing the batch:
    the file is kept as written, and staging decides what to do with it.
    """
    wanted = set(requested)
    counts: Counter[str] = Counter()
    failed: dict[str, None] = {}
    for line in lines:
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            counts["<unreadable>"] += 1
            continue
        if not isinstance(item, dict):
            counts["<unreadable>"] += 1
            continue
        item_type = str(item.get("item_type", "<untyped>"))
        counts[item_type] += 1
        if item_type == "crawl_error" and not is_note(item):
            entity = failed_entity(item, wanted)
            if entity is not None:
                failed[entity] = None
    return dict(counts), list(failed)


def _batch_id(kind: str) -> str:
    return f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def spider_arguments(sink: SinkSettings, kind: str, urls_file: Path, output: Path) -> list[str]:
    settings = " ".join(
        f"-s {shlex.quote(f'{key}={value}')}" for key, value in sink.scrapy_settings.items()
    )
    command = sink.spider_command.format(
        python=shlex.quote(sys.executable),
        kind=kind,
        urls_file=shlex.quote(str(urls_file)),
        output=shlex.quote(str(output)),
        settings=settings,
    )
    return shlex.split(command)


def crawl_batch(kind: Kind, urls: list[str], sink: SinkSettings) -> BatchResult:
    """Crawl ``urls`` in a spider subprocess; return once the items file is in place."""
    checked = validate_urls(kind, urls)
    sink.output_dir.mkdir(parents=True, exist_ok=True)
    work_dir = sink.output_dir / ".work"
    work_dir.mkdir(exist_ok=True)
    batch_id = _batch_id(kind)
    urls_file = work_dir / f"{batch_id}.urls"
    partial = work_dir / f"{batch_id}.jsonl.part"
    log_file = work_dir / f"{batch_id}.log"
    final = sink.output_dir / f"{batch_id}.jsonl"
    urls_file.write_text("\n".join(checked) + "\n", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    arguments = spider_arguments(sink, kind, urls_file, partial)
    crash_point("worker.before_crawl")
    try:
        with log_file.open("wb") as log_stream:
            completed = subprocess.run(
                arguments,
                cwd=REPO_ROOT,
                env=env,
                stdout=log_stream,
                stderr=subprocess.STDOUT,
                timeout=sink.timeout_s,
                check=False,
                # a worker killed mid-batch takes its spider down with it (Linux)
                preexec_fn=die_with_parent(),
            )
    except subprocess.TimeoutExpired as error:
        raise CrawlBatchError(f"{kind} batch {batch_id} timed out; log: {log_file}") from error
    if completed.returncode != 0:
        raise CrawlBatchError(
            f"{kind} batch {batch_id} exited with {completed.returncode}; log: {log_file}"
        )
    if not partial.exists():
        partial.write_text("", encoding="utf-8")  # the spider produced no item at all
    with partial.open(encoding="utf-8") as lines:
        counts, failed = summarize_items(lines, checked)
    crash_point("worker.before_rename")
    os.replace(partial, final)  # atomic: the batch is written, or it is not
    urls_file.unlink(missing_ok=True)
    log_file.unlink(missing_ok=True)
    return BatchResult(kind, checked, final, counts, failed)


def group_by_kind(messages: Iterable[Message]) -> dict[Kind, list[Message]]:
    groups: dict[Kind, list[Message]] = {}
    for message in messages:
        groups.setdefault(message.kind, []).append(message)
    return groups


@dataclass
class WorkerStats:
    batches: int = 0
    acked: int = 0
    items: int = 0
    failed_batches: int = 0
    dead_lettered: int = 0
    # errors of the queue or the scheduler survived (backed off, reconnected, went on)
    errors: int = 0
    # the consumer gave up (errors for longer than it may wait, or a bug that keeps failing)
    died: bool = False


class ConsumerDiedError(RuntimeError):
    """A consumer kept failing and stopped; its process should exit non-zero to be restarted."""


# Errors a worker waits out: the queue's Redis or the scheduler DB restarting, a network blip.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    ConnectionError,
    TimeoutError,
)
MAX_BACKOFF_S = 30.0


def backoff_s(failures: int, base_s: float = 0.5, cap_s: float = MAX_BACKOFF_S) -> float:
    """Exponential back-off with jitter (so restarted workers do not retry in lockstep)."""
    return min(cap_s, base_s * 2 ** min(failures - 1, 16)) * random.uniform(0.5, 1.0)


def _retrying(give_up_after_s: float) -> Retrying:
    """Retry a transient failure of one small step (an ack, a scheduler update)."""
    return Retrying(
        retry=retry_if_exception_type(TRANSIENT_ERRORS),
        wait=wait_exponential_jitter(initial=0.2, max=5.0),
        stop=stop_after_delay(give_up_after_s),
        reraise=True,
    )


class CrawlWorker:
    """One consumer on the crawl queue (run several for concurrency: see ``run_workers``)."""

    def __init__(
        self,
        queue: Queue,
        consumer: str,
        sink: SinkSettings,
        *,
        crawl: CrawlFunction = crawl_batch,
        scheduler: CrawlScheduler | None = None,
        batch_size: int = 20,
        block_ms: int = 2_000,
        reclaim_idle_ms: int = 600_000,
        max_deliveries: int = 3,
        give_up_after_s: float = 300.0,
        max_consecutive_bugs: int = 5,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.queue = queue
        self.consumer = consumer
        self.sink = sink
        self.crawl = crawl
        self.scheduler = scheduler
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.reclaim_idle_ms = reclaim_idle_ms
        self.max_deliveries = max_deliveries
        self.give_up_after_s = give_up_after_s
        self.max_consecutive_bugs = max_consecutive_bugs
        self.stats = WorkerStats()
        # a written batch whose scheduler update or ack failed: finished before anything else,
        # so a Redis restart between write and ack does not make the batch crawled again
        self._unfinished: list[tuple[BatchResult, list[str], list[str]]] = []

    def next_messages(self) -> list[Message]:
        """Entries abandoned by dead workers first, then new ones."""
        reclaimed = self.queue.reclaim_stale(self.consumer, self.reclaim_idle_ms, self.batch_size)
        poisoned = [m for m in reclaimed if m.deliveries > self.max_deliveries]
        if poisoned:
            self.stats.dead_lettered += self.queue.dead_letter(
                poisoned, f"crawl failed {self.max_deliveries} times"
            )
        retry = [m for m in reclaimed if m.deliveries <= self.max_deliveries]
        if retry:
            return retry
        return self.queue.read(self.consumer, self.batch_size, self.block_ms)

    def run_once(self) -> int:
        """Handle one batch; returns how many entries were acknowledged."""
        acked = self._finish_written_batches()
        for kind, messages in group_by_kind(self.next_messages()).items():
            urls = [m.url for m in messages]
            try:
                result = self.crawl(kind, urls, self.sink)
            except Exception:  # the batch stays pending; reclaim retries it later
                log.exception("crawl of %d %s URLs failed", len(urls), kind)
                self.stats.failed_batches += 1
                continue
            self.stats.batches += 1
            self.stats.items += result.items
            log.info("%s: %d %s URLs -> %s", self.consumer, len(urls), kind, result.item_counts)
            # the items are durable (renamed into place): only now are the URLs crawled
            crash_point("worker.before_manifest")
            # complete: landing may load it (a batch without this marker is never loaded)
            record_completed(result.output_path, kind, len(urls), result.items)
            crash_point("worker.before_ack")
            self._unfinished.append((result, result.crawled_urls, [m.id for m in messages]))
            acked += self._finish_written_batches()
        return acked

    def _finish_written_batches(self) -> int:
        """Mark written batches crawled in the scheduler, then acknowledge them (retrying
        transient errors for a while; what still fails stays for the next round)."""
        acked = 0
        while self._unfinished:
            result, crawled, message_ids = self._unfinished[0]
            retrying = _retrying(min(30.0, self.give_up_after_s))
            if self.scheduler is not None and crawled:
                retrying(self.scheduler.mark_crawled, result.kind, crawled)
                self._unfinished[0] = (result, [], message_ids)
            acked += retrying(self.queue.ack, message_ids)
            self._unfinished.pop(0)
        self.stats.acked += acked
        return acked

    def run(self, stop: threading.Event, max_batches: int | None = None) -> WorkerStats:
        """Loop until ``stop`` is set (the current batch always finishes first).

        Errors of the queue or the scheduler are waited out with back-off (the Redis client
        reconnects on its next command); the consumer gives up, raising ConsumerDiedError, when
        they last longer than ``give_up_after_s``, or when another error repeats
        ``max_consecutive_bugs`` times in a row.
        """
        failing_since: float | None = None
        failures = bugs = 0
        while not stop.is_set():
            if max_batches is not None and self.stats.batches >= max_batches:
                break
            try:
                self.run_once()
            except Exception as error:
                failures += 1
                self.stats.errors += 1
                failing_since = failing_since or time.monotonic()
                transient = isinstance(error, TRANSIENT_ERRORS) or _lost_group(error)
                bugs = 0 if transient else bugs + 1
                if (
                    time.monotonic() - failing_since > self.give_up_after_s
                    or bugs >= self.max_consecutive_bugs
                ):
                    self.stats.died = True
                    raise ConsumerDiedError(
                        f"{self.consumer} gave up after {failures} failures: {error!r}"
                    ) from error
                delay = backoff_s(failures)
                log.warning("%s: %r; retrying in %.1fs", self.consumer, error, delay)
                if _lost_group(error):
                    self._recreate_group()
                stop.wait(delay)
                continue
            failing_since, failures, bugs = None, 0, 0
        return self.stats

    def _recreate_group(self) -> None:
        """A Redis that restarted without its data lost the stream and group: create them."""
        ensure_group = getattr(self.queue, "ensure_group", None)
        if ensure_group is not None:
            with contextlib.suppress(*TRANSIENT_ERRORS):
                ensure_group()


def _lost_group(error: BaseException) -> bool:
    return isinstance(error, redis.ResponseError) and "NOGROUP" in str(error)


def consumer_name(index: int = 0) -> str:
    """Unique per host, process and thread slot, so XPENDING tells who holds what."""
    return f"{socket.gethostname()}-{os.getpid()}-{index}"


def run_workers(
    workers: list[CrawlWorker], stop: threading.Event, max_batches: int | None = None
) -> list[WorkerStats]:
    """Run workers on threads (each crawl is a subprocess, so threads give real parallelism).

    Returns when ``stop`` is set and every batch in hand is finished, or when every consumer
    died (see ``WorkerStats.died``); a consumer that dies is logged and the others go on.
    """
    results: list[WorkerStats] = [WorkerStats() for _ in workers]

    def target(index: int) -> None:
        try:
            results[index] = workers[index].run(stop, max_batches)
        except Exception:
            log.exception("consumer %s died", workers[index].consumer)
            workers[index].stats.died = True
            results[index] = workers[index].stats

    threads = [
        threading.Thread(target=target, args=(i,), name=w.consumer, daemon=True)
        for i, w in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=0.5)
    return results
