"""Crawl items become landing frames with the crawler's columns, order and types."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from animerec_assets.contracts.landing import (
    LANDING_COLUMNS,
    LANDING_TABLE_COLUMNS,
    QUARANTINE_TABLE,
)
from animerec_assets.lib.landing import (
    crawl_hour_value,
    items_to_landing_frames,
    landing_metadata,
    quarantine_row,
    read_jsonl_items,
)
from animerec_assets.lib.landing_tables import append_landing

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
    assert set(frames) == set(LANDING_TABLE_COLUMNS) == {*LANDING_COLUMNS, QUARANTINE_TABLE}
    for name, frame in frames.items():
        assert list(frame.columns) == [c for c, _ in LANDING_TABLE_COLUMNS[name]]
    assert frames[QUARANTINE_TABLE].empty
    anime = frames["anime"]
    assert anime.loc[0, "anime_id"] == 6 and str(anime["anime_id"].dtype) == "Int64"
    assert anime.loc[0, "score"] == pytest.approx(8.2)
    assert anime.loc[0, "genres"] == ["Action"]
    assert anime.loc[0, "crawl_hour"] == "2026-11-23 05:00:00"
    assert pd.isna(anime.loc[0, "num_episodes"])  # missing on the page → NULL
    assert frames["review"].empty and list(frames["review"].columns)


def test_uncastable_rows_go_to_quarantine_and_the_rest_lands(tmp_path):
    url = "https://myanimelist.net/anime/1"
    good = {"item_type": "anime_stats", "anime_id": 2, "watching_count": 5, "url": url}
    bad = [
        {"item_type": "anime_stats", "anime_id": 1, "watching_count": 10**22, "url": url},
        {"item_type": "anime_stats", "anime_id": 1, "watching_count": "n/a", "url": url},
        {"item_type": "anime_stats", "anime_id": 1.5, "url": url},
        {"item_type": "anime_stats", "anime_id": True, "url": url},
        {"item_type": "anime", "anime_id": 1, "score": float("inf"), "url": url},
        {"item_type": "anime", "anime_id": 1, "score": 10**400, "url": url},
        {"item_type": "anime", "anime_id": 1, "title": {"a": 1}, "url": url},
        {"item_type": "anime", "anime_id": 1, "title": "\ud800", "url": url},
        {"item_type": "anime", "anime_id": 1, "genres": "Action", "url": url},
        {"item_type": "anime", "anime_id": 1, "genres": ["Action", 3.5, None], "url": url},
        {"item_type": "user", "user_id": "x", "favorite_anime_ids": [1, 2**64], "url": url},
        {"item_type": "spaceship", "url": url},
        {"item_type": None},
    ]
    frames = items_to_landing_frames([good, *bad], HOUR)
    assert frames["anime_stats"]["anime_id"].tolist() == [2]
    assert frames["anime"].empty
    quarantine = frames[QUARANTINE_TABLE]
    assert len(quarantine) == len(bad)
    by_raw = dict(zip(quarantine["raw"], quarantine["reason"], strict=True))
    reasons = [by_raw[quarantine_row(item, "")["raw"]] for item in bad]  # whole row, as JSON
    assert reasons[0] == "watching_count: outside BIGINT's range"
    assert "text that is not a number" in reasons[1]
    assert "not a whole number" in reasons[2] and "boolean" in reasons[3]
    assert reasons[4] == reasons[5] == "score: not a finite number"
    assert reasons[6] == "title: a dict is not text" and "surrogate" in reasons[7]
    assert reasons[8] == "genres: a str is not a list"
    assert reasons[9] == "genres: list entry: a float is not text"
    assert reasons[10] == "favorite_anime_ids: list entry: outside BIGINT's range"
    assert reasons[-2:] == ["item_type: not a landing table"] * 2
    raw = json.loads(quarantine_row(bad[0], "")["raw"])
    assert raw["watching_count"] == str(10**22)  # exact, and strict JSON
    assert json.loads(quarantine_row(bad[4], "")["raw"])["score"] == "inf"
    assert (quarantine["crawl_hour"] == HOUR).all()
    assert landing_metadata(frames, "anime") == {"rows": 0, "quarantined": 6}
    assert landing_metadata(frames, QUARANTINE_TABLE) == {"rows": 13, "quarantined": 13}
    # every frame, the quarantine included, lands in a real DuckDB
    import duckdb

    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        for name, frame in frames.items():
            append_landing(connection, name, frame)
        assert connection.execute("SELECT count(*) FROM landing.quarantine").fetchall() == [(13,)]


def test_big_ids_stay_exact():
    big = 2**62 + 1  # float64 would round it
    frames = items_to_landing_frames(
        [{"item_type": "anime", "anime_id": big}, {"item_type": "anime", "anime_id": None}], HOUR
    )
    assert frames["anime"]["anime_id"].tolist()[0] == big


def test_garbage_numbers_become_null_not_errors():
    frames = items_to_landing_frames(
        [{"item_type": "anime_stats", "anime_id": 1, "watching_count": None}], HOUR
    )
    assert pd.isna(frames["anime_stats"].loc[0, "watching_count"])


def test_truncated_jsonl_line_is_skipped(tmp_path):
    good = {"item_type": "anime", "anime_id": 1}
    path = tmp_path / "anime.jsonl"
    path.write_text(json.dumps(good) + "\n" + '{"item_type": "an')
    assert read_jsonl_items([path]) == [good]
