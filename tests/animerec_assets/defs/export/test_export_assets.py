"""``export/processed_dataset`` materialized by Dagster on a real DuckDB warehouse."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from export_fixture_tables import create_processed, create_staging_crawls, read_processed

from animerec_assets.defs.export.assets import processed_dataset
from animerec_assets.defs.export.definitions import defs as export_defs
from animerec_assets.defs.keys import EXPORT_PROCESSED_DATASET as EXPORT_KEY
from animerec_assets.defs.keys import PROCESSED_KEYS
from animerec_assets.lib.export.columns import COLUMN_DESCRIPTIONS, PROCESSED_TABLES
from animerec_assets.lib.export.versions import latest_version
from animerec_assets.lib.feedback.metrics import FEEDBACK_TABLES
from animerec_assets.resources import WarehouseResource, export_target
from animerec_assets.settings import load_settings

EXPECTED_FILES = sorted(
    [f"{table}{suffix}" for table in PROCESSED_TABLES for suffix in (".parquet", ".csv.gz")]
    + ["README.md", "dataset-metadata.json"]
)


def assert_parquet_round_trips(database: Path, table: str, parquet: Path) -> None:
    """Same column names, types and rows (as a multiset) as the warehouse table."""
    with duckdb.connect(str(database), read_only=True) as connection:
        source = f'processed."{table}"'
        exported = f"read_parquet('{parquet}')"
        types = "select column_name, column_type from (describe select * from {})"
        assert (
            connection.execute(types.format(exported)).fetchall()
            == connection.execute(types.format(source)).fetchall()
        )
        for left, right in ((source, exported), (exported, source)):
            missing = connection.execute(
                f"select count(*) from (select * from {left} except all select * from {right})"
            ).fetchone()[0]
            assert missing == 0, f"{table}: {missing} rows of {left} not in {right}"
        counts = connection.execute(
            f"select (select count(*) from {source}), (select count(*) from {exported})"
        ).fetchone()
        assert counts[0] == counts[1] > 0


def materialize(database: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [processed_dataset],
        resources={
            "warehouse": WarehouseResource(kind="duckdb", duckdb_path=str(database)),
            # the environment's target: <ANIMEREC_HOME>/export, ANIMEREC_KAGGLE_DATASET; real
            # usernames, so the files can be compared row for row with processed (pseudonyms
            # are tested in lib/export/test_export_pseudonyms.py)
            "export_target": export_target(replace(load_settings(), export_real_usernames=True)),
        },
        raise_on_error=False,
    )


def test_export_writes_a_complete_documented_version(animerec_home: Path) -> None:
    database = animerec_home / "warehouse.duckdb"
    create_processed(database)
    create_staging_crawls(database)

    result = materialize(database)

    assert result.success
    export_dir = animerec_home / "export"
    version = latest_version(export_dir)
    assert version is not None
    folder = export_dir / version
    assert sorted(path.name for path in folder.iterdir()) == EXPECTED_FILES
    assert (export_dir / "latest").resolve() == folder.resolve()

    for table in PROCESSED_TABLES:
        assert_parquet_round_trips(database, table, folder / f"{table}.parquet")
        with gzip.open(folder / f"{table}.csv.gz", "rt") as handle:
            csv = pd.read_csv(handle)
        assert list(csv.columns) == list(COLUMN_DESCRIPTIONS[table])
        assert len(csv) == len(read_processed(database, table))

    csv = pd.read_csv(folder / "anime.csv.gz")
    assert [json.loads(text) for text in csv["genres"]] == [["Action", "Sci-Fi"], ["Action"], []]
    assert csv["synopsis"].iloc[1] == 'A movie, with a comma, and "quotes".'

    metadata = json.loads((folder / "dataset-metadata.json").read_text())
    assert metadata["id"] == "animerec/myanimelist-anime-recommendations"
    described = {resource["path"] for resource in metadata["resources"]}
    assert described == set(EXPECTED_FILES) - {"dataset-metadata.json"}

    card = (folder / "README.md").read_text()
    assert "- Crawl period: 2024-06-02 12:00:00 to 2024-06-04 02:00:00" in card
    assert "| `user_anime` | 3 |" in card
    assert "Dates: `start_date` 1998-04-03 to 2001-09-01" in card

    materialization = result.asset_materializations_for_node("export__processed_dataset")[0]
    values = {key: entry.value for key, entry in materialization.metadata.items()}
    assert values["row_counts"] == {
        "anime": 3,
        "user": 2,
        "user_anime": 3,
        "anime_anime": 2,
        "user_user": 2,
    }
    assert values["total_rows"] == 12
    assert values["version"] == version
    assert values["path"] == str(folder)
    assert sorted(values["files"]) == EXPECTED_FILES
    sizes = values["file_sizes_bytes"]
    assert sizes["anime.parquet"] == (folder / "anime.parquet").stat().st_size
    assert values["card"].startswith("# animerec")


def test_missing_processed_table_fails_and_keeps_the_previous_export(
    animerec_home: Path,
) -> None:
    database = animerec_home / "warehouse.duckdb"
    create_processed(database)
    assert materialize(database).success
    export_dir = animerec_home / "export"
    previous = latest_version(export_dir)

    with duckdb.connect(str(database)) as connection:
        connection.execute("drop table processed.user_user")
    result = materialize(database)

    assert not result.success
    error = result.get_step_failure_events()[0].event_specific_data.error
    assert "processed.user_user does not exist" in error.cause.message
    assert latest_version(export_dir) == previous
    leftovers = sorted(path.name for path in export_dir.iterdir())
    assert leftovers == sorted([previous, "LATEST", "latest"])  # no partial folder either


def test_the_kaggle_dataset_setting_reaches_the_export_target(
    animerec_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANIMEREC_KAGGLE_DATASET", "not a slug")
    database = animerec_home / "warehouse.duckdb"
    create_processed(database)
    result = materialize(database)
    assert not result.success
    error = result.get_step_failure_events()[0].event_specific_data.error
    assert "ANIMEREC_KAGGLE_DATASET" in error.cause.message


def test_asset_is_in_the_export_group_after_the_processed_tables() -> None:
    assert export_defs.assets == [processed_dataset]
    spec = processed_dataset.specs_by_key[EXPORT_KEY]
    assert spec.key == EXPORT_KEY
    assert spec.group_name == "export"
    assert {"parquet", "csv"} <= set(spec.kinds)
    assert {dep.asset_key for dep in spec.deps} == set(PROCESSED_KEYS)


def test_feedback_tables_are_never_exported(animerec_home: Path) -> None:
    """Visitors' feedback (landing, staging and the feedback tables) stays out of the dataset,
    even when the warehouse holds it next to the processed tables."""
    database = animerec_home / "warehouse.duckdb"
    create_processed(database)
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema if not exists feedback")
        for table in FEEDBACK_TABLES:
            connection.execute(
                f'create table feedback."{table}" as '
                "select 'v-secret' as model_version, 's-secret' as session_id, 7 as cards"
            )
        # a processed-side name, in case feedback ever moves next to the published tables
        connection.execute(
            "create table processed.feedback_by_model_version as select 'v-secret' as model_version"
        )

    result = materialize(database)

    assert result.success
    folder = animerec_home / "export" / latest_version(animerec_home / "export")
    assert sorted(path.name for path in folder.iterdir()) == EXPECTED_FILES
    for path in folder.iterdir():
        text = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        assert b"feedback" not in text.lower() and b"s-secret" not in text, path.name
    assert not set(FEEDBACK_TABLES) & set(PROCESSED_TABLES)
    assert not any(key.path[0] == "feedback" for key in PROCESSED_KEYS)
