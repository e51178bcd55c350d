"""What every parser shares: the parse context, the result type and small text helpers.

A parser is a pure function ``(response, ctx) -> ParseResult``: it reads one saved or fetched
page and says which items it holds, which pages to fetch next and which anime/profiles the page
merely mentions (the scheduler's "inspected" updates). It never fetches, writes or sleeps.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from crawler.items import make_item
from crawler.parsers.bounds import UNREADABLE_NUMBER, Limits, Notes, bound_item
from crawler.urls import Kind, UrlInfo, canonical_or_none, parent_of


class PageStructureError(ValueError):
    """The page lacks a landmark its parser relies on (changed layout, truncated body...)."""


@dataclass
class ParseContext:
    """Facts about the fetch that items need: when, what page, whose page."""

    crawl_date: datetime
    info: UrlInfo
    page_url: str  # the page's URL on MAL's (or Jikan's) own host
    status: int = 200
    limits: Limits = field(default_factory=Limits)
    # values bounding refused or changed on this page (the router reports them)
    notes: Notes = field(default_factory=Notes)

    @property
    def source(self) -> str:
        return self.info.source

    @property
    def crawl_date_iso(self) -> str:
        return self.crawl_date.astimezone(UTC).isoformat()

    @property
    def entity_url(self) -> str:
        """Canonical URL of the anime/profile the page belongs to (else the page itself)."""
        return self.info.canonical or self.page_url

    def item(self, item_type: str, **fields: Any) -> dict[str, Any]:
        """One item, every value within its field's bounds (``crawler.parsers.bounds``)."""
        item = make_item(
            item_type,
            crawl_date=self.crawl_date_iso,
            source=self.source,
            url=self.entity_url,
            **fields,
        )
        return bound_item(item, self.notes, self.limits)

    def error(self, reason: str, status_code: int | None = None) -> dict[str, Any]:
        """A ``crawl_error`` naming the page and the user or anime whose crawl it belonged to
        (an API URL like ``/v2/anime/6?fields=...`` alone does not say that plainly)."""
        parent_kind, parent_id = parent_of(self.info) or (None, None)
        item = make_item(
            "crawl_error",
            crawl_date=self.crawl_date_iso,
            source=self.source,
            url=self.page_url,
            page_type=self.info.page_type,
            status_code=self.status if status_code is None else status_code,
            reason=str(reason)[:1000],
            parent_kind=parent_kind,
            parent_id=parent_id,
        )
        return bound_item(item, Notes(), self.limits)

    def note_item(self) -> dict[str, Any] | None:
        """The page's bounding notes as one ``crawl_error`` item (None when nothing changed)."""
        reason = self.notes.reason()
        return None if reason is None else self.error(reason)


def _kinds() -> dict[str, set[str]]:
    return {"anime": set(), "profile": set()}


@dataclass
class ParseResult:
    """Items of one page, URLs to fetch next (canonical hosts), anime/profiles seen, crawled."""

    items: list[dict[str, Any]] = field(default_factory=list)
    follow: list[str] = field(default_factory=list)
    seen: dict[str, set[str]] = field(default_factory=_kinds)
    crawled: dict[str, set[str]] = field(default_factory=_kinds)

    def see(self, urls: Iterable[str], exclude: str | None = None) -> None:
        """Record the anime/profile pages these links point at (anything else is ignored)."""
        for url in urls:
            found = canonical_or_none(url)
            if found is not None and found[1] != exclude:
                self.seen[found[0]].add(found[1])

    def mark_crawled(self, kind: Kind, canonical_url: str) -> None:
        self.crawled[kind].add(canonical_url)

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "follow": self.follow,
            "seen": {k: sorted(v) for k, v in self.seen.items()},
            "crawled": {k: sorted(v) for k, v in self.crawled.items()},
        }


Parser = Callable[[TextResponse, ParseContext], ParseResult]

_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def clean(text: str | None) -> str | None:
    """Collapse whitespace; None for nothing left."""
    if text is None:
        return None
    text = _SPACES.sub(" ", text.replace("\xa0", " ")).strip()
    return text or None


def text_of(sel: Selector | SelectorList | None) -> str | None:
    """All text under a node (or the first of a list), whitespace collapsed."""
    if sel is None:
        return None
    if isinstance(sel, SelectorList):
        if not sel:
            return None
        sel = sel[0]
    return clean(sel.xpath("string()").get())


MAX_DIGITS = 40  # longer digit runs are refused unread (bounds would refuse the value anyway)


def to_int(text: str | int | float | None) -> int | None:
    """'1,176,230' -> 1176230, '#394' -> 394, 'N/A'/'Unknown'/'' -> None.

    Not a range check (``bounds`` does that): a number too long to be real, or a non-finite
    float, comes back as ``UNREADABLE_NUMBER`` so the field's bound refuses it with a note,
    instead of a 400-digit int or an exception that would fail the whole page.
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    if isinstance(text, float):
        return int(text) if math.isfinite(text) else UNREADABLE_NUMBER
    match = _NUMBER.search(str(text)[:10_000])
    if match is None:
        return None
    number = match.group(0).replace(",", "")
    if len(number) > MAX_DIGITS:
        return UNREADABLE_NUMBER
    return int(float(number)) if "." in number else int(number)


def to_float(text: str | int | float | None) -> float | None:
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int):
        return float(text) if abs(text) < 2**1000 else math.inf
    if isinstance(text, float):
        return text
    match = _NUMBER.search(str(text)[:10_000])
    if match is None:
        return None
    number = match.group(0).replace(",", "")
    if len(number) > MAX_DIGITS:
        return -math.inf if number.startswith("-") else math.inf
    return float(number)


def content_root(response: TextResponse) -> Selector:
    """The page's main content (MAL's header/footer list unrelated anime on every page)."""
    for css in ("div#content", "div#contentWrapper"):
        found = response.css(css)
        if found:
            return found[0]
    return response.selector


def links(sel: Selector | SelectorList, response: TextResponse) -> list[str]:
    """Absolute URLs of every link under ``sel``."""
    return [response.urljoin(href) for href in sel.css("a::attr(href)").getall()]


def require(value: Any, landmark: str) -> Any:
    if value is None or value == [] or value == "":
        raise PageStructureError(f"missing landmark: {landmark}")
    return value
