"""``export_processed`` on a real DuckDB file, without Dagster: a complete version or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from export_fixture_tables import create_processed, create_staging_crawls

from animerec_assets.lib.export.dataset import (
    ExportError,
    crawl_period,
    export_processed,
    result_summary,
)
from animerec_assets.lib.export.kaggle import KaggleMetadataError
from animerec_assets.lib.export.versions import latest_version

DATASET = "animerec/myanimelist-anime-recommendations"
NOW = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)


@dataclass
class DuckDBWarehouse:
    """The smallest ``SqlWarehouse``: SQL against one DuckDB file."""

    path: Path
    kind: str = "duckdb"
    gcp_project: str = ""

    def read_sql(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        with duckdb.connect(str(self.path)) as connection:
            return connection.execute(sql, params or []).df()

    def table_exists(self, schema: str, table: str) -> bool:
        found = self.read_sql(
            "select count(*) as n from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        )
        return bool(found["n"].iloc[0])


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    database = tmp_path / "warehouse.duckdb"
    create_processed(database)
    return DuckDBWarehouse(database)


def test_a_version_holds_every_table_and_its_summary_says_so(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    logged: list[str] = []
    result = export_processed(warehouse, tmp_path / "export", DATASET, NOW, log=logged.append)
    assert result.version == "20240605T120000Z" == latest_version(tmp_path / "export")
    summary = result_summary(result)
    assert summary["row_counts"] == {
        "anime": 3, "user": 2, "user_anime": 3, "anime_anime": 2, "user_user": 2,
    }  # fmt: skip
    assert summary["total_rows"] == 12
    written = {path.name for path in Path(result.location).iterdir()}
    assert set(summary["files"]) == written
    assert summary["kaggle_dataset"] == DATASET
    assert len(logged) == 5 and logged[0] == "exported processed.anime: 3 rows"


def test_the_crawl_period_needs_staging(warehouse: DuckDBWarehouse) -> None:
    assert crawl_period(warehouse) is None
    create_staging_crawls(warehouse.path)
    assert crawl_period(warehouse) == ("2024-06-02 12:00:00", "2024-06-04 02:00:00")


def test_missing_table_fails_and_keeps_the_previous_version(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    export_dir = tmp_path / "export"
    previous = export_processed(warehouse, export_dir, DATASET, NOW).version
    with duckdb.connect(str(warehouse.path)) as connection:
        connection.execute("drop table processed.user_user")
    later = datetime(2024, 6, 6, tzinfo=UTC)
    with pytest.raises(ExportError, match=r"processed\.user_user does not exist"):
        export_processed(warehouse, export_dir, DATASET, later)
    assert latest_version(export_dir) == previous
    leftovers = sorted(path.name for path in export_dir.iterdir())
    assert leftovers == sorted([previous, "LATEST", "latest"])  # no partial folder either


def test_a_table_off_contract_is_refused_before_anything_is_written(
    warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    with duckdb.connect(str(warehouse.path)) as connection:
        connection.execute("alter table processed.anime add column secret varchar")
    with pytest.raises(ExportError, match=r"undocumented \['secret'\]"):
        export_processed(warehouse, tmp_path / "export", DATASET, NOW)
    assert not (tmp_path / "export").exists()


def test_a_bad_dataset_id_is_refused_first(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    with pytest.raises(KaggleMetadataError, match="ANIMEREC_KAGGLE_DATASET"):
        export_processed(warehouse, tmp_path / "export", "not a slug", NOW)
    assert not (tmp_path / "export").exists()
