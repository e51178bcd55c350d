"""Online metrics as tables and charts: ordering, flags, the offline/online join."""

from __future__ import annotations

import pandas as pd
import pytest

from animerec_assets.lib.feedback.metrics import (
    feedback_table_sql,
    newest_versions,
    online_chart_png,
    side_by_side,
    side_by_side_markdown,
    side_by_side_png,
    turned_down_anime,
    turned_down_markdown,
    versions_markdown,
)

PNG = b"\x89PNG\r\n\x1a\n"


def by_version(*versions: tuple[str, str, float]) -> pd.DataFrame:
    """Rows of feedback_by_model_version: (version, last event time, like rate)."""
    return pd.DataFrame(
        [
            {
                "model_version": version,
                "sessions": 2,
                "cards": 10,
                "likes": int(like * 10),
                "dislikes": 1,
                "hides": 0,
                "mal_clicks": 2,
                "more_requests": 1,
                "last_event_time": pd.Timestamp(last),
                "like_rate": like,
                "not_for_me_rate": 0.1,
                "hide_rate": 0.0,
                "mal_click_rate": 0.2,
                "picks_per_session": 5.0,
            }
            for version, last, like in versions
        ]
    )


def test_newest_versions_are_the_last_with_feedback_oldest_first() -> None:
    table = by_version(*[(f"v{i}", f"2026-11-{10 + i}", 0.1 * i) for i in range(7)])
    assert newest_versions(table.sample(frac=1, random_state=0), last=3)[
        "model_version"
    ].tolist() == ["v4", "v5", "v6"]


def test_anime_often_turned_down_need_enough_cards_and_a_high_rate() -> None:
    dislikes = pd.DataFrame(
        {
            "anime_id": [1, 2, 3, 4],
            "reason_type": ["popular", "popular", "similar_to", "content"],
            "cards": [30, 5, 40, 25],
            "dislikes": [20, 5, 8, 15],
            "hides": [1, 0, 0, 2],
            "not_for_me_rate": [20 / 30, 1.0, 0.2, 0.6],
        }
    )
    flagged = turned_down_anime(dislikes, min_cards=20, min_rate=0.5)
    assert flagged[["anime_id", "reason_type"]].values.tolist() == [[1, "popular"], [4, "content"]]
    assert "| 1 | popular | 30 | 20 | 1 | 66.7% |" in turned_down_markdown(flagged)
    assert turned_down_anime(dislikes.iloc[:0], 20, 0.5).empty


def test_offline_versions_get_the_online_metrics_of_the_same_version() -> None:
    offline = pd.DataFrame(
        {
            "model_version": ["v1", "v2", "run-abc (not published yet)"],
            "recall@20": [0.30, 0.32, 0.33],
            "ndcg@20": [0.20, 0.21, 0.22],
        }
    )
    table = side_by_side(offline, by_version(("v1", "2026-11-20", 0.4), ("v9", "2026-11-21", 0.9)))
    assert table["like_rate"].tolist()[0] == 0.4
    assert table["like_rate"].isna().tolist() == [False, True, True]
    text = side_by_side_markdown(table)
    assert "| v1 | 0.30 | 0.20 | 10 | 5.00 | 40.0% |" in text
    assert "| v2 | 0.32 | 0.21 | – | – | – |" in text
    assert side_by_side_png(table).startswith(PNG)
    assert side_by_side(offline, pd.DataFrame())["cards"].isna().all()


def test_tables_escape_what_a_client_chose_and_charts_are_png() -> None:
    table = by_version(("v|1", "2026-11-20", 0.4))
    assert "v\\|1" in versions_markdown(table)
    reasons = table.assign(reason_type="popular")
    assert online_chart_png(table, reasons).startswith(PNG)
    assert online_chart_png(table, reasons.iloc[:0]).startswith(PNG)


def test_only_feedback_tables_are_selected() -> None:
    assert feedback_table_sql("duckdb", "feedback_by_reason") == (
        'select * from feedback."feedback_by_reason"'
    )
    assert "`p.feedback.feedback_by_reason`" in feedback_table_sql(
        "bigquery", "feedback_by_reason", "p"
    )
    with pytest.raises(ValueError):
        feedback_table_sql("duckdb", "user_anime")
