"""What the spiders share: start URLs from arguments or a callable, source switch, parsing
through the one router, the scheduler hooks, and page limits for paged lists.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import scrapy
from scrapy import signals
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from animerec_assets.settings import load_settings
from crawler.hooks import HookBatcher, load_hooks
from crawler.items import make_item
from crawler.parsers import parse_response
from crawler.pipelines import output_dir
from crawler.urls import (
    InvalidUrlError,
    InvalidUsernameError,
    canonicalize,
    parse_url,
    to_canonical_host,
    to_fetch_url,
)

# crawl_error reasons (crawler.parsers) that mean the body was damaged in transit.
DAMAGED_BODY_REASONS = ("truncated page", "body is not JSON")


def _split_urls(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [u.strip() for u in value.replace("\n", ",").split(",") if u.strip()]
    return [u.strip() for u in value if u and u.strip()]


class AnimerecSpider(scrapy.Spider):
    """Base spider. Arguments (``-a name=value``):

    urls: comma-separated canonical URLs; urls_file: one URL per line;
    url_source: ``package.module:callable`` returning an iterable of canonical URLs (a queue);
    source: ``mal`` or ``jikan`` (default: settings.crawl_source).
    """

    kind: ClassVar[str] = ""
    followed_page_types: ClassVar[dict[str, frozenset[str]]] = {
        "mal": frozenset(),
        "jikan": frozenset(),
    }

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Layer ``ANIMEREC_SCRAPY_SETTINGS`` over the project settings (``-s`` still wins)."""
        super().update_settings(settings)
        settings.setdict(load_settings().scrapy_overrides, priority="spider")

    def __init__(
        self,
        urls: str | Iterable[str] | None = None,
        urls_file: str | None = None,
        url_source: str | None = None,
        source: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.app_settings = load_settings()
        self.source = (source or self.app_settings.crawl_source).lower()
        if self.source not in ("mal", "jikan"):
            raise ValueError(f"source must be 'mal' or 'jikan', got {self.source!r}")
        self.start_url_list = _split_urls(urls)
        if urls_file:
            self.start_url_list += _split_urls(Path(urls_file).read_text().splitlines())
        self.url_source = url_source
        self.base_urls = {
            "mal": self.app_settings.mal_base_url,
            "jikan": self.app_settings.jikan_base_url,
        }
        self.pages_read: dict[tuple[str, str], int] = {}
        # per crawl: a subclass's from_crawler may narrow the class default by settings
        self.page_types: dict[str, frozenset[str]] = dict(self.followed_page_types)
        # set from the Scrapy settings in from_crawler
        self.batcher: HookBatcher
        self.max_pages: dict[str, int] = {}
        self.parse_retries = 2

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> AnimerecSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        hooks = load_hooks(settings.get("SCHEDULER_HOOKS", "none"), output_dir(settings))
        spider.batcher = HookBatcher(hooks, settings.getint("SCHEDULER_FLUSH_EVERY", 500))
        spider.max_pages = settings.getdict("ANIMEREC_MAX_PAGES")
        spider.parse_retries = settings.getint("ANIMEREC_PARSE_RETRIES", 2)
        crawler.signals.connect(spider.flush_hooks, signal=signals.spider_closed)
        return spider

    def flush_hooks(self) -> None:
        self.batcher.flush()

    # ---- start --------------------------------------------------------------------------

    def iter_start_urls(self) -> Iterator[str]:
        yield from self.start_url_list
        if self.url_source:
            module_name, _, attr = self.url_source.partition(":")
            source = getattr(importlib.import_module(module_name), attr)
            yield from source()

    def entry_url(self, kind: str, canonical: str) -> str:
        """First page to fetch for an entity (canonical host; rewritten on fetch)."""
        raise NotImplementedError

    async def start(self) -> AsyncIterator[Any]:
        for url in self.iter_start_urls():
            try:
                kind, canonical = canonicalize(url)
            except (InvalidUrlError, InvalidUsernameError) as exc:
                self.logger.error("skipping start URL: %s", exc)
                yield self.error_item(str(url)[:255], None, f"invalid start URL: {exc}")
                continue
            if self.kind and kind != self.kind:
                self.logger.error(
                    "skipping %s: the %s spider crawls %s URLs", url, self.name, self.kind
                )
                yield self.error_item(canonical, None, f"not a {self.kind} URL")
                continue
            yield self.request_for(self.entry_url(kind, canonical), entity=canonical)

    # ---- requests and parsing ------------------------------------------------------------

    def base_for(self, canonical_host_url: str) -> str:
        info = parse_url(canonical_host_url)
        return self.base_urls["jikan" if info and info.source == "jikan" else "mal"]

    def request_for(self, canonical_host_url: str, entity: str | None = None) -> scrapy.Request:
        return scrapy.Request(
            to_fetch_url(canonical_host_url, self.base_for(canonical_host_url)),
            callback=self.parse,
            errback=self.on_failure,
            meta={"entity": entity},
        )

    def error_item(self, url: str, status: int | None, reason: str) -> dict[str, Any]:
        info = parse_url(url)
        return make_item(
            "crawl_error",
            crawl_date=datetime.now(UTC).isoformat(),
            source=info.source if info else self.source,
            url=url,
            page_type=info.page_type if info else None,
            status_code=status,
            reason=reason,
        )

    def may_follow(self, url: str, entity: str | None, from_page_type: str | None) -> bool:
        """Follow sub-pages this spider reads; a list's next pages only up to its page cap."""
        info = parse_url(url)
        if info is None or info.page_type not in self.page_types[info.source]:
            return False
        limit = self.max_pages.get(info.page_type)
        if limit is None or info.page_type != from_page_type:
            return True  # a first page (Scrapy's dupefilter stops repeats)
        key = (entity or "", info.page_type)
        self.pages_read[key] = self.pages_read.get(key, 1) + 1  # the first page was read
        return self.pages_read[key] <= int(limit)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        entity = response.meta.get("entity")
        if not isinstance(response, TextResponse):
            yield self.error_item(response.url, response.status, "binary response")
            return
        result = parse_response(
            response, datetime.now(UTC), base_url=self.base_for(to_canonical_host(response.url, ""))
        )
        if (retry := self.retry_damaged(response, result.items)) is not None:
            yield retry
            return
        self.batcher.add("inspected", result.seen)
        self.batcher.add("crawled", result.crawled)
        yield from result.items
        page_type = parse_url(response.url)
        for url in result.follow:
            if self.may_follow(url, entity, page_type.page_type if page_type else None):
                yield self.request_for(url, entity=entity)

    def retry_damaged(self, response: Response, items: list[dict[str, Any]]) -> Any | None:
        """A fresh request when the body arrived cut short or garbled (a dropped connection, an
        overloaded server): that is transient, unlike a 404 or a changed layout. After
        ``ANIMEREC_PARSE_RETRIES`` tries the page's crawl_error stands."""
        damaged = any(
            item["item_type"] == "crawl_error"
            and str(item.get("reason", "")).startswith(DAMAGED_BODY_REASONS)
            for item in items
        )
        tries = response.meta.get("parse_retries", 0)
        if not damaged or response.status >= 400 or tries >= self.parse_retries:
            return None
        self.logger.info("damaged body (try %d), fetching again: %s", tries + 1, response.url)
        return response.request.replace(  # type: ignore[union-attr]
            dont_filter=True, meta={**response.meta, "parse_retries": tries + 1}
        )

    def on_failure(self, failure: Failure) -> Iterator[dict[str, Any]]:
        """Network failures (after retries) become crawl_error items too."""
        request = failure.request  # type: ignore[attr-defined]
        status = getattr(getattr(failure.value, "response", None), "status", None)
        url = to_canonical_host(request.url, "")
        error_name = type(failure.value).__name__
        yield self.error_item(url, status, f"{error_name}: {failure.getErrorMessage()}")
