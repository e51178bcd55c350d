"""Crawl items: one flat dict per landing-table row.

What each item type carries is the landing contract (``animerec_assets.contracts.landing``,
docs/data_contracts.md). Items are plain dicts (Scrapy accepts them as they are); ``make_item``
builds one and refuses unknown types or fields, so a typo in a parser fails a test instead of
adding a column.
"""

from __future__ import annotations

import hashlib
from typing import Any, TypedDict

from animerec_assets.contracts.landing import (
    COMMON_FIELDS,
    ITEM_FIELDS,
    ITEM_KEYS,
    LANDING_COLUMNS,
    PARTITION_COLUMN,
    SCORE_COUNT_FIELDS,
    SOURCES,
    USER_ANIME_STATUSES,
    ColumnType,
    ItemType,
    Source,
)

__all__ = [
    "COMMON_FIELDS",
    "ITEM_FIELDS",
    "ITEM_KEYS",
    "LANDING_COLUMNS",
    "PARTITION_COLUMN",
    "SCORE_COUNT_FIELDS",
    "USER_ANIME_STATUSES",
    "ColumnType",
    "CrawlItem",
    "ItemSchemaError",
    "ItemType",
    "Source",
    "item_id",
    "landing_row",
    "make_item",
]

_ALLOWED: dict[str, frozenset[str]] = {
    item_type: frozenset(name for name, _ in fields) for item_type, fields in ITEM_FIELDS.items()
}


class ItemSchemaError(ValueError):
    """An item type or field the contract does not define."""


class CrawlItem(TypedDict, total=False):
    """The shape every item shares; the rest of its keys come from ``ITEM_FIELDS``."""

    item_type: ItemType
    crawl_date: str
    source: Source
    url: str


def make_item(
    item_type: str, *, crawl_date: str, source: str, url: str, **fields: Any
) -> dict[str, Any]:
    """Build one item; fields the page does not show default to None."""
    allowed = _ALLOWED.get(item_type)
    if allowed is None:
        raise ItemSchemaError(f"unknown item_type {item_type!r}; known: {sorted(_ALLOWED)}")
    unknown = set(fields) - allowed
    if unknown:
        raise ItemSchemaError(f"{item_type}: fields not in the contract: {sorted(unknown)}")
    if source not in SOURCES:
        raise ItemSchemaError(f"source must be one of {SOURCES}, got {source!r}")
    item: dict[str, Any] = {
        "item_type": item_type,
        "crawl_date": crawl_date,
        "source": source,
        "url": url,
    }
    for name, _ in ITEM_FIELDS[item_type]:
        item[name] = fields.get(name)
    return item


def item_id(url: str, crawl_date: str, index: int) -> str:
    """An item's stable identity: its page, when that page was fetched, and its place among the
    page's items. Given once, so every copy of the item (a resent batch) carries the same id."""
    digest = hashlib.sha1(f"{url}\x1f{crawl_date}\x1f{int(index)}".encode(), usedforsecurity=False)
    return digest.hexdigest()[:32]


def landing_row(item: dict[str, Any], crawl_hour: str | None = None) -> dict[str, Any]:
    """The item as a row of its landing table (column order of ``LANDING_COLUMNS``)."""
    item_type = item.get("item_type")
    if item_type not in LANDING_COLUMNS:
        raise ItemSchemaError(f"not a crawl item (item_type={item_type!r})")
    row = {name: item.get(name) for name, _ in LANDING_COLUMNS[item_type]}
    row["crawl_hour"] = crawl_hour if crawl_hour is not None else item.get("crawl_hour")
    return row
