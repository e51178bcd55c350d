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
from scrapy.exceptions import CloseSpider
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from animerec_assets.settings import MAL_BASE_URL, load_settings
from crawler.hooks import HookBatcher, load_hooks
from crawler.items import SOURCES, make_item
from crawler.parsers import ParseResult, parse_response, route
from crawler.parsers.bounds import Notes, bound_item
from crawler.pipelines import output_dir
from crawler.snapshots import (
    SCHEDULER_KIND,
    SETS_OF_PAGE_TYPE,
    SnapshotTracker,
    gone_item,
    gone_reason,
    new_snapshot_id,
    page_failed,
    snapshot_item,
    stamp,
)
from crawler.urls import (
    InvalidUrlError,
    InvalidUsernameError,
    canonicalize,
    parent_of,
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
    source: ``mal``, ``jikan`` or ``malapi`` (default: settings.crawl_source).
    """

    kind: ClassVar[str] = ""
    # page types followed, by the source of the followed URL, for sources mal and jikan
    followed_page_types: ClassVar[dict[str, frozenset[str]]] = {
        "mal": frozenset(),
        "jikan": frozenset(),
    }
    # the same for source malapi: the API's pages, and the HTML pages for what it lacks
    malapi_page_types: ClassVar[dict[str, frozenset[str]]] = {}

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
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        self.mal_client_id = self.app_settings.mal_client_id
        if self.source == "malapi" and not self.mal_client_id:
            raise ValueError("source malapi needs a MAL API client id: set ANIMEREC_MAL_CLIENT_ID")
        self.start_url_list = _split_urls(urls)
        if urls_file:
            self.start_url_list += _split_urls(Path(urls_file).read_text().splitlines())
        self.url_source = url_source
        self.base_urls = {
            "mal": self.app_settings.mal_base_url,
            "jikan": self.app_settings.jikan_base_url,
            "malapi": self.app_settings.mal_api_base_url,
        }
        self.pages_read: dict[tuple[str, str], int] = {}
        self.snapshots = SnapshotTracker()
        # per crawl: a subclass's from_crawler may narrow the class default by settings
        self.page_types: dict[str, frozenset[str]] = (
            {"mal": frozenset(), "jikan": frozenset(), **self.malapi_page_types}
            if self.source == "malapi"
            else {"malapi": frozenset(), **self.followed_page_types}
        )
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
        if unclosed := self.snapshots.open_sets:  # a set page the duplicate filter dropped
            self.logger.warning(
                "%d snapshot sets never closed (no crawl_snapshot: they delete nothing), e.g. %s",
                len(unclosed),
                [(s.parent_id, s.set_name) for s in unclosed[:5]],
            )

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

    def entry_urls(self, kind: str, canonical: str) -> list[str]:
        """Every page an entity's crawl starts from (the API source starts from two)."""
        return [self.entry_url(kind, canonical)]

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
            snapshot_id = new_snapshot_id(canonical)
            for entry in self.entry_urls(kind, canonical):
                yield self.request_for(entry, canonical, snapshot_id)

    # ---- requests and parsing ------------------------------------------------------------

    def base_for(self, canonical_host_url: str) -> str:
        info = parse_url(canonical_host_url)
        return self.base_urls[info.source if info else "mal"]

    def request_for(
        self, canonical_host_url: str, entity: str | None = None, snapshot_id: str | None = None
    ) -> scrapy.Request:
        """A request carrying its parent crawl (entity, snapshot id); a page of a snapshot set
        counts as in flight from here until it is parsed or fails for good."""
        info = parse_url(canonical_host_url)
        if snapshot_id is not None and info is not None:
            self.snapshots.page_requested(snapshot_id, info, info.source, entity or "")
        headers = {}
        if info is not None and info.source == "malapi" and self.mal_client_id:
            headers["X-MAL-CLIENT-ID"] = self.mal_client_id
        return scrapy.Request(
            to_fetch_url(canonical_host_url, self.base_for(canonical_host_url)),
            callback=self.parse,
            errback=self.on_failure,
            headers=headers,
            meta={"entity": entity, "snapshot_id": snapshot_id},
        )

    def error_item(self, url: str, status: int | None, reason: str) -> dict[str, Any]:
        """A crawl_error item; its text (a redirect target, an exception message) bounded too."""
        info = parse_url(url)
        parent_kind, parent_id = (parent_of(info) if info else None) or (None, None)
        item = make_item(
            "crawl_error",
            crawl_date=datetime.now(UTC).isoformat(),
            source=info.source if info else self.source,
            url=url,
            page_type=info.page_type if info else None,
            status_code=status,
            reason=reason[:1000],
            parent_kind=parent_kind,
            parent_id=parent_id,
        )
        return bound_item(item, Notes())

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

    def asked_url(self, request: Request) -> str:
        """The page a request (or the redirect it became) was for, on MAL's own host."""
        first = (request.meta.get("redirect_urls") or [request.url])[0]
        return to_canonical_host(first, self.base_for(to_canonical_host(first, "")))

    def parse_page(self, response: Response) -> ParseResult | dict[str, Any]:
        """The page parsed, or a crawl_error item naming the URL asked for: a binary body or a
        redirect to a page no parser reads is a failure, never a silent "crawled"."""
        asked = self.asked_url(response.request) if response.request else response.url
        self.stop_if_refused(response)
        if not isinstance(response, TextResponse):
            return self.error_item(asked, response.status, "binary response")
        info = parse_url(response.url)
        if info is None or route(response.url) is None:
            hops = response.meta.get("redirect_urls") or []
            where = f"redirected to {response.url[:200]}" if hops else "no parser for this URL"
            return self.error_item(asked, response.status, f"unroutable page: {where}")
        entity = response.meta.get("entity")
        if (
            response.meta.get("redirect_urls")
            and isinstance(entity, str)
            and entity.startswith(MAL_BASE_URL)
            and info.canonical is not None
            and info.canonical.lower() != entity.lower()
        ):  # identity from the URL asked for: a redirect to another entity's page is no answer
            reason = f"redirected to another {info.kind}: {info.canonical[:200]}"
            return self.error_item(asked, response.status, reason)
        return parse_response(
            response, datetime.now(UTC), base_url=self.base_for(to_canonical_host(response.url, ""))
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        entity = response.meta.get("entity")
        snapshot_id = response.meta.get("snapshot_id")
        # the set a page belongs to is the one its request was made for (before redirects)
        asked = parse_url(self.asked_url(response.request)) if response.request else None
        page_type = asked.page_type if asked else None
        result = self.parse_page(response)
        if not isinstance(result, ParseResult):
            yield result
            yield from self.finish_page(snapshot_id, page_type, {}, ok=False)
            return
        if (retry := self.retry_damaged(response, result.items)) is not None:
            yield retry
            return
        info = parse_url(response.url)
        set_names = SETS_OF_PAGE_TYPE.get(page_type or "", ())
        rows = {name: stamp(result.items, name, snapshot_id) for name in set_names if snapshot_id}
        self.batcher.add("inspected", result.seen)
        self.batcher.add("crawled", result.crawled)
        yield from result.items
        for item in result.items:  # a parser that reads the 404 itself (the MAL API's)
            if item["item_type"] == "page_gone" and item.get("parent_kind") in SCHEDULER_KIND:
                self.batcher.add("gone", {SCHEDULER_KIND[item["parent_kind"]]: {item["url"]}})
        if info is not None and (
            reason := gone_reason(info.page_type, response.status, result.items)
        ):
            yield from self.gone(info, reason, response.status)
        cut = False
        for url in result.follow:
            if self.may_follow(url, entity, page_type):
                yield self.request_for(url, entity, snapshot_id)
            elif set_names and (following := parse_url(url)) and following.page_type == page_type:
                cut = True  # the set's next page is past ANIMEREC_MAX_PAGES
        ok = not page_failed(result.items)
        yield from self.finish_page(snapshot_id, page_type, rows, ok=ok, cut=cut)

    def finish_page(
        self,
        snapshot_id: str | None,
        page_type: str | None,
        rows: dict[str, int],
        *,
        ok: bool,
        cut: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """A crawl_snapshot item for each set this page was the last page in flight of."""
        if snapshot_id is None or page_type is None:
            return
        for closed in self.snapshots.page_finished(snapshot_id, page_type, rows, ok=ok, cut=cut):
            yield snapshot_item(closed)

    def gone(self, info: Any, reason: str, status: int | None) -> Iterator[dict[str, Any]]:
        """A page_gone item, and the scheduler told to back off from the parent."""
        item = gone_item(info, reason, status, info.source)
        if item is None:
            return
        kind = SCHEDULER_KIND[item["parent_kind"]]
        self.batcher.add("gone", {kind: {item["url"]}})
        yield item

    def stop_if_refused(self, response: Response) -> None:
        """MAL's API answers 401/403 to a bad client id or a crawl it calls a DoS: every
        further request would be refused too, so the crawl stops instead of retrying."""
        info = parse_url(response.url)
        if info is None or info.source != "malapi" or response.status not in (401, 403):
            return
        body = response.text[:300] if isinstance(response, TextResponse) else ""
        message = (
            f"MAL API refused the crawl with HTTP {response.status} ({body.strip()}): "
            "check ANIMEREC_MAL_CLIENT_ID, or wait before crawling again (403 'DoS detected' "
            "means too many requests)"
        )
        self.logger.error(message)
        raise CloseSpider(message[:500])

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
        url = self.asked_url(request)
        error_name = type(failure.value).__name__
        yield self.error_item(url, status, f"{error_name}: {failure.getErrorMessage()}")
        info = parse_url(url)
        page_type = info.page_type if info else None
        yield from self.finish_page(request.meta.get("snapshot_id"), page_type, {}, ok=False)
