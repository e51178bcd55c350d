"""crawler.items: the contract's item types, builders and landing schemas."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.items import (
    ITEM_FIELDS,
    ITEM_KEYS,
    LANDING_COLUMNS,
    ItemSchemaError,
    landing_row,
    make_item,
)

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "data_contracts.md"


def test_item_types_match_the_data_contract_table() -> None:
    # only the landing section: the page holds other contracts' tables too
    text = CONTRACT.read_text().split("## Crawl items = landing tables", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|$", text, flags=re.M)
    documented = {name: fields for name, _, fields in rows}
    assert set(documented) == set(ITEM_FIELDS)
    for item_type, fields_text in documented.items():
        names = [n for n, _ in ITEM_FIELDS[item_type]]
        if item_type == "crawl_error":
            names = ["url", *names]
        for name in re.findall(r"\b([a-zA-Z_]\w*)\b(?:\[\])?", fields_text.split("(")[0]):
            if (name.startswith("score_") and name.endswith("_count")) or name == "score_01_count":
                continue
            assert name in names or name in {"e", "g", "raw"}, (item_type, name)


def test_landing_columns_wrap_item_fields() -> None:
    for item_type, columns in LANDING_COLUMNS.items():
        names = [name for name, _ in columns]
        assert names[:3] == ["crawl_date", "source", "url"]
        assert names[-1] == "crawl_hour"
        assert len(names) == len(set(names)), item_type
        assert set(ITEM_KEYS[item_type]) <= set(names)
    assert len(ITEM_FIELDS["anime_stats"]) == 18  # id, 6 status counts, 10 scores, favorites


def test_make_item_fills_missing_fields_and_refuses_unknown_ones() -> None:
    item = make_item("anime_pics", crawl_date="2026-01-01T00:00:00+00:00", source="mal", url="u")
    assert item == {
        "item_type": "anime_pics",
        "crawl_date": "2026-01-01T00:00:00+00:00",
        "source": "mal",
        "url": "u",
        "anime_id": None,
        "pics": None,
    }
    with pytest.raises(ItemSchemaError, match="not in the contract"):
        make_item("anime", crawl_date="d", source="mal", url="u", titel="typo")
    with pytest.raises(ItemSchemaError, match="unknown item_type"):
        make_item("manga", crawl_date="d", source="mal", url="u")
    with pytest.raises(ItemSchemaError, match="source"):
        make_item("anime", crawl_date="d", source="anilist", url="u")


def test_landing_row_orders_columns_and_adds_the_partition() -> None:
    item = make_item("user_user", crawl_date="d", source="mal", url="u", userA="a", userB="b")
    row = landing_row(item, crawl_hour="2026-01-01-00:00")
    assert list(row) == [name for name, _ in LANDING_COLUMNS["user_user"]]
    assert row["crawl_hour"] == "2026-01-01-00:00" and "item_type" not in row
    with pytest.raises(ItemSchemaError):
        landing_row({"foo": 1})
