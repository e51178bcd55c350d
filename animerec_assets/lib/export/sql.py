"""The SQL an export runs, for DuckDB (local) and BigQuery (production).

The warehouse writes the files itself (DuckDB ``COPY``, BigQuery ``EXPORT DATA``), so millions
of rows stream from table to file without passing through pandas. CSV cannot hold lists, so
list columns are written as JSON text there; Parquet keeps them as lists.
"""

from __future__ import annotations

from animerec_assets.lib.export.tables import Column, is_date_type, is_list_type
from animerec_assets.lib.warehouse import Dialect


def quote_identifier(name: str, dialect: Dialect) -> str:
    if dialect == "bigquery":
        return "`" + name.replace("`", "") + "`"
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_reference(schema: str, table: str, dialect: Dialect, project: str = "") -> str:
    if dialect == "bigquery":
        return "`" + ".".join(part for part in (project, schema, table) if part) + "`"
    return f"{quote_identifier(schema, dialect)}.{quote_identifier(table, dialect)}"


def columns_sql(schema: str, table: str, dialect: Dialect, project: str = "") -> str:
    """Column names and types in table order (an empty answer means the table is missing)."""
    where = f"table_name = {quote_literal(table)}"
    if dialect == "bigquery":
        source = table_reference(schema, "INFORMATION_SCHEMA.COLUMNS", dialect, project)
    else:
        source = "information_schema.columns"
        where = f"table_schema = {quote_literal(schema)} and " + where
    return f"select column_name, data_type from {source} where {where} order by ordinal_position"


def select_sql(
    schema: str,
    table: str,
    columns: list[Column],
    file_format: str,
    dialect: Dialect,
    project: str = "",
) -> str:
    """Every column, in contract order; lists as JSON text when the file is CSV."""
    expressions = []
    for column in columns:
        name = quote_identifier(column.name, dialect)
        if file_format == "csv" and is_list_type(column.warehouse_type):
            to_json = "to_json_string" if dialect == "bigquery" else "to_json"
            expressions.append(f"{to_json}({name}) as {name}")
        else:
            expressions.append(name)
    return (
        f"select {', '.join(expressions)} from {table_reference(schema, table, dialect, project)}"
    )


def duckdb_copy_sql(select: str, path: str, file_format: str) -> str:
    """DuckDB writes the query's result straight to a file (and answers with the row count)."""
    if file_format == "parquet":
        options = "format parquet, compression zstd"
    elif file_format == "csv":
        options = "format csv, header true, compression gzip"
    else:
        raise ValueError(f"unknown file format {file_format!r}")
    return f"copy ({select}) to {quote_literal(path)} ({options})"


def bigquery_export_sql(select: str, uri_pattern: str, file_format: str) -> str:
    """BigQuery writes the query's result to GCS shards matching ``uri_pattern`` (one ``*``)."""
    if uri_pattern.count("*") != 1:
        raise ValueError(f"a BigQuery export URI needs exactly one '*': {uri_pattern!r}")
    if file_format == "parquet":
        options = "format = 'PARQUET', compression = 'SNAPPY'"
    elif file_format == "csv":
        options = "format = 'CSV', header = true, compression = 'GZIP'"
    else:
        raise ValueError(f"unknown file format {file_format!r}")
    return (
        f"export data options (uri = {quote_literal(uri_pattern)}, {options}, overwrite = true) "
        f"as {select}"
    )


def count_sql(schema: str, table: str, dialect: Dialect, project: str = "") -> str:
    return f"select count(*) as n from {table_reference(schema, table, dialect, project)}"


def date_ranges_sql(
    schema: str, table: str, columns: list[Column], dialect: Dialect, project: str = ""
) -> str | None:
    """One pass for the earliest and latest value of every date column (None: no such column)."""
    dated = [column.name for column in columns if is_date_type(column.warehouse_type)]
    if not dated:
        return None
    parts = []
    for name in dated:
        quoted = quote_identifier(name, dialect)
        parts.append(f"min({quoted}) as {quote_identifier(name + '__min', dialect)}")
        parts.append(f"max({quoted}) as {quote_identifier(name + '__max', dialect)}")
    return f"select {', '.join(parts)} from {table_reference(schema, table, dialect, project)}"


def crawl_period_sql(
    tables: list[tuple[str, str]], dialect: Dialect, project: str = ""
) -> str | None:
    """Earliest and latest crawl among the rows published (staging keeps each row's crawl)."""
    if not tables:
        return None
    union = " union all ".join(
        f"select min(crawl_date) as first, max(crawl_date) as last "
        f"from {table_reference(schema, table, dialect, project)}"
        for schema, table in tables
    )
    return f"select min(first) as first, max(last) as last from ({union}) as crawls"
