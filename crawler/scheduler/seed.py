"""The seeding crawl: random anime / profile URLs from MAL's listing pages into the scheduler.

A fresh scheduler database is empty, and the spiders only discover URLs linked from pages they
crawl. Seeding fetches a few listing pages (the top-anime ranking at random offsets, the
users listing) and inserts every canonical anime / profile URL they link to, untouched if
already known. It does not crawl those pages: the scheduler will hand them out.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from crawler.scheduler.core import CrawlScheduler
from crawler.scheduler.urls import KINDS, Kind, canonicalize, check_kind

TOP_ANIME_PAGE_SIZE = 50
MAX_TOP_ANIME_OFFSET = 20_000
USER_AGENT = "animerec-seeder/0.1 (+https://github.com/animerec)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_HREF = re.compile(r"""href\s*=\s*["']([^"'<>\s]{1,300})["']""", re.IGNORECASE)


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


def listing_paths(kind: Kind, pages: int, rng: random.Random) -> list[str]:
    """Which listing pages to fetch: random ranking offsets for anime, the users list for
    profiles (MAL shows different recently-online users on each visit)."""
    if pages < 1:
        raise ValueError(f"pages must be >= 1, got {pages}")
    if kind == "anime":
        offsets = range(0, MAX_TOP_ANIME_OFFSET + 1, TOP_ANIME_PAGE_SIZE)
        chosen = sorted(rng.sample(offsets, min(pages, len(offsets))))
        return [f"/topanime.php?limit={offset}" for offset in chosen]
    return ["/users.php"] * pages


def links_in(html: str) -> dict[Kind, list[str]]:
    """Canonical anime / profile URLs linked from a page, per kind, first-seen order."""
    found: dict[Kind, dict[str, None]] = {kind: {} for kind in KINDS}
    for href in _HREF.findall(html):
        path = href.split("://", 1)[-1]
        path = path[path.find("/") :] if "/" in path else path
        if not path.startswith(("/anime/", "/profile/")):
            continue
        try:
            kind, url = canonicalize("myanimelist.net" + path)
        except ValueError:
            continue
        found[kind][url] = None
    return {kind: list(urls) for kind, urls in found.items()}


def _fetch(client: httpx.Client, url: str, retries: int = 3) -> str:
    delay = 2.0
    for attempt in range(retries + 1):
        response = client.get(url)
        if response.status_code in RETRY_STATUSES and attempt < retries:
            time.sleep(delay)
            delay *= 2
            continue
        response.raise_for_status()
        return response.text
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
) -> SeedResult:
    """Fetch ``pages`` listing pages from ``base_url`` (MAL or the replica), insert their links."""
    checked = check_kind(kind)
    paths = listing_paths(checked, pages, rng or random.Random())
    collected: dict[Kind, dict[str, None]] = {k: {} for k in KINDS}
    errors: list[str] = []
    headers = {"User-Agent": USER_AGENT}
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s) as client:
        for index, path in enumerate(paths):
            if index and delay_s > 0:
                time.sleep(delay_s)  # polite: one listing page at a time
            try:
                html = _fetch(client, path)
            except (httpx.HTTPError, RuntimeError) as error:
                errors.append(f"{path}: {error}")
                continue
            for found_kind, urls in links_in(html).items():
                collected[found_kind].update(dict.fromkeys(urls))
    inserted = {k: scheduler.add_urls(k, list(urls)) for k, urls in collected.items() if urls}
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
