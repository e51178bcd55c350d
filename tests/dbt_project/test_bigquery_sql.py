"""The production (BigQuery) path, checked as far as it can be offline: dbt-bigquery compiles
every staging and processed model with its own macros (script render_bigquery_sql.py), and each
compiled model parses as BigQuery SQL with no DuckDB-only syntax left in it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot

REPO_ROOT = Path(__file__).resolve().parents[2]
DUCKDB_ONLY = [r"\btry_cast\(", r"::", r"\bvarchar\b", r"\btimestamptz\b", r"\bbigint\b"]


@pytest.fixture(scope="module")
def compiled_for_bigquery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("bigquery_sql")
    env = {**os.environ, "DO_NOT_TRACK": "1", "GCP_PROJECT": "animerec-offline"}
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("render_bigquery_sql.py")),
            str(REPO_ROOT / "dbt_project"),
            str(output),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return output


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["full", "incremental"])
def test_every_model_compiles_to_bigquery_sql(compiled_for_bigquery: Path, mode: str) -> None:
    files = sorted((compiled_for_bigquery / mode).glob("*/*.sql"))
    names = {path.stem for path in files}
    assert {"anime", "user", "user_anime", "anime_anime", "user_user"} <= names
    assert len([p for p in files if p.parent.name == "staging"]) == 15
    assert {"feedback_by_model_version", "feedback_by_reason", "feedback_anime_dislikes"} <= {
        path.stem for path in files if path.parent.name == "feedback"
    }
    for path in files:
        sql = path.read_text()
        sqlglot.parse_one(sql, read="bigquery")  # raises on a syntax error
        for pattern in DUCKDB_ONLY:
            assert not re.search(pattern, sql, re.I), f"{path.name}: DuckDB-only {pattern}"
        assert "`animerec-offline`.`" in sql, path.name  # fully-qualified BigQuery names


@pytest.mark.slow
def test_incremental_staging_merges_against_itself(compiled_for_bigquery: Path) -> None:
    sql = (compiled_for_bigquery / "incremental" / "staging" / "stg_anime.sql").read_text()
    assert "`animerec-offline`.`staging`.`stg_anime` as current_row" in sql
    assert "safe_cast(" in sql and "to_json_string(landing)" in sql
    # only landing partitions newer than the staged ones are read
    assert "landing.crawl_hour > coalesce((select max(watermark.crawl_hour)" in sql
    full = (compiled_for_bigquery / "full" / "staging" / "stg_anime.sql").read_text()
    assert "current_row" not in full and "watermark" not in full


@pytest.mark.slow
def test_incremental_sets_and_processed_rebuild_touched_parents(
    compiled_for_bigquery: Path,
) -> None:
    """A snapshot set recomputes the parents new landing rows or complete snapshots touch;
    a processed table rebuilds the parents staged since its watermark."""
    incremental = compiled_for_bigquery / "incremental"
    sets = (incremental / "staging" / "stg_user_anime.sql").read_text()
    assert "touched_parents as (" in sets and "marker.complete = 1" in sets
    assert "from `animerec-offline`.`staging`.`stg_user_anime`" in sets
    assert "where _present" not in sets  # absent keys are emitted, the post-hook deletes them
    full_sets = (compiled_for_bigquery / "full" / "staging" / "stg_user_anime.sql").read_text()
    assert "touched_parents" not in full_sets and "where _present" in full_sets
    processed = (incremental / "processed" / "user_anime.sql").read_text()
    assert "`animerec-offline`.`staging`.`processed_watermark`" in processed
    assert "touched_users as (" in processed and "_first_loaded_at >" in processed
    full = (compiled_for_bigquery / "full" / "processed" / "user_anime.sql").read_text()
    assert "processed_watermark" not in full


@pytest.mark.slow
def test_feedback_retention_is_bigquery_time_arithmetic(compiled_for_bigquery: Path) -> None:
    sql = (compiled_for_bigquery / "incremental" / "staging" / "stg_feedback.sql").read_text()
    assert "timestamp_sub(current_timestamp(), interval 90 day)" in sql
    assert "not exists" in sql  # only events not staged yet are read


def test_sqlglot_rejects_duckdb_only_syntax() -> None:
    """The parse check can fail: DuckDB's unnest alias form is not BigQuery SQL."""
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one(
            "select f from t cross join unnest(t.l) as f_list(f) where", read="bigquery"
        )
