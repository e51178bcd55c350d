"""Spiders with ``scheduler_without_crawls`` hooks record what pages mention, never a crawl:
the process that made the items durable records the crawl (real SQLite scheduler)."""

from __future__ import annotations

from pathlib import Path

import test_scheduler_fixtures as fixtures

from crawler.hooks import CrawledLater, HookBatcher, SchedulerHooks


def test_crawls_are_left_to_the_caller_and_mentions_go_through(tmp_path: Path) -> None:
    with fixtures.make_sqlite_scheduler(tmp_path) as scheduler:
        hooks = CrawledLater(scheduler)
        assert isinstance(hooks, SchedulerHooks)
        batcher = HookBatcher(hooks, flush_every=100)
        batcher.add("crawled", {"anime": {fixtures.anime(1)}})
        batcher.add("discovered", {"anime": {fixtures.anime(2), fixtures.anime(3)}})
        batcher.flush()
        stats = scheduler.stats("anime")
        assert stats.crawled == 0  # a spider whose output is then lost leaves it to be crawled
        assert stats.total == 2
        scheduler.mark_crawled("anime", [fixtures.anime(2)])  # the durable side records it
        assert scheduler.stats("anime").crawled == 1
