"""Crawler workers: take URLs off the crawl queue, crawl them, write the items, then acknowledge.

The crawl itself runs in a SUBPROCESS (``python -m scrapy crawl <kind> -a urls_file=...``): Scrapy's
Twisted reactor cannot be restarted inside one process, a stuck crawl can be killed on a timeout,
and a crash takes down only that batch. The worker's side of the contract is
``crawl_batch(kind, urls, sink) -> BatchResult``; the spider's side is "read the canonical URLs
in ``urls_file``, write items as JSON lines to the feed given with ``-O``".

At-least-once: a batch's queue entries are acknowledged only after its JSON lines file has been
renamed into place (an atomic rename), so a worker killed at any moment leaves its entries
pending and another worker reclaims them (``CrawlQueue.reclaim_stale``). A batch may thus be
crawled twice; staging dedupes to the latest crawl per key.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import socket
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from animerec_assets.lib.processes import die_with_parent
from crawler.queue import Message, Queue
from crawler.scheduler import CrawlScheduler
from crawler.scheduler.urls import Kind, validate_urls

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
    def from_settings(cls, settings=None, **kwargs) -> SinkSettings:  # type: ignore[no-untyped-def]
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


def summarize_items(
    lines: Iterable[str], requested: Iterable[str]
) -> tuple[dict[str, int], list[str]]:
    """Count items per ``item_type``; list requested URLs named by a ``crawl_error`` item.

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
        if item_type == "crawl_error" and item.get("url") in wanted:
            failed[item["url"]] = None
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
        self.stats = WorkerStats()

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
        acked = 0
        for kind, messages in group_by_kind(self.next_messages()).items():
            urls = [m.url for m in messages]
            try:
                result = self.crawl(kind, urls, self.sink)
            except Exception:  # the batch stays pending; reclaim retries it later
                log.exception("crawl of %d %s URLs failed", len(urls), kind)
                self.stats.failed_batches += 1
                continue
            if self.scheduler is not None and result.crawled_urls:
                self.scheduler.mark_crawled(kind, result.crawled_urls)
            acked += self.queue.ack([m.id for m in messages])
            self.stats.batches += 1
            self.stats.items += result.items
            log.info("%s: %d %s URLs -> %s", self.consumer, len(urls), kind, result.item_counts)
        self.stats.acked += acked
        return acked

    def run(self, stop: threading.Event, max_batches: int | None = None) -> WorkerStats:
        """Loop until ``stop`` is set (the current batch always finishes first)."""
        while not stop.is_set():
            if max_batches is not None and self.stats.batches >= max_batches:
                break
            self.run_once()
        return self.stats


def consumer_name(index: int = 0) -> str:
    """Unique per host, process and thread slot, so XPENDING tells who holds what."""
    return f"{socket.gethostname()}-{os.getpid()}-{index}"


def run_workers(
    workers: list[CrawlWorker], stop: threading.Event, max_batches: int | None = None
) -> list[WorkerStats]:
    """Run workers on threads (each crawl is a subprocess, so threads give real parallelism)."""
    results: list[WorkerStats] = [WorkerStats() for _ in workers]

    def target(index: int) -> None:
        results[index] = workers[index].run(stop, max_batches)

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
