"""landing.optout: replaced whole from the scheduler's list, read back for the serving publish;
anything that is not a username never reaches the SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from animerec_assets.lib.optout import (
    OptoutError,
    optout_keys,
    read_opted_out_keys,
    replace_optout_sql,
)
from animerec_assets.resources import WarehouseResource

NOW = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)


def test_the_table_is_replaced_whole_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    warehouse = WarehouseResource(kind="duckdb", duckdb_path=str(path))
    assert read_opted_out_keys(warehouse) == []  # never copied
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema landing")
    warehouse.read_sql(replace_optout_sql(["Bob", "alice", "ALICE"], NOW, "duckdb"))
    assert read_opted_out_keys(warehouse) == ["alice", "bob"]
    warehouse.read_sql(replace_optout_sql(["Carol"], NOW, "duckdb"))
    assert read_opted_out_keys(warehouse) == ["carol"]
    warehouse.read_sql(replace_optout_sql([], NOW, "duckdb"))
    assert read_opted_out_keys(warehouse) == []
    assert warehouse.table_exists("landing", "optout")


@pytest.mark.parametrize("bad", ["", "a'b", "x; drop table y", "a b", "a" * 65, "ü"])
def test_only_usernames_reach_the_sql(bad: str) -> None:
    with pytest.raises(OptoutError):
        optout_keys(["fine", bad])


def test_bigquery_statement() -> None:
    sql = replace_optout_sql(["Alice"], NOW, "bigquery", "proj")
    assert sql.startswith("create or replace table `proj.landing.optout` as select 'alice'")
    empty = replace_optout_sql([], NOW, "bigquery", "proj")
    assert "cast(null as string) as user_key" in empty and "where 1 = 0" in empty
