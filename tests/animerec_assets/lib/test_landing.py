"""Crawl items become landing frames with the crawler's columns, order and types."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from animerec_assets.contracts.landing import LANDING_COLUMNS
from animerec_assets.lib.landing import (
    LandingItemError,
    crawl_hour_value,
    items_to_landing_frames,
    read_jsonl_items,
)

HOUR = crawl_hour_value("2026-11-23T05:00:00")


def test_every_landing_table_gets_a_frame_with_contract_columns():
    frames = items_to_landing_frames(
        [
            {
                "item_type": "anime",
                "anime_id": "6",
                "title": "Trigun",
                "genres": ["Action"],
                "score": "8.2",
                "url": "https://myanimelist.net/anime/6",
            },
            {"item_type": "user_anime", "user_id": "Xinil", "anime_id": 1, "score": 10},
        ],
        HOUR,
    )
    assert set(frames) == set(LANDING_COLUMNS)
    for name, frame in frames.items():
        assert list(frame.columns) == [c for c, _ in LANDING_COLUMNS[name]]
    anime = frames["anime"]
    assert anime.loc[0, "anime_id"] == 6 and str(anime["anime_id"].dtype) == "Int64"
    assert anime.loc[0, "score"] == pytest.approx(8.2)
    assert anime.loc[0, "genres"] == ["Action"]
    assert anime.loc[0, "crawl_hour"] == "2026-11-23 05:00:00"
    assert pd.isna(anime.loc[0, "num_episodes"])  # missing on the page → NULL
    assert frames["review"].empty and list(frames["review"].columns)


def test_garbage_numbers_become_null_not_errors():
    frames = items_to_landing_frames(
        [{"item_type": "anime_stats", "anime_id": 1, "watching_count": "n/a"}], HOUR
    )
    assert pd.isna(frames["anime_stats"].loc[0, "watching_count"])


def test_unknown_item_type_is_refused():
    with pytest.raises(LandingItemError, match="item_type"):
        items_to_landing_frames([{"item_type": "spaceship"}], HOUR)


def test_truncated_jsonl_line_is_skipped(tmp_path):
    good = {"item_type": "anime", "anime_id": 1}
    path = tmp_path / "anime.jsonl"
    path.write_text(json.dumps(good) + "\n" + '{"item_type": "an')
    assert read_jsonl_items([path]) == [good]
