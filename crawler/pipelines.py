"""Item sinks, chosen by the ``ANIMEREC_SINKS`` setting from a registry.

``jsonl`` (one ``<item_type>.jsonl`` file per item type under ``ANIMEREC_JSONL_DIR``) is built
in; ``landing`` (the warehouse's landing tables) and ``queue`` (the Redis Stream
``animerec:items``) live in ``crawler.sinks``, imported only when named, so a JSONL crawl never
loads DuckDB or Redis. Other sinks register with ``register_sink(name, factory)`` or are named
in the setting as ``package.module:Factory``; a factory takes the Scrapy settings and returns
an object with ``write(item)`` and ``close()``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

from scrapy.settings import BaseSettings

from animerec_assets.settings import load_settings


class Sink(Protocol):
    def write(self, item: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


SinkFactory = Callable[[BaseSettings], Sink]
SINKS: dict[str, SinkFactory] = {}
# Built-in sinks whose module is imported on first use.
LAZY_SINKS: dict[str, str] = {
    "landing": "crawler.sinks:LandingSink",
    "queue": "crawler.sinks:RedisStreamSink",
}


def register_sink(name: str, factory: SinkFactory) -> None:
    SINKS[name] = factory


def output_dir(settings: BaseSettings) -> Path:
    """Where file sinks and JSONL hooks write: the setting, else ``<ANIMEREC_HOME>/crawl``."""
    configured = settings.get("ANIMEREC_JSONL_DIR")
    return Path(configured) if configured else load_settings().crawl_output_dir


class JsonlSink:
    """Appends each item as one JSON line to ``<folder>/<item_type>.jsonl``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, IO[str]] = {}

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> JsonlSink:
        return cls(output_dir(settings))

    def write(self, item: dict[str, Any]) -> None:
        item_type = str(item.get("item_type") or "unknown")
        out = self.files.get(item_type)
        if out is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            out = self.files[item_type] = (self.folder / f"{item_type}.jsonl").open(
                "a", encoding="utf-8"
            )
        out.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        for out in self.files.values():
            out.close()
        self.files.clear()


register_sink("jsonl", JsonlSink.from_settings)


def resolve_sink(name: str) -> SinkFactory:
    if name in SINKS:
        return SINKS[name]
    module_name, _, attr = LAZY_SINKS.get(name, name).partition(":")
    if not attr:
        known = sorted({*SINKS, *LAZY_SINKS})
        raise ValueError(f"unknown sink {name!r}; registered: {known} (or module:Factory)")
    factory = getattr(importlib.import_module(module_name), attr)
    return getattr(factory, "from_settings", factory)


class ItemIdPipeline:
    """Gives every item its ``item_id`` (``crawler.items.item_id``) before any sink or feed
    sees it: the index counts the items of one fetched page (one url + crawl_date)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        if isinstance(item, dict) and item.get("item_type") and not item.get("item_id"):
            from crawler.items import item_id

            page = (str(item.get("url") or ""), str(item.get("crawl_date") or ""))
            index = self.counts.get(page, 0)
            self.counts[page] = index + 1
            item["item_id"] = item_id(page[0], page[1], index)
        return item


class SinkPipeline:
    """Hands every item to each configured sink; closes them with the spider."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    @classmethod
    def from_crawler(cls, crawler: Any) -> SinkPipeline:
        # An empty setting means "no sink of our own" (e.g. the items go to a feed export).
        names = [n for n in crawler.settings.getlist("ANIMEREC_SINKS", ["jsonl"]) if n.strip()]
        return cls([resolve_sink(name)(crawler.settings) for name in names])

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        for sink in self.sinks:
            sink.write(item)
        return item

    def close_spider(self) -> None:
        """Close every sink even when one fails (its items are saved), then report the first."""
        errors: list[Exception] = []
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]
