"""How an hour's crawl batch gets crawled, and where its items are found afterwards.

Locally (``InProcessCrawlRunner``) the run crawls the batch itself, with Scrapy in a subprocess
(its reactor never lives in the Dagster process), into a new folder that replaces the hour's
folder only when the whole crawl succeeded; only then are its URLs recorded as crawled. In
production (``QueueCrawlRunner``) the batch goes on the Redis Streams queue, the crawler workers
write their batch files and record each complete batch in the landing manifest
(``lib/crawl_manifest.py``); landing waits until the queue is drained (or a timeout), loads the
batches the manifest names and marks them loaded. No file is chosen by its modification time.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg

from animerec_assets.resources.services import RedisResource

Log = Callable[[str], None]


class CrawlRunnerResource(dg.ConfigurableResource, ABC):
    """Crawl URLs (``{kind: [url, ...]}``) for one hourly partition; find the items it wrote.

    ``output_dir`` is the environment's crawl folder (``<ANIMEREC_HOME>/crawl`` locally, the
    workers' shared volume in production).
    """

    output_dir: str

    @abstractmethod
    def crawl(
        self, partition_key: str, urls_by_kind: Mapping[str, Sequence[str]], log: Log
    ) -> dict[str, Any]:
        """Crawl (or hand over) the batch; returns a JSON-able summary for the run's metadata."""

    @abstractmethod
    def item_files(self, partition_key: str, start: datetime, end: datetime) -> list[Path]:
        """The JSON lines files that hold the partition's crawled items."""

    def wait_for_batch(self, partition_key: str, log: Log) -> dict[str, Any]:
        """Before landing: wait until the hour's batch is crawled (or give up); says which."""
        return {"outcome": "crawled in the run"}

    def mark_loaded(self, partition_key: str, start: datetime, files: Sequence[Path]) -> int:
        """After landing committed ``files``: record that this hour loaded them."""
        return 0


def partition_folder_name(partition_key: str) -> str:
    """``2026-11-20-05:00`` -> ``2026-11-20-0500`` (no colon in a folder name)."""
    return partition_key.replace(":", "").replace(" ", "T")


class InProcessCrawlRunner(CrawlRunnerResource):
    """Local: crawl in this run, into ``<output_dir>/partitions/<hour>/``; a re-run replaces it."""

    def partition_folder(self, partition_key: str) -> Path:
        return Path(self.output_dir) / "partitions" / partition_folder_name(partition_key)

    def crawl(
        self, partition_key: str, urls_by_kind: Mapping[str, Sequence[str]], log: Log
    ) -> dict[str, Any]:
        from animerec_assets.lib.crawl_manifest import discard, new_crawl_folder, swap_in
        from crawler.scheduler.urls import check_kind
        from crawler.worker import SinkSettings, crawl_batch

        hour_link = self.partition_folder(partition_key)
        folder = new_crawl_folder(hour_link)  # the hour's last crawl stays until this succeeds
        sink = SinkSettings(
            output_dir=folder,
            # pages' mentions go to the scheduler as they come; crawls only once durable
            scrapy_settings={
                "SCHEDULER_HOOKS": "crawler.hooks:scheduler_without_crawls",
                "ANIMEREC_SINKS": "",
            },
        )
        counts: dict[str, int] = {}
        failed = 0
        crawled: dict[str, list[str]] = {}
        try:
            for kind, urls in urls_by_kind.items():
                if not urls:
                    continue
                started = time.monotonic()
                result = crawl_batch(check_kind(kind), list(urls), sink)
                seconds = time.monotonic() - started
                for item_type, n in result.item_counts.items():
                    counts[item_type] = counts.get(item_type, 0) + n
                failed += len(result.failed_urls)
                crawled[kind] = result.crawled_urls
                log(
                    f"crawled {len(urls)} {kind} URLs in {seconds:.1f}s: {result.items} items, "
                    f"{len(result.failed_urls)} failed"
                )
        except BaseException:
            discard(folder)
            raise
        swap_in(folder, hour_link)
        _mark_crawled(crawled)
        return {
            "mode": "in-process",
            "folder": str(hour_link),
            "items": counts,
            "failed_urls": failed,
        }

    def item_files(self, partition_key: str, start: datetime, end: datetime) -> list[Path]:
        return sorted(self.partition_folder(partition_key).rglob("*.jsonl"))


