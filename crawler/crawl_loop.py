"""A scheduled crawl run to completion in one process: schedule → crawl_batch → repeat.

What the hourly Dagster crawl does one partition at a time, looped until the scheduler has
nothing new: the bench (``animerec bench crawl``) and the fault-tolerance test drive it. Each
round asks the scheduler only for URLs never scheduled (so a round never re-crawls what is
fresh), crawls them in a spider subprocess per kind whose scheduler hooks record what was
crawled and discovered, and stops when a round finds nothing new to schedule.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crawler.scheduler import CrawlScheduler
from crawler.urls import KINDS, Kind
from crawler.worker import BatchResult, CrawlFunction, SinkSettings, crawl_batch

DEFAULT_BATCH_SIZE = 2_000


@dataclass
class CrawlLoopResult:
    """What the loop did: rounds, URLs per kind, items per type, failures, batch files."""

    rounds: int = 0
    scheduled: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, result: BatchResult) -> None:
        self.scheduled[result.kind] += len(result.urls)
        self.failed[result.kind] += len(result.failed_urls)
        self.items.update(result.item_counts)
        self.outputs.append(result.output_path)


def scheduler_sink(output_dir: Path, **scrapy_settings: str) -> SinkSettings:
    """Batch files under ``output_dir``; the spiders tell the scheduler (settings' DB URL) what
    they crawled and discovered, so the next round sees the newly linked URLs."""
    settings = {"SCHEDULER_HOOKS": "scheduler", "ANIMEREC_SINKS": "", **scrapy_settings}
    return SinkSettings(output_dir=output_dir, scrapy_settings=settings)


def crawl_until_done(
    scheduler: CrawlScheduler,
    sink: SinkSettings,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_rounds: int = 50,
    crawl: CrawlFunction = crawl_batch,
    reseed: Callable[[int], bool] | None = None,
    on_batch: Callable[[int, BatchResult], None] | None = None,
) -> CrawlLoopResult:
    """Crawl never-scheduled URLs round after round until none is left (or ``max_rounds``).

    ``reseed(round)`` is asked when a round had nothing to crawl: it may add URLs (a seeding
    crawl of listing pages) and returns whether to go on. ``on_batch`` sees every batch (e.g.
    a progress bar). The spiders must write to the same scheduler DB (``scheduler_db_url``).
    """
    if batch_size < 1 or max_rounds < 1:
        raise ValueError("batch_size and max_rounds must be >= 1")
    outcome = CrawlLoopResult()
    started = time.monotonic()
    while outcome.rounds < max_rounds:
        outcome.rounds += 1
        crawled_this_round = 0
        for kind in KINDS:
            kind_name: Kind = kind
            waiting = scheduler.stats(kind_name).never_scheduled
            urls = scheduler.schedule(kind_name, min(batch_size, waiting)) if waiting else []
            if not urls:
                continue
            result = crawl(kind_name, urls, sink)
            outcome.add(result)
            crawled_this_round += len(urls)
            if on_batch is not None:
                on_batch(outcome.rounds, result)
        if crawled_this_round == 0 and (reseed is None or not reseed(outcome.rounds)):
            break
    outcome.seconds = time.monotonic() - started
    return outcome
