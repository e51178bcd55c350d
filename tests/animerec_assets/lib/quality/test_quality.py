"""The Great Expectations suites as pure functions: a frame in, a readable report out."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from animerec_assets.lib.quality import SUITES, UnknownTableError, derive_rule_columns, validate

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def user_anime(**overrides) -> pd.DataFrame:
    rows = {
        "user_key": ["alice", "alice", "bob"],
        "user_id": ["Alice", "Alice", "bob"],
        "anime_id": [1, 2, 1],
        "score": [9, None, 7],
        "status": ["completed", "plan_to_watch", "dropped"],
        "progress": [26, 0, 3],
        "last_interaction_date": pd.to_datetime(["2024-01-01", None, "2024-02-01"]),
        "last_interaction_date_raw": ["2024-01-01", None, "2024-02-01"],
    }
    rows.update(overrides)
    return pd.DataFrame(rows)


def failed(report) -> dict[tuple[str, ...], object]:
    return {failure.columns: failure for failure in report.failures}


def test_clean_staging_passes() -> None:
    report = validate("stg_user_anime", user_anime(), known_anime_ids=[1, 2], now=NOW)
    assert report.success, report.summary()
    assert report.evaluated == len(SUITES["stg_user_anime"])


def test_each_kind_of_bad_row_is_named_with_its_row() -> None:
    bad = user_anime(
        anime_id=[1, 1, 999],  # duplicate key (alice, 1) and an anime nobody crawled
        score=[42, None, 7],
        status=["completed", "rewatching", "dropped"],
        progress=[26, -1, 3],
    )
    report = validate("stg_user_anime", bad, known_anime_ids=[1, 2], now=NOW)
    assert not report.success
    failures = failed(report)
    assert failures[("score",)].sample_rows == [{"user_id": "Alice", "anime_id": 1, "score": 42}]
    assert failures[("status",)].sample_rows[0]["status"] == "rewatching"
    assert failures[("progress",)].unexpected_count == 1
    assert failures[("user_key", "anime_id")].unexpected_count == 2
    unknown = failures[("_rule__anime_id_known",)]
    assert unknown.sample_rows == [{"user_id": "bob", "anime_id": 999}]
    assert "not a crawled anime" in report.summary()
    assert report.to_metadata()["expectations_failed"] == len(report.failures)


def test_malformed_and_future_dates_fail_but_a_rare_bad_date_is_tolerated() -> None:
    bad = user_anime(
        last_interaction_date=pd.to_datetime([None, None, "2030-01-01"]),
        last_interaction_date_raw=["32/13/2020", None, "2030-01-01"],
    )
    failures = failed(validate("stg_user_anime", bad, known_anime_ids=[1, 2], now=NOW))
    parse = failures[("_rule__last_interaction_date_parses",)]
    assert parse.sample_rows[0]["last_interaction_date_raw"] == "32/13/2020"
    assert ("_rule__last_interaction_date_not_in_future",) in failures

    # 1 unparseable date in 200 is under the 1 % tolerance: the gate lets it through
    many = pd.concat([user_anime()] * 67, ignore_index=True).iloc[:200]
    many["anime_id"] = range(200)
    many.loc[5, "last_interaction_date_raw"] = "garbage"
    many.loc[5, "last_interaction_date"] = pd.NaT
    report = validate("stg_user_anime", many, known_anime_ids=range(200), now=NOW)
    assert report.success, report.summary()


def test_status_counts_must_sum_to_total() -> None:
    stats = pd.DataFrame({
        "anime_id": [1, 2, 3],
        "watching_count": [1, 1, None], "completed_count": [2, 2, None],
        "on_hold_count": [0, 0, None], "dropped_count": [0, 0, None],
        "plan_to_watch_count": [1, 1, None], "total_count": [4, 5, None],
    })  # fmt: skip
    rules = derive_rule_columns(stats)
    assert rules["_rule__status_counts_sum_to_total"].tolist() == [True, False, True]
    report = validate("stg_anime_stats", stats)
    assert [f.sample_rows[0]["anime_id"] for f in report.failures] == [2]
    assert any("score_10_count" in reason for reason in report.skipped)


def test_missing_columns_are_reported_as_skipped_and_unknown_tables_refused() -> None:
    report = validate("stg_user_anime", user_anime().drop(columns=["progress"]), now=NOW)
    assert any(reason.startswith("ColumnValuesToBeBetween(progress)") for reason in report.skipped)
    with pytest.raises(UnknownTableError):
        validate("no_such_table", user_anime())


def test_processed_flags_are_zero_or_one() -> None:
    pairs = pd.DataFrame(
        {"animeA": [1, 1], "animeB": [2, 3], "recommendation": [1, 2], "related": [0, 1]}
    )
    report = validate("anime_anime", pairs)
    assert [f.columns for f in report.failures] == [("recommendation",)]


def test_a_crawl_still_catching_up_passes_but_a_flood_of_unknown_anime_blocks() -> None:
    n = 100
    rows = user_anime(
        user_id=[f"user{i}" for i in range(n)],
        user_key=[f"user{i}" for i in range(n)],
        anime_id=[1] * 98 + [500, 501],  # two entries name anime not crawled yet
        score=[7] * n,
        status=["completed"] * n,
        progress=[1] * n,
        last_interaction_date=pd.to_datetime(["2024-01-01"] * n),
        last_interaction_date_raw=["2024-01-01"] * n,
    )
    assert validate("stg_user_anime", rows, known_anime_ids=[1], now=NOW).success
    flood = rows.assign(anime_id=[1] * 50 + list(range(1000, 1050)))
    assert not validate("stg_user_anime", flood, known_anime_ids=[1], now=NOW).success
