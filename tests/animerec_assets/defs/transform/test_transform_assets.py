"""The transform stage in Dagster: dbt staging → blocking GE gates → dbt processed, on a temp
DuckDB warehouse with small landing tables, including bad data that the gate must stop."""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_dbt import DbtCliResource

from animerec_assets.lib.dbt_paths import DBT_PROJECT_DIR, dbt_executable
from animerec_assets.lib.landing_tables import append_landing
from animerec_assets.resources import WarehouseResource


def crawl(hour: int, day: int = 1) -> dict[str, str]:
    return {
        "crawl_date": f"2024-05-{day:02d}T{hour:02d}:00:00+00:00",
        "crawl_hour": f"2024-05-{day:02d}-{hour:02d}:00",
        "source": "mal",
    }


def land(path: Path, item_type: str, rows: list[dict]) -> None:
    with duckdb.connect(str(path)) as connection:
        append_landing(connection, item_type, pd.DataFrame(rows))


def published(path: Path, table: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.sql(f'select * from processed."{table}"').df()


@pytest.fixture
def transform_defs():
    from animerec_assets.defs.transform.definitions import transform_assets, transform_checks

    return transform_assets, transform_checks


def resources(path: Path) -> dict:
    return {
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            target="local",
            dbt_executable=dbt_executable(),
        ),
        "warehouse": WarehouseResource(kind="duckdb", duckdb_path=str(path)),
    }


def test_definitions_split_layers_and_gate_staging(transform_defs) -> None:
    assets, checks = transform_defs
    staging, processed = assets
    assert all(key.path[0] == "staging" for key in staging.keys)
    assert {key.path[1] for key in processed.keys} == {
        "anime", "user", "user_anime", "anime_anime", "user_user",
    }  # fmt: skip
    # processed reads staging, and staging reads the crawl stage's landing assets
    upstream = {key for deps in processed.asset_deps.values() for key in deps}
    assert dg.AssetKey(["staging", "stg_user_anime"]) in upstream
    upstream = {key for deps in staging.asset_deps.values() for key in deps}
    assert dg.AssetKey(["landing", "user_anime"]) in upstream
    for definition in assets:
        assert definition.specs_by_key[next(iter(definition.keys))].kinds >= {"dbt", "duckdb"}
        assert definition.op.pool == "duckdb"
    gates = [spec for check in checks for spec in check.check_specs]
    assert all(spec.blocking for spec in gates)
    assert dg.AssetKey(["staging", "stg_user_anime"]) in {spec.asset_key for spec in gates}
    # dbt data_tests surface as asset checks too
    assert any("unique_stg_anime_anime_id" in key.name for key in staging.check_keys)


@pytest.mark.slow
def test_bad_staging_is_blocked_and_processed_keeps_its_last_good_state(
    transform_defs, tmp_path: Path
) -> None:
    assets, checks = transform_defs
    warehouse = tmp_path / "warehouse.duckdb"
    land(warehouse, "anime", [
        {**crawl(1), "anime_id": 1, "title": "Cowboy Bebop", "status": "Finished Airing",
         "start_date": "1998-04-03", "score": 8.75},
        {**crawl(1), "anime_id": 5, "title": "Movie", "status": "Finished Airing"},
    ])  # fmt: skip
    land(warehouse, "user", [
        {**crawl(2), "user_id": "Alice", "last_online_date": "2024-04-30T00:00:00Z"},
    ])  # fmt: skip
    land(warehouse, "user_anime", [
        {**crawl(2), "user_id": "alice", "anime_id": 1, "score": 9, "status": "completed"},
        {**crawl(1), "user_id": "ALICE", "anime_id": 1, "score": 8, "status": "completed"},
    ])  # fmt: skip

    good = dg.materialize([*assets, *checks], resources=resources(warehouse))
    assert good.success
    gate_results = {
        (e.asset_key.path[-1], e.passed)
        for e in good.get_asset_check_evaluations()
        if e.check_name == "great_expectations"
    }
    assert ("stg_user_anime", True) in gate_results and ("user_anime", True) in gate_results
    assert published(warehouse, "user_anime")[["anime_id", "score"]].values.tolist() == [[1, 9]]

    # Next hour: a list entry for an anime nobody crawled, and profiles whose dates the parser
    # could not read. dbt's own tests pass (the values are well-typed); the GE gate does not.
    land(warehouse, "user_anime", [
        {**crawl(5), "user_id": "alice", "anime_id": 999, "score": 7, "status": "completed"},
        {**crawl(5), "user_id": "alice", "anime_id": 1, "score": 10, "status": "completed"},
    ])  # fmt: skip
    land(warehouse, "user", [
        {**crawl(5), "user_id": "Alice", "last_online_date": "yesterday-ish"},
    ])  # fmt: skip
    blocked = dg.materialize(
        [*assets, *checks], resources=resources(warehouse), raise_on_error=False
    )
    assert not blocked.success
    evaluations = {
        e.asset_key.path[-1]: e
        for e in blocked.get_asset_check_evaluations()
        if e.check_name == "great_expectations"
    }
    user_anime_gate = evaluations["stg_user_anime"]
    assert not user_anime_gate.passed
    failing_rows = user_anime_gate.metadata["failing_rows"].value
    assert any(row.get("anime_id") == 999 for rows in failing_rows.values() for row in rows), (
        failing_rows
    )
    assert "not a crawled anime" in user_anime_gate.metadata["summary"].value
    user_gate = evaluations["stg_user"]
    assert not user_gate.passed
    assert "yesterday-ish" in user_gate.metadata["summary"].value
    # processed never ran: it still holds the first run's score, not the new 10
    materialized = {e.asset_key.path[0] for e in blocked.get_asset_materialization_events()}
    assert "processed" not in materialized
    assert published(warehouse, "user_anime")[["anime_id", "score"]].values.tolist() == [[1, 9]]