class QueueCrawlRunner(CrawlRunnerResource):
    """Production: enqueue for the crawler workers, who write ``<output_dir>/items/*.jsonl``."""

    redis: RedisResource
    # how long landing waits for the workers to drain the queue before loading what is done
    drain_timeout_s: float = 1800.0
    drain_poll_s: float = 5.0

    def crawl(
        self, partition_key: str, urls_by_kind: Mapping[str, Sequence[str]], log: Log
    ) -> dict[str, Any]:
        from crawler.queue import CrawlQueue

        queue = CrawlQueue(self.redis.get_client())
        enqueued = {kind: queue.enqueue(kind, urls) for kind, urls in urls_by_kind.items()}
        log(f"enqueued for the crawler workers: {enqueued}")
        return {"mode": "queue", "enqueued": enqueued, "queue": queue.stats().as_dict()}

    def items_dir(self) -> Path:
        return Path(self.output_dir) / "items"

    def item_files(self, partition_key: str, start: datetime, end: datetime) -> list[Path]:
        """The complete batches the manifest names that no other hour loaded (and those this
        hour loaded before, when it is re-materialized)."""
        from animerec_assets.lib.crawl_manifest import batches_for_hour
        from animerec_assets.lib.landing import crawl_hour_value

        hour = crawl_hour_value(start)
        return [batch.items_file for batch in batches_for_hour(self.items_dir(), hour)]

    def wait_for_batch(self, partition_key: str, log: Log) -> dict[str, Any]:
        """Wait until the queue holds nothing undelivered or unacknowledged, at most
        ``drain_timeout_s``; landing then loads what is complete either way."""
        from crawler.queue import CrawlQueue

        queue = CrawlQueue(self.redis.get_client())
        started = time.monotonic()
        next_report = started
        while True:
            stats = queue.stats()
            waited = time.monotonic() - started
            if stats.backlog == 0 and stats.pending == 0:
                log(f"crawl queue drained after {waited:.0f}s")
                return {"outcome": "drained", "waited_s": round(waited, 1)}
            if waited >= self.drain_timeout_s:
                log(
                    f"crawl queue NOT drained after {waited:.0f}s ({stats.backlog} waiting, "
                    f"{stats.pending} in progress): loading the batches complete so far"
                )
                return {
                    "outcome": "timed out",
                    "waited_s": round(waited, 1),
                    "backlog": stats.backlog,
                    "pending": stats.pending,
                }
            if time.monotonic() >= next_report:
                log(f"waiting for the crawl queue: {stats.backlog} waiting, {stats.pending} in "
                    f"progress ({waited:.0f}s of {self.drain_timeout_s:.0f}s)")  # fmt: skip
                next_report = time.monotonic() + 60
            time.sleep(self.drain_poll_s)

    def mark_loaded(self, partition_key: str, start: datetime, files: Sequence[Path]) -> int:
        from animerec_assets.lib.crawl_manifest import files_loaded_marks, mark_loaded
        from animerec_assets.lib.landing import crawl_hour_value

        hour = crawl_hour_value(start)
        batches = files_loaded_marks(self.items_dir(), hour, list(files))
        return mark_loaded(self.items_dir(), hour, batches)


def _mark_crawled(crawled: Mapping[str, Sequence[str]]) -> None:
    """Record the crawls of URLs whose items are now durable."""
    from crawler.scheduler import CrawlScheduler
    from crawler.scheduler.urls import check_kind

    if not any(crawled.values()):
        return
    scheduler = CrawlScheduler.from_settings()
    try:
        for kind, urls in crawled.items():
            if urls:
                scheduler.mark_crawled(check_kind(kind), urls)
    finally:
        scheduler.dispose()
