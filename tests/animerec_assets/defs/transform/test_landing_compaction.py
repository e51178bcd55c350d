"""The landing compaction asset on a real DuckDB warehouse (no dbt: what it keeps is checked
against processed in tests/dbt_project/test_recrawls.py)."""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from animerec_assets.defs.transform.compaction import landing_compaction
from animerec_assets.lib.landing_compaction import compaction_statements
from animerec_assets.lib.landing_tables import append_landing
from animerec_assets.resources import WarehouseResource


def crawl(day: int) -> dict[str, str]:
    return {
        "crawl_date": f"2024-05-{day:02d}T00:00:00Z",
        "crawl_hour": f"2024-05-{day:02d}-00:00",
        "source": "mal",
    }


def test_compaction_drops_superseded_crawls_only(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        append_landing(connection, "user", pd.DataFrame([
            {**crawl(1), "user_id": "alice"}, {**crawl(2), "user_id": "alice"},
            {**crawl(1), "user_id": "bob"},
        ]))  # fmt: skip
        append_landing(connection, "user_anime", pd.DataFrame([
            # day 1 complete {1, 2}; day 2 complete {1}; day 3 partial {3}
            {**crawl(1), "user_id": "alice", "anime_id": 1, "snapshot_id": "a1"},
            {**crawl(1), "user_id": "alice", "anime_id": 2, "snapshot_id": "a1"},
            {**crawl(2), "user_id": "alice", "anime_id": 1, "snapshot_id": "a2"},
            {**crawl(3), "user_id": "alice", "anime_id": 3, "snapshot_id": "a3"},
            # Bob's list has no complete snapshot: nothing of it goes
            {**crawl(1), "user_id": "bob", "anime_id": 1, "snapshot_id": "b1"},
            {**crawl(2), "user_id": "bob", "anime_id": 2, "snapshot_id": "b2"},
        ]))  # fmt: skip
        snapshot = {"parent_kind": "user", "parent_id": "alice", "set_name": "user_anime"}
        append_landing(connection, "crawl_snapshot", pd.DataFrame([
            {**crawl(1), **snapshot, "snapshot_id": "a1", "complete": 1},
            {**crawl(2), **snapshot, "snapshot_id": "a2", "complete": 1},
            {**crawl(3), **snapshot, "snapshot_id": "a3", "complete": 0},
            {**crawl(1), "parent_kind": "user", "parent_id": "bob", "set_name": "user_anime",
             "snapshot_id": "b1", "complete": 0},
        ]))  # fmt: skip

    result = dg.materialize(
        [landing_compaction],
        resources={"warehouse": WarehouseResource(kind="duckdb", duckdb_path=str(warehouse))},
    )
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["deleted_rows"].value == 4  # 2 list rows, 1 snapshot, 1 profile
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        lists = connection.sql(
            "select user_id, anime_id, snapshot_id from landing.user_anime order by all"
        ).fetchall()
        snapshots = connection.sql(
            "select snapshot_id from landing.crawl_snapshot order by all"
        ).fetchall()
        users = connection.sql("select user_id, crawl_date from landing.user order by all")
        users = users.fetchall()
    assert lists == [
        ("alice", 1, "a2"), ("alice", 3, "a3"), ("bob", 1, "b1"), ("bob", 2, "b2"),
    ]  # fmt: skip
    assert snapshots == [("a2",), ("a3",), ("b1",)]
    assert users == [("alice", "2024-05-02T00:00:00Z"), ("bob", "2024-05-01T00:00:00Z")]


def test_bigquery_statements_parse_as_bigquery() -> None:
    import sqlglot

    statements = compaction_statements("bigquery", project="animerec-offline")
    assert {s.table for s in statements} >= {"user_anime", "crawl_snapshot", "user", "page_gone"}
    for statement in statements:
        sqlglot.parse_one(statement.sql, read="bigquery")
        assert "`animerec-offline.landing." in statement.sql
        assert "try_cast" not in statement.sql and "varchar" not in statement.sql
