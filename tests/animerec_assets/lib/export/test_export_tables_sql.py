"""Types for Kaggle and the card, and the SQL that writes the files (run on real DuckDB)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlglot

from animerec_assets.lib.export.sql import (
    bigquery_export_sql,
    columns_sql,
    count_sql,
    crawl_period_sql,
    date_ranges_sql,
    duckdb_copy_sql,
    select_sql,
)
from animerec_assets.lib.export.tables import (
    Column,
    file_name,
    is_date_type,
    kaggle_field_type,
    reader_type,
)

COLUMNS = [
    Column("id", "BIGINT"),
    Column("tags", "VARCHAR[]"),
    Column("seen", "TIMESTAMP"),
    Column("day", "DATE"),
    Column("note", "VARCHAR"),
]


@pytest.mark.parametrize(
    ("warehouse_type", "parquet", "csv"),
    [
        ("BIGINT", "integer", "integer"),
        ("INTEGER", "integer", "integer"),
        ("INT64", "integer", "integer"),
        ("DOUBLE", "number", "number"),
        ("FLOAT64", "number", "number"),
        ("DECIMAL(10,2)", "number", "number"),
        ("VARCHAR", "string", "string"),
        ("STRING", "string", "string"),
        ("DATE", "date", "date"),
        ("TIMESTAMP", "datetime", "datetime"),
        ("TIMESTAMP WITH TIME ZONE", "datetime", "datetime"),
        ("BOOLEAN", "boolean", "boolean"),
        ("VARCHAR[]", "array", "string"),
        ("ARRAY<STRING>", "array", "string"),
    ],
)
def test_kaggle_types_per_file_format(warehouse_type: str, parquet: str, csv: str) -> None:
    assert kaggle_field_type(warehouse_type, "parquet") == parquet
    assert kaggle_field_type(warehouse_type, "csv") == csv


def test_reader_types_and_dates() -> None:
    assert reader_type("VARCHAR[]") == "list of string"
    assert reader_type("ARRAY<INT64>") == "list of integer"
    assert is_date_type("timestamp") and is_date_type("DATE") and not is_date_type("VARCHAR")


def test_file_names_and_unknown_format() -> None:
    assert file_name("anime", "parquet") == "anime.parquet"
    assert file_name("anime", "csv") == "anime.csv.gz"
    with pytest.raises(ValueError, match="file format"):
        file_name("anime", "xlsx")


@pytest.fixture
def connection(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        connection.execute("create schema processed")
        connection.execute(
            "create table processed.t as select * from (values "
            "(1, ['a', 'b,c'], timestamp '2020-01-01 10:00', date '2020-01-02', 'it''s'), "
            "(2, [], null, null, null)) as v(id, tags, seen, day, note)"
        )
        yield connection


def test_copy_writes_parquet_with_lists_and_csv_with_json_lists(connection, tmp_path) -> None:
    target = tmp_path / "it's here"
    target.mkdir()
    for file_format in ("parquet", "csv"):
        select = select_sql("processed", "t", COLUMNS, file_format, "duckdb")
        path = str(target / file_name("t", file_format))
        count = connection.execute(duckdb_copy_sql(select, path, file_format)).fetchone()[0]
        assert count == 2
    parquet = pd.read_parquet(target / "t.parquet")
    assert [list(tags) for tags in parquet["tags"]] == [["a", "b,c"], []]
    with gzip.open(target / "t.csv.gz", "rt") as handle:
        csv = pd.read_csv(handle)
    assert list(csv.columns) == [column.name for column in COLUMNS]
    assert [json.loads(text) for text in csv["tags"]] == [["a", "b,c"], []]
    assert csv["note"].iloc[0] == "it's"


def test_metadata_queries_run_on_duckdb(connection) -> None:
    described = connection.execute(columns_sql("processed", "t", "duckdb")).fetchall()
    assert described[1] == ("tags", "VARCHAR[]")
    assert connection.execute(columns_sql("processed", "absent", "duckdb")).fetchall() == []
    assert connection.execute(count_sql("processed", "t", "duckdb")).fetchone() == (2,)
    ranges = connection.execute(date_ranges_sql("processed", "t", COLUMNS, "duckdb")).df()
    assert list(ranges.columns) == ["seen__min", "seen__max", "day__min", "day__max"]
    assert date_ranges_sql("processed", "t", [Column("id", "BIGINT")], "duckdb") is None
    connection.execute(
        "create table processed.crawls as select timestamp '2021-03-04' as crawl_date"
    )
    connection.execute("alter table processed.t add column crawl_date timestamp")
    connection.execute("update processed.t set crawl_date = timestamp '2021-01-01' where id = 1")
    period = crawl_period_sql([("processed", "t"), ("processed", "crawls")], "duckdb")
    first, last = connection.execute(period).fetchone()
    assert (str(first), str(last)) == ("2021-01-01 00:00:00", "2021-03-04 00:00:00")
    assert crawl_period_sql([], "duckdb") is None


def test_bigquery_sql_is_valid_bigquery() -> None:
    select = select_sql("processed", "anime", COLUMNS, "csv", "bigquery", "animerec-prod")
    assert "to_json_string(`tags`)" in select
    assert "`animerec-prod.processed.anime`" in select
    export = bigquery_export_sql(select, "gs://bucket/export/v1/anime/part-*.csv.gz", "csv")
    for statement in (
        export,
        columns_sql("processed", "anime", "bigquery", "animerec-prod"),
        date_ranges_sql("processed", "anime", COLUMNS, "bigquery", "animerec-prod"),
        count_sql("processed", "anime", "bigquery", "animerec-prod"),
    ):
        assert sqlglot.parse_one(statement, read="bigquery") is not None
    with pytest.raises(ValueError, match="exactly one"):
        bigquery_export_sql(select, "gs://bucket/anime.csv", "csv")
    with pytest.raises(ValueError, match="unknown file format"):
        duckdb_copy_sql(select, "/tmp/x", "json")
