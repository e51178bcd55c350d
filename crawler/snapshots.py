"""Snapshots of the sets a parent page lists, and pages that are gone (docs/data_contracts.md).

A crawl of a profile or an anime is the whole truth for the sets it lists (the anime list,
the friends, the related anime, the user recommendations) only when every page of the set was
read. The spider gives each parent crawl one ``snapshot_id``, stamps it on the set's rows, and
counts the set's pages in flight here; when the last one finished it emits one
``crawl_snapshot`` item saying whether the set was read completely. A failed page (an error
status after retries, a parse error, a damaged body), a paging cut by ``ANIMEREC_MAX_PAGES``
or a source that only ever shows part of a set (Jikan's recent list updates) leaves the
snapshot partial, and a partial snapshot deletes nothing downstream.

Pure bookkeeping: no Scrapy, no I/O, so every rule is tested without a crawl.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from animerec_assets.contracts.landing import SNAPSHOT_SETS
from crawler.items import make_item
from crawler.urls import UrlInfo, parent_of

# Page types whose rows belong to snapshot sets (set names are SNAPSHOT_SETS keys). The MAL
# API's anime page lists two sets at once: the related anime and the recommendations.
SETS_OF_PAGE_TYPE: dict[str, tuple[str, ...]] = {
    "animelist": ("user_anime",),
    "profile_friends": ("user_user",),
    "anime": ("anime_relation",),
    "anime_userrecs": ("anime_recommendation",),
    "jikan_user": ("user_anime",),
    "jikan_user_friends": ("user_user",),
    "jikan_anime": ("anime_relation",),
    "jikan_anime_recommendations": ("anime_recommendation",),
    "malapi_animelist": ("user_anime",),
    "malapi_anime": ("anime_relation", "anime_recommendation"),
}
# Jikan v4 has no user anime list: a profile shows only its recent updates, never the set.
NEVER_COMPLETE_PAGE_TYPES = frozenset({"jikan_user"})
# A parent's own page: 404 there means the profile or anime is gone.
ENTRY_PAGE_TYPES = frozenset({"profile", "anime", "jikan_user", "jikan_anime"})
# The page an entity's crawl stands on: when it fails, the anime or profile was not crawled
# (the MAL API's anime page carries what the HTML anime page does; its 404 the parser reports).
ENTITY_PAGE_TYPES = ENTRY_PAGE_TYPES | frozenset({"malapi_anime"})
# The anime list answers this (400 + {"errors": ...}) for a profile that exists but hides it.
PRIVATE_LIST_REASON = "anime list unavailable"
# Scheduler kinds by the contract's parent kinds.
SCHEDULER_KIND = {"user": "profile", "anime": "anime"}


def new_snapshot_id(canonical_url: str, started: datetime | None = None) -> str:
    """One id per parent crawl: when it started, what it crawled, and a nonce (two crawls of
    the same parent in the same microsecond still differ). Sorts by start time."""
    moment = (started or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.strftime('%Y%m%dT%H%M%S.%fZ')}~{uuid.uuid4().hex[:12]}~{canonical_url}"


def stamp(items: list[dict[str, Any]], set_name: str, snapshot_id: str) -> int:
    """Put ``snapshot_id`` on the set's rows among ``items``; returns how many there were."""
    table = SNAPSHOT_SETS[set_name][0]
    count = 0
    for item in items:
        if item.get("item_type") == table:
            item["snapshot_id"] = snapshot_id
            count += 1
    return count


def page_failed(items: list[dict[str, Any]]) -> bool:
    """A page that produced a crawl_error, or said its parent is gone (the MAL API's 404), did
    not show its part of the set."""
    return any(item.get("item_type") in ("crawl_error", "page_gone") for item in items)


def gone_reason(page_type: str, status: int, items: list[dict[str, Any]]) -> str | None:
    """``not_found`` for a parent page answering 404, ``private`` for an anime list that
    says it is unavailable (the profile page itself answered, so the user exists)."""
    if page_type in ENTRY_PAGE_TYPES and status == 404:
        return "not_found"
    if page_type == "animelist" and any(
        item.get("item_type") == "crawl_error"
        and str(item.get("reason", "")).startswith(PRIVATE_LIST_REASON)
        for item in items
    ):
        return "private"
    return None


@dataclass
class SetProgress:
    """One set of one parent crawl: pages in flight, rows seen, and whether any page fell."""

    parent_kind: str
    parent_id: str
    set_name: str
    snapshot_id: str
    source: str
    url: str
    pending: int = 0
    item_count: int = 0
    complete: bool = True


class SnapshotTracker:
    """Pages in flight per (snapshot_id, set); says when a set's last page has finished.

    ``page_requested`` before a set page is scheduled, ``page_finished`` once it was parsed or
    failed for good (a page fetched again after a damaged body is still in flight). The set
    closes when nothing is in flight; ``open_sets`` are those never closed (a page Scrapy's
    duplicate filter dropped): they stay without a snapshot, which deletes nothing.
    """

    def __init__(self) -> None:
        self.sets: dict[tuple[str, str], SetProgress] = {}

    def page_requested(
        self, snapshot_id: str, info: UrlInfo, source: str, canonical_url: str
    ) -> None:
        parent = parent_of(info)
        if parent is None:
            return
        for set_name in SETS_OF_PAGE_TYPE.get(info.page_type, ()):
            key = (snapshot_id, set_name)
            progress = self.sets.get(key)
            if progress is None:
                progress = SetProgress(*parent, set_name, snapshot_id, source, canonical_url)
                self.sets[key] = progress
            progress.pending += 1

    def page_finished(
        self,
        snapshot_id: str,
        page_type: str,
        item_counts: dict[str, int],
        *,
        ok: bool,
        cut: bool = False,
    ) -> list[SetProgress]:
        """Record one finished page (its rows per set); the sets it was the last page of."""
        closed = []
        for set_name in SETS_OF_PAGE_TYPE.get(page_type, ()):
            progress = self.sets.get((snapshot_id, set_name))
            if progress is None or progress.pending <= 0:
                continue
            progress.item_count += item_counts.get(set_name, 0)
            if not ok or cut or page_type in NEVER_COMPLETE_PAGE_TYPES:
                progress.complete = False
            progress.pending -= 1
            if progress.pending == 0:
                del self.sets[(snapshot_id, set_name)]
                closed.append(progress)
        return closed

    @property
    def open_sets(self) -> list[SetProgress]:
        return list(self.sets.values())


def snapshot_item(progress: SetProgress, crawl_date: datetime | None = None) -> dict[str, Any]:
    """The ``crawl_snapshot`` row that closes a set."""
    return make_item(
        "crawl_snapshot",
        crawl_date=(crawl_date or datetime.now(UTC)).astimezone(UTC).isoformat(),
        source=progress.source,
        url=progress.url,
        parent_kind=progress.parent_kind,
        parent_id=progress.parent_id,
        set_name=progress.set_name,
        snapshot_id=progress.snapshot_id,
        complete=int(progress.complete),
        item_count=progress.item_count,
    )


def gone_item(
    info: UrlInfo, reason: str, status: int | None, source: str, crawl_date: datetime | None = None
) -> dict[str, Any] | None:
    """The ``page_gone`` row for a parent that is no longer there (None for other pages)."""
    parent = parent_of(info)
    if parent is None or info.canonical is None:
        return None
    return make_item(
        "page_gone",
        crawl_date=(crawl_date or datetime.now(UTC)).astimezone(UTC).isoformat(),
        source=source,
        url=info.canonical,
        parent_kind=parent[0],
        parent_id=parent[1],
        reason=reason,
        status_code=status,
    )
