"""`dbt build` for real on a DuckDB file: landing fixtures in, the five processed tables out."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from animerec_assets.contracts.feedback import (
    DEFAULT_RETENTION_DAYS,
    FEEDBACK_LANDING_COLUMNS,
    FEEDBACK_TABLE,
)
from animerec_assets.contracts.landing import LANDING_COLUMNS
from animerec_assets.contracts.processed import PROCESSED_COLUMNS as CONTRACT_COLUMNS
from animerec_assets.lib.landing_tables import append_landing, create_feedback_table

REPO_ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = REPO_ROOT / ".." / "shared" / "ARCHITECTURE.md"

# The contract: the processed schemas (also checked against the shared design notes there).
PROCESSED_COLUMNS = {table: list(columns) for table, columns in CONTRACT_COLUMNS.items()}
# added to the published tables after the original design, always at their end
EXTRA_COLUMNS = {"anime": ["rating"]}


def crawl(hour: int, day: int = 1) -> dict[str, str]:
    return {
        "crawl_date": f"2024-05-{day:02d}T{hour:02d}:00:00+00:00",
        "crawl_hour": f"2024-05-{day:02d}-{hour:02d}:00",
        "source": "mal",
    }


def write_first_crawls(connection: duckdb.DuckDBPyConnection) -> None:
    """Two anime (one crawled twice), one user crawled under two spellings, a review, links."""
    append_landing(connection, "anime", pd.DataFrame([
        {**crawl(1), "anime_id": 1, "title": "Old title", "status": "currently airing",
         "start_date": "1998-04-03", "score": 8.1, "genres": ["Action"]},
        {**crawl(5), "anime_id": 1, "title": "Cowboy Bebop", "status": "Finished Airing",
         "start_date": "1998-04-03", "end_date": "1999-04-24", "score": 8.75,
         "studios": ["Sunrise"], "genres": ["Action", "Sci-Fi"]},
        {**crawl(2), "anime_id": 5, "title": "Movie", "status": "Finished Airing",
         "start_date": "2001-09", "end_date": "garbage", "score": 0.0},
    ]))  # fmt: skip
    append_landing(connection, "anime_stats", pd.DataFrame([
        {**crawl(5), "anime_id": 1, "watching_count": 1, "completed_count": 2,
         "on_hold_count": 0, "dropped_count": 0, "plan_to_watch_count": 1, "total_count": 4,
         "score_10_count": 1},
    ]))  # fmt: skip
    append_landing(connection, "anime_pics", pd.DataFrame([
        {**crawl(5), "anime_id": 1, "pics": ["https://cdn.example/1.jpg"]},
    ]))  # fmt: skip
    append_landing(connection, "user", pd.DataFrame([
        {**crawl(3), "user_id": "Alice", "last_online_date": "2024-05-01T02:00:00+02:00",
         "num_completed": 1, "mean_score": 9.0, "clubs": ["Bebop fans"],
         "favorite_anime_ids": [1]},
    ]))  # fmt: skip
    append_landing(connection, "user_anime", pd.DataFrame([
        {**crawl(3), "user_id": "alice", "anime_id": 1, "score": 9, "status": "2",
         "progress": 26},
        {**crawl(4), "user_id": "ALICE", "anime_id": 1, "score": 10, "status": "Completed",
         "progress": 26, "last_interaction_date": "2024-04-30T10:00:00+00:00",
         "snapshot_id": "alice-4"},
        {**crawl(4), "user_id": "alice", "anime_id": 5, "score": 0, "status": "Plan to Watch",
         "progress": 0, "snapshot_id": "alice-4"},
    ]))  # fmt: skip
    append_landing(connection, "review", pd.DataFrame([
        {**crawl(3), "review_id": 77, "anime_id": 1, "user_id": "alice",
         "review_date": "2020-01-01", "review_score": 9, "review_story_score": 0},
    ]))  # fmt: skip
    append_landing(connection, "anime_relation", pd.DataFrame([
        {**crawl(5), "animeA": 1, "animeB": 5, "relation_type": "Side Story"},
    ]))  # fmt: skip
    append_landing(connection, "anime_recommendation", pd.DataFrame([
        {**crawl(5), "animeA": 1, "animeB": 5, "num_recommenders": 3},
    ]))  # fmt: skip
    append_landing(connection, "user_user", pd.DataFrame([
        {**crawl(3), "userA": "alice", "userB": "Bob", "friendship_date": "2019-01-01"},
    ]))  # fmt: skip
    # the 04:00 crawl of Alice's list was complete (rows without snapshot ids fall back)
    append_landing(connection, "crawl_snapshot", pd.DataFrame([
        {**crawl(4), "parent_kind": "user", "parent_id": "alice", "set_name": "user_anime",
         "snapshot_id": "alice-4", "complete": 1, "item_count": 2},
    ]))  # fmt: skip
    append_landing(connection, "page_gone", pd.DataFrame(columns=["parent_kind"]))


def table(warehouse: Path, name: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.sql(f"select * from {name}").df()


def test_sources_declare_exactly_the_crawler_landing_columns() -> None:
    sources = yaml.safe_load(
        (REPO_ROOT / "dbt_project" / "models" / "staging" / "_sources.yml").read_text()
    )
    tables = {t["name"]: t for t in sources["sources"][0]["tables"]}
    expected = {**LANDING_COLUMNS, FEEDBACK_TABLE: FEEDBACK_LANDING_COLUMNS}
    for name, table_spec in tables.items():
        declared = [(c["name"], c["data_type"]) for c in table_spec["columns"]]
        assert declared == expected[name], name
    assert set(expected) - set(tables) == {"crawl_error"}


def test_feedback_retention_default_is_the_contracts() -> None:
    project = yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    assert project["vars"]["feedback_retention_days"] == DEFAULT_RETENTION_DAYS


def test_processed_columns_match_the_architecture_contract() -> None:
    if not ARCHITECTURE.exists():
        pytest.skip(f"shared design notes absent: {ARCHITECTURE}")
    text = ARCHITECTURE.read_text()
    for name, columns in PROCESSED_COLUMNS.items():
        line = re.search(rf"^- `{name}`: (.+?)(?=^- `|^\n|^##|\Z)", text, re.M | re.S)
        assert line, name
        listed = " ".join(line.group(1).split())
        assert listed.startswith(", ".join(columns[:3])), name
        # columns beyond the original design (the notes allow them) come after all of its own
        original = columns[: len(columns) - len(EXTRA_COLUMNS.get(name, []))]
        assert columns[len(original) :] == EXTRA_COLUMNS.get(name, []), name
        for column in original:
            assert re.search(rf"\b{column}\b", listed) or "score_0" in column, (name, column)


@pytest.mark.slow
def test_build_from_empty_to_incremental_to_blocked(run_dbt, warehouse_path) -> None:
    """One warehouse through its life: nothing crawled yet, first crawls, the unit tests,
    late and newer crawls (incremental), then bad data that the data_tests stop."""
    # Nothing crawled yet: no landing table exists, and everything still builds, empty.
    run_dbt("build", "--exclude-resource-type", "unit_test")
    for name in PROCESSED_COLUMNS:
        assert table(warehouse_path, f'processed."{name}"').empty

    with duckdb.connect(str(warehouse_path)) as connection:
        write_first_crawls(connection)
        create_feedback_table(connection)  # as the first feedback landing does
    run_dbt("build", "--exclude-resource-type", "unit_test")
    # unit tests introspect the models' tables, so they run once those exist
    run_dbt("test", "--select", "test_type:unit")

    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        schemas = {
            row[0] for row in connection.sql("select schema_name from duckdb_schemas()").fetchall()
        }
        assert {"landing", "staging", "processed"} <= schemas
        assert not {s for s in schemas if s.endswith(("_staging", "_processed"))}
        for name, columns in PROCESSED_COLUMNS.items():
            described = connection.sql(f'describe processed."{name}"').fetchall()
            assert [row[0] for row in described] == columns, name

    anime = table(warehouse_path, "processed.anime").set_index("anime_id")
    assert anime.loc[1, "title"] == "Cowboy Bebop"  # the 05:00 crawl beat the 01:00 one
    assert anime.loc[1, "status"] == "Finished Airing"
    assert anime.loc[1, "season"] == "Spring 1998"
    assert anime.loc[1, "total_count"] == 4
    assert list(anime.loc[1, "pics"]) == ["https://cdn.example/1.jpg"]
    assert pd.isna(anime.loc[5, "score"])  # 0 = not scored
    assert pd.isna(anime.loc[5, "end_date"])  # "garbage"
    assert str(anime.loc[5, "start_date"])[:10] == "2001-09-01"

    user_anime = table(warehouse_path, "processed.user_anime").set_index("anime_id")
    assert set(user_anime["user_id"]) == {"Alice"}  # the profile's spelling, all one user
    assert user_anime.loc[1, "score"] == 10 and user_anime.loc[1, "favorite"] == 1
    assert user_anime.loc[1, "review_id"] == 77 and pd.isna(user_anime.loc[1, "review_story_score"])
    assert user_anime.loc[5, "status"] == "plan_to_watch" and pd.isna(user_anime.loc[5, "score"])

    user = table(warehouse_path, "processed.user")
    assert str(user.loc[0, "last_online_date"]) == "2024-05-01 00:00:00"  # +02:00 → UTC
    anime_anime = table(warehouse_path, "processed.anime_anime")
    assert anime_anime[["recommendation", "related"]].values.tolist() == [[1, 1]]
    user_user = table(warehouse_path, "processed.user_user")
    assert sorted(map(tuple, user_user[["userA", "userB"]].values)) == [
        ("Alice", "Bob"),
        ("Bob", "Alice"),
    ]

    # Incremental run: a late crawl older than staging, a newer crawl, a new anime.
    with duckdb.connect(str(warehouse_path)) as connection:
        append_landing(connection, "anime", pd.DataFrame([
            {**crawl(0), "anime_id": 1, "title": "Late and older"},
            {**crawl(9, day=2), "anime_id": 5, "title": "Movie (remastered)"},
            {**crawl(9, day=2), "anime_id": 7, "title": "New"},
        ]))  # fmt: skip
    run_dbt("build", "--exclude-resource-type", "unit_test")
    titles = table(warehouse_path, "processed.anime").set_index("anime_id")["title"].to_dict()
    assert titles == {1: "Cowboy Bebop", 5: "Movie (remastered)", 7: "New"}
    assert table(warehouse_path, "staging.stg_anime")["anime_id"].is_unique

    # An out-of-range score: the staging data_test fails and processed is not rebuilt.
    with duckdb.connect(str(warehouse_path)) as connection:
        append_landing(connection, "user_anime", pd.DataFrame([
            {**crawl(1, day=3), "user_id": "alice", "anime_id": 1, "score": 42,
             "status": "completed"},
        ]))  # fmt: skip
    result = run_dbt("build", "--exclude-resource-type", "unit_test", check=False)
    assert result.returncode != 0
    assert "in_range_stg_user_anime_score" in result.stdout
    published = table(warehouse_path, "processed.user_anime").set_index("anime_id")
    assert published.loc[1, "score"] == 10
