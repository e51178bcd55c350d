"""How spiders tell the crawl scheduler what they crawled and saw, in batches.

``SchedulerHooks`` is the interface the spiders need; ``crawler.scheduler.CrawlScheduler``
implements it. Spiders never talk to it per URL: ``HookBatcher`` collects seen/crawled URLs
and flushes them every ``flush_every`` URLs and when the spider closes (one query per batch).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from crawler.urls import KINDS, Kind


@runtime_checkable
class SchedulerHooks(Protocol):
    def mark_crawled(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int: ...

    def mark_inspected(
        self, kind: Kind, urls: Iterable[str], now: datetime | None = None
    ) -> int: ...

    def add_urls(self, kind: Kind, urls: Iterable[str]) -> int: ...

    def mark_gone(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int: ...


class NullHooks:
    """No scheduler (a one-off crawl of given URLs)."""

    def mark_crawled(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int:
        return len(list(urls))

    def mark_inspected(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int:
        return len(list(urls))

    def add_urls(self, kind: Kind, urls: Iterable[str]) -> int:
        return len(list(urls))

    def mark_gone(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int:
        return len(list(urls))


class JsonlHooks:
    """Appends every call to ``<folder>/scheduler_hooks.jsonl``: dry runs and crawl tests."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "scheduler_hooks.jsonl"

    def _log(self, call: str, kind: str, urls: Iterable[str]) -> int:
        listed = sorted(urls)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"call": call, "kind": kind, "urls": listed}) + "\n")
        return len(listed)

    def mark_crawled(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int:
        return self._log("mark_crawled", kind, urls)

    def mark_inspected(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int:
        return self._log("mark_inspected", kind, urls)

    def add_urls(self, kind: Kind, urls: Iterable[str]) -> int:
        return self._log("add_urls", kind, urls)

    def mark_gone(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int:
        return self._log("mark_gone", kind, urls)


def scheduler_hooks() -> SchedulerHooks:
    """The real scheduler database named by ``settings.scheduler_db_url``."""
    from crawler.scheduler import CrawlScheduler

    scheduler = CrawlScheduler.from_settings()
    scheduler.create_tables()
    return scheduler


class CrawledLater:
    """The scheduler, except that crawls are not recorded from inside the spider.

    A spider sees a page crawled long before its items are durable (renamed into place,
    recorded in the landing manifest); if the run then fails, URLs marked crawled would not be
    crawled again for a long time. The process that made the items durable records the crawl
    (the worker after its rename, the in-process crawl after its folder swap); what pages
    mention (inspected, discovered) goes to the scheduler at once, as it loses nothing.
    """

    def __init__(self, hooks: SchedulerHooks) -> None:
        self.hooks = hooks

    def mark_crawled(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int:
        return 0

    def mark_inspected(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int:
        return self.hooks.mark_inspected(kind, urls, now=now)

    def add_urls(self, kind: Kind, urls: Iterable[str]) -> int:
        return self.hooks.add_urls(kind, urls)

    def mark_gone(self, kind: Kind, urls: Iterable[str], now: datetime | None = None) -> int:
        return self.hooks.mark_gone(kind, urls, now=now)


def scheduler_without_crawls() -> SchedulerHooks:
    """``SCHEDULER_HOOKS=crawler.hooks:scheduler_without_crawls`` (see ``CrawledLater``)."""
    return CrawledLater(scheduler_hooks())


def load_hooks(spec: str, output_dir: Path) -> SchedulerHooks:
    """``none`` | ``jsonl`` | ``scheduler`` | ``package.module:factory`` -> hooks."""
    if spec in ("", "none"):
        return NullHooks()
    if spec == "jsonl":
        return JsonlHooks(output_dir)
    if spec == "scheduler":
        return scheduler_hooks()
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"SCHEDULER_HOOKS must be none|jsonl|scheduler|module:factory: {spec!r}")
    factory: Callable[[], Any] = getattr(importlib.import_module(module_name), attr)
    hooks = factory()
    if not isinstance(hooks, SchedulerHooks):
        raise TypeError(f"{spec} did not return SchedulerHooks (got {type(hooks).__name__})")
    return hooks


class HookBatcher:
    """Buffers URLs per (event, kind) and sends each buffer as one hook call."""

    EVENTS = ("crawled", "inspected", "discovered", "gone")

    def __init__(self, hooks: SchedulerHooks, flush_every: int = 500) -> None:
        if flush_every < 1:
            raise ValueError(f"flush_every must be >= 1, got {flush_every}")
        self.hooks = hooks
        self.flush_every = flush_every
        self.buffers: dict[tuple[str, str], set[str]] = {
            (event, kind): set() for event in self.EVENTS for kind in KINDS
        }
        self.calls = 0

    def add(self, event: str, urls_by_kind: dict[str, set[str]]) -> None:
        for kind, urls in urls_by_kind.items():
            buffer = self.buffers[(event, kind)]
            buffer.update(urls)
            if len(buffer) >= self.flush_every:
                self._send(event, kind)

    def _send(self, event: str, kind: str) -> None:
        urls = self.buffers[(event, kind)]
        if not urls:
            return
        batch = sorted(urls)
        urls.clear()
        now = datetime.now(UTC)
        if event == "crawled":
            self.hooks.mark_crawled(kind, batch, now=now)  # type: ignore[arg-type]
        elif event == "inspected":
            self.hooks.mark_inspected(kind, batch, now=now)  # type: ignore[arg-type]
        elif event == "gone":
            self.hooks.mark_gone(kind, batch, now=now)  # type: ignore[arg-type]
        else:
            self.hooks.add_urls(kind, batch)  # type: ignore[arg-type]
        self.calls += 1

    def flush(self) -> None:
        for event, kind in self.buffers:
            self._send(event, kind)
