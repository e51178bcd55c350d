"""The seeding crawl: random anime / profile URLs from MAL's listing pages into the scheduler.

A fresh scheduler database is empty, and the spiders only discover URLs linked from pages they
crawl. Seeding fetches a few listing pages (the top-anime ranking at random offsets, the
users listing) and inserts every canonical anime / profile URL they link to, untouched if
already known. It does not crawl those pages: the scheduler will hand them out.

Links are read by the same listing parser the ``seed`` spider uses (``crawler.parsers``), so the
two ways of seeding can never disagree on what a listing page links to. This module only adds
a plain HTTP fetch, so the web service can seed synchronously without starting Scrapy.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from crawler.middlewares import backoff_seconds, retry_after_seconds
from crawler.parsers import ParseContext, build_response
from crawler.parsers.router import PARSERS
from crawler.scheduler.core import CrawlScheduler
from crawler.scheduler.urls import KINDS, Kind, canonicalize, check_kind
from crawler.urls import mal_url, parse_url

TOP_ANIME_PAGE_SIZE = 50
MAX_TOP_ANIME_OFFSET = 20_000
USER_AGENT = "animerec-seeder/0.1 (+https://github.com/animerec)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_BACKOFF_BASE_S = 2.0
RETRY_MAX_WAIT_S = 120.0
LISTING_PAGE_TYPES = frozenset({"top_anime", "users_listing", "club"})


@dataclass(frozen=True)
class SeedResult:
    kind: str
    pages: int
    found: dict[str, int]
    inserted: dict[str, int]
    errors: list[str]

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "pages": self.pages,
            "found": self.found,
            "inserted": self.inserted,
            "errors": self.errors,
        }


def listing_paths(
    kind: Kind, pages: int, rng: random.Random, max_offset: int = MAX_TOP_ANIME_OFFSET
) -> list[str]:
    """Which listing pages to fetch: random ranking offsets (up to ``max_offset``, about the
    size of the catalogue) for anime, the users list for profiles (MAL shows different
    recently-online users on each visit)."""
    if pages < 1:
        raise ValueError(f"pages must be >= 1, got {pages}")
    if max_offset < 0:
        raise ValueError(f"max_offset must be >= 0, got {max_offset}")
    if kind == "anime":
        offsets = range(0, max_offset + 1, TOP_ANIME_PAGE_SIZE)
        chosen = sorted(rng.sample(offsets, min(pages, len(offsets))))
        return [f"/topanime.php?limit={offset}" for offset in chosen]
    return ["/users.php"] * pages


def listing_links(url: str, body: bytes | str) -> dict[Kind, list[str]]:
    """Canonical anime / profile URLs a listing page links to, per kind (sorted).

    ``url`` is where the page came from (any host); it must be a listing page. The spider's
    listing parser reads the links; the truncation net of ``parse_response`` is left out on
    purpose, since every link that did arrive is a good seed.
    """
    info = parse_url(url)
    if info is None or info.page_type not in LISTING_PAGE_TYPES:
        raise ValueError(f"not a listing page (top anime, users, club): {url[:120]!r}")
    payload = body.encode("utf-8") if isinstance(body, str) else body
    response = build_response(url, payload)
    context = ParseContext(crawl_date=datetime.now(UTC), info=info, page_url=url)
    seen = PARSERS[info.page_type](response, context).seen
    return {kind: sorted(seen.get(kind, ())) for kind in KINDS}


def links_in(html: str) -> dict[Kind, list[str]]:
    """Canonical anime / profile URLs linked from a listing page's HTML, per kind."""
    return listing_links(mal_url("/users.php"), html)


def _fetch(client: httpx.Client, path: str, retries: int = 3) -> httpx.Response:
    """GET with retries on overload, waiting as long as ``Retry-After`` says (or backing off)."""
    for attempt in range(retries + 1):
        response = client.get(path)
        if response.status_code in RETRY_STATUSES and attempt < retries:
            told = retry_after_seconds(response.headers.get("Retry-After"))
            wait = (
                min(told, RETRY_MAX_WAIT_S)
                if told is not None
                else backoff_seconds(attempt, RETRY_BACKOFF_BASE_S, RETRY_MAX_WAIT_S)
            )
            time.sleep(wait)
            continue
        response.raise_for_status()
        return response
    raise RuntimeError("unreachable")


def seed_scheduler(
    scheduler: CrawlScheduler,
    kind: str,
    pages: int,
    base_url: str,
    *,
    delay_s: float = 1.0,
    rng: random.Random | None = None,
    timeout_s: float = 30.0,
    max_offset: int = MAX_TOP_ANIME_OFFSET,
) -> SeedResult:
    """Fetch ``pages`` listing pages from ``base_url`` (MAL or the replica), insert their links."""
    checked = check_kind(kind)
    paths = listing_paths(checked, pages, rng or random.Random(), max_offset)
    collected: dict[Kind, dict[str, None]] = {k: {} for k in KINDS}
    errors: list[str] = []
    headers = {"User-Agent": USER_AGENT}
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s) as client:
        for index, path in enumerate(paths):
            if index and delay_s > 0:
                time.sleep(delay_s)  # polite: one listing page at a time
            try:
                response = _fetch(client, path)
                found = listing_links(str(response.url), response.content)
            except (httpx.HTTPError, RuntimeError, ValueError) as error:
                errors.append(f"{path}: {error}")
                continue
            for found_kind, urls in found.items():
                collected[found_kind].update(dict.fromkeys(urls))
    inserted: dict[str, int] = {
        k: scheduler.add_urls(k, list(urls)) for k, urls in collected.items() if urls
    }
    return SeedResult(
        kind=checked,
        pages=len(paths),
        found={k: len(urls) for k, urls in collected.items()},
        inserted=inserted,
        errors=errors,
    )


def seed_from_lines(scheduler: CrawlScheduler, lines: Iterable[str]) -> dict[str, int]:
    """Seed from pasted URLs / usernames (one per line); all must be valid or none is added."""
    by_kind: dict[Kind, list[str]] = {k: [] for k in KINDS}
    for line in lines:
        if line.strip():
            kind, url = canonicalize(line.strip())
            by_kind[kind].append(url)
    return {kind: scheduler.add_urls(kind, urls) for kind, urls in by_kind.items()}
