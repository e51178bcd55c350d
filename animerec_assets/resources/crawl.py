"""How an hour's crawl batch gets crawled, and where its items are found afterwards.

Locally (``InProcessCrawlRunner``) the run crawls the batch itself, with Scrapy in a subprocess
(its reactor never lives in the Dagster process), into a folder per hour. In production
(``QueueCrawlRunner``) the batch goes on the Redis Streams queue, the crawler workers write
their batch files, and the landing step picks up the files finished within the hour.
"""

from __future__ import annotations

import shutil
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
        from crawler.scheduler.urls import check_kind
        from crawler.worker import SinkSettings, crawl_batch

        folder = self.partition_folder(partition_key)
        shutil.rmtree(folder, ignore_errors=True)  # a re-run replaces the hour's crawl
        sink = SinkSettings(
            output_dir=folder,
            scrapy_settings={"SCHEDULER_HOOKS": "scheduler", "ANIMEREC_SINKS": ""},
        )
        counts: dict[str, int] = {}
        failed = 0
        for kind, urls in urls_by_kind.items():
            if not urls:
                continue
            started = time.monotonic()
            result = crawl_batch(check_kind(kind), list(urls), sink)
            seconds = time.monotonic() - started
            for item_type, n in result.item_counts.items():
                counts[item_type] = counts.get(item_type, 0) + n
            failed += len(result.failed_urls)
            log(
                f"crawled {len(urls)} {kind} URLs in {seconds:.1f}s: {result.items} items, "
                f"{len(result.failed_urls)} failed"
            )
        return {"mode": "in-process", "folder": str(folder), "items": counts, "failed_urls": failed}

    def item_files(self, partition_key: str, start: datetime, end: datetime) -> list[Path]:
        return sorted(self.partition_folder(partition_key).rglob("*.jsonl"))


class QueueCrawlRunner(CrawlRunnerResource):
    """Production: enqueue for the crawler workers, who write ``<output_dir>/items/*.jsonl``."""

    redis: RedisResource

    def crawl(
        self, partition_key: str, urls_by_kind: Mapping[str, Sequence[str]], log: Log
    ) -> dict[str, Any]:
        from crawler.queue import CrawlQueue

        queue = CrawlQueue(self.redis.get_client())
        enqueued = {kind: queue.enqueue(kind, urls) for kind, urls in urls_by_kind.items()}
        log(f"enqueued for the crawler workers: {enqueued}")
        return {"mode": "queue", "enqueued": enqueued, "queue": queue.stats().as_dict()}

    def item_files(self, partition_key: str, start: datetime, end: datetime) -> list[Path]:
        """The batch files the workers finished within the hour (by modification time)."""
        folder = Path(self.output_dir) / "items"
        low, high = start.timestamp(), end.timestamp()
        return [p for p in sorted(folder.glob("*.jsonl")) if low <= p.stat().st_mtime < high]
