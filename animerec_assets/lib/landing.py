"""Crawl items → landing-table frames that match the crawler's declared contract.

The warehouse creates a landing table from the first frame it is given and appends later
frames by position, so every frame must carry exactly the columns of the landing contract
(``animerec_assets.contracts.landing.LANDING_COLUMNS``), in that order, with stable types —
even when a crawl produced no row of that kind, or a page lacked a field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from animerec_assets.contracts.landing import LANDING_COLUMNS

CRAWL_HOUR_FORMAT = "%Y-%m-%d %H:%M:%S"

_PANDAS_DTYPES = {"VARCHAR": "string", "BIGINT": "Int64", "DOUBLE": "float64"}


class LandingItemError(ValueError):
    """An item that cannot be placed in any landing table."""


def crawl_hour_value(partition_start: pd.Timestamp | str) -> str:
    """The ``crawl_hour`` column value for a partition: its start, as DuckDB compares it."""
    return pd.Timestamp(partition_start).strftime(CRAWL_HOUR_FORMAT)


def _conform_column(values: pd.Series, sql_type: str) -> pd.Series:
    if sql_type.endswith("[]"):
        # Lists stay Python lists (None where the page had none) so the warehouse stores arrays.
        return values.map(lambda v: list(v) if isinstance(v, list | tuple) else None).astype(object)
    if sql_type == "BIGINT":
        return pd.to_numeric(values, errors="coerce").round().astype("Int64")
    if sql_type == "DOUBLE":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    return values.map(lambda v: None if v is None or v is pd.NA else str(v)).astype("string")


def conform_to_landing(item_type: str, frame: pd.DataFrame, crawl_hour: str) -> pd.DataFrame:
    """``frame`` with exactly the landing columns of ``item_type``, in order, typed."""
    if item_type not in LANDING_COLUMNS:
        raise LandingItemError(f"unknown item_type {item_type!r}")
    columns: dict[str, pd.Series] = {}
    for name, sql_type in LANDING_COLUMNS[item_type]:
        if name == "crawl_hour":
            values = pd.Series([crawl_hour] * len(frame), index=frame.index, dtype="string")
        elif name in frame.columns:
            values = _conform_column(frame[name], sql_type)
        else:
            values = _conform_column(pd.Series([None] * len(frame), index=frame.index), sql_type)
        columns[name] = values
    return pd.DataFrame(columns).reset_index(drop=True)


def items_to_landing_frames(
    items: Iterable[Mapping[str, Any]], crawl_hour: str
) -> dict[str, pd.DataFrame]:
    """Group items by ``item_type`` into conformed frames; every landing table gets a frame."""
    grouped: dict[str, list[Mapping[str, Any]]] = {name: [] for name in LANDING_COLUMNS}
    for item in items:
        item_type = item.get("item_type")
        if item_type not in grouped:
            raise LandingItemError(f"item without a known item_type: {item_type!r}")
        grouped[str(item_type)].append(item)
    return {
        name: conform_to_landing(name, pd.DataFrame.from_records(rows), crawl_hour)
        for name, rows in grouped.items()
    }


def read_jsonl_items(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every item in the given JSON lines files (a crawl's output), in order.

    A line that is not valid JSON (a crawl killed mid-write) is skipped, not fatal: the item it
    held is recrawled later because its URL was never marked crawled.
    """
    items: list[dict[str, Any]] = []
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                line = line.strip()
                if not line:
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(item, dict):
                    items.append(item)
    return items
