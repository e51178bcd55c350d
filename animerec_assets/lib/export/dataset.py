"""Export the five processed tables as one documented, versioned dataset.

One version is Parquet and gzip CSV per table, a dataset card (``README.md``) and Kaggle's
``dataset-metadata.json``. The warehouse writes the files itself (DuckDB ``COPY`` into a local
folder, BigQuery ``EXPORT DATA`` to GCS), so ten million rows never pass through pandas. Every
table is checked against the contract BEFORE anything is written; a local version becomes
``latest`` only once complete, and a failed one leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypedDict

import pandas as pd

from animerec_assets.lib.export.card import CardFacts, render_card
from animerec_assets.lib.export.columns import (
    PROCESSED_TABLES,
    ColumnDocsError,
    check_columns,
    model_docs,
)
from animerec_assets.lib.export.kaggle import DEFAULT_LICENSE, check_dataset_id, kaggle_metadata
from animerec_assets.lib.export.pseudonyms import UsernamePolicy, column_replacements
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
    FILE_FORMATS,
    Column,
    ExportedFile,
    TableExport,
    file_name,
)
from animerec_assets.lib.export.versions import (
    abandon_version,
    publish_version,
    start_version,
    version_name,
)
from animerec_assets.lib.warehouse import SqlWarehouse, dialect_of

PROCESSED_SCHEMA = "processed"
# staging keeps the crawl date of every row that was published: the card's crawl period
CRAWLED_TABLES = [("staging", "stg_anime"), ("staging", "stg_user")]
CARD = "README.md"
KAGGLE_METADATA = "dataset-metadata.json"

Log = Callable[[str], None]


class ExportError(RuntimeError):
    """The processed tables cannot be exported as they are."""


@dataclass(frozen=True)
class ExportResult:
    version: str
    location: str
    tables: list[TableExport]
    card: str
    metadata: dict


def _silent(_: str) -> None:
    return None


def describe_processed(warehouse: SqlWarehouse) -> list[tuple[str, list[Column]]]:
    """Every processed table's columns, checked against the contract BEFORE anything is written."""
    dialect = dialect_of(warehouse)
    described = []
    for table in PROCESSED_TABLES:
        frame = warehouse.read_sql(
            columns_sql(PROCESSED_SCHEMA, table, dialect, warehouse.gcp_project)
        )
        if frame.empty:
            raise ExportError(
                f"processed.{table} does not exist in the warehouse: materialize the transform "
                "stage (processed group) before exporting"
            )
        columns = [Column(str(row.column_name), str(row.data_type)) for row in frame.itertuples()]
        try:
            check_columns(table, [column.name for column in columns])
        except ColumnDocsError as error:
            raise ExportError(str(error)) from error
        described.append((table, columns))
    return described


def iso_text(value: object, warehouse_type: str = "TIMESTAMP") -> str | None:
    """Dates as ISO dates; timestamps to the second (the pages show minutes at best)."""
    if value is None or pd.isna(value):
        return None
    if isinstance(value, datetime):
        if warehouse_type.strip().upper() == "DATE":
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def date_ranges(
    warehouse: SqlWarehouse, table: str, columns: list[Column]
) -> dict[str, tuple[str | None, str | None]]:
    """First and last value of every date or timestamp column of ``processed.<table>``."""
    sql = date_ranges_sql(
        PROCESSED_SCHEMA, table, columns, dialect_of(warehouse), warehouse.gcp_project
    )
    if sql is None:
        return {}
    row = warehouse.read_sql(sql).iloc[0]
    types = {column.name: column.warehouse_type for column in columns}
    names = [name.removesuffix("__min") for name in row.index if name.endswith("__min")]
    return {
        name: (
            iso_text(row[f"{name}__min"], types[name]),
            iso_text(row[f"{name}__max"], types[name]),
        )
        for name in names
    }


def crawl_period(warehouse: SqlWarehouse) -> tuple[str | None, str | None] | None:
    """When the published rows were crawled; None where staging is not there to say."""
    present = [
        (schema, table) for schema, table in CRAWLED_TABLES if warehouse.table_exists(schema, table)
    ]
    sql = crawl_period_sql(present, dialect_of(warehouse), warehouse.gcp_project)
    if sql is None:
        return None
    row = warehouse.read_sql(sql).iloc[0]
    return iso_text(row["first"]), iso_text(row["last"])


def _copy_to_folder(
    warehouse: SqlWarehouse,
    folder: Path,
    table: str,
    columns: list[Column],
    usernames: UsernamePolicy,
) -> tuple[int, list[ExportedFile]]:
    files, counts = [], set()
    replacements = column_replacements(table, usernames, "duckdb")
    for file_format in FILE_FORMATS:
        name = file_name(table, file_format)
        select = select_sql(
            PROCESSED_SCHEMA, table, columns, file_format, "duckdb", replacements=replacements
        )
        answer = warehouse.read_sql(duckdb_copy_sql(select, str(folder / name), file_format))
        counts.add(int(answer.iloc[0, 0]))
        files.append(ExportedFile(name, file_format, (folder / name).stat().st_size))
    if len(counts) != 1:
        raise ExportError(f"processed.{table} changed while it was exported: {sorted(counts)}")
    return counts.pop(), files


def _export_to_gcs(
    warehouse: SqlWarehouse,
    base_uri: str,
    table: str,
    columns: list[Column],
    usernames: UsernamePolicy,
) -> tuple[int, list[ExportedFile]]:
    files = []
    replacements = column_replacements(table, usernames, "bigquery", quote="`")
    for file_format in FILE_FORMATS:
        select = select_sql(
            PROCESSED_SCHEMA,
            table,
            columns,
            file_format,
            "bigquery",
            warehouse.gcp_project,
            replacements=replacements,
        )
        pattern = f"{table}/part-*{file_name('', file_format)}"
        warehouse.read_sql(bigquery_export_sql(select, f"{base_uri}/{pattern}", file_format))
        files.append(ExportedFile(pattern, file_format, None))
    answer = warehouse.read_sql(
        count_sql(PROCESSED_SCHEMA, table, "bigquery", warehouse.gcp_project)
    )
    return int(answer["n"].iloc[0]), files


def dataset_documents(
    version: str,
    now: datetime,
    dataset_id: str,
    tables: list[TableExport],
    license_name: str,
    period: tuple[str | None, str | None] | None,
    pseudonymised: bool = True,
) -> tuple[str, dict]:
    """The dataset card and the Kaggle metadata (which carries the card as its description)."""
    docs = model_docs()
    card = render_card(
        CardFacts(
            version=version,
            exported_at=now.isoformat(timespec="seconds"),
            dataset_id=dataset_id,
            tables=tables,
            crawl_period=period,
            model_docs=docs,
            pseudonymised=pseudonymised,
        )
    )
    metadata = kaggle_metadata(
        dataset_id, tables, docs, description=card, license_name=license_name
    )
    return card, metadata


def export_processed(
    warehouse: SqlWarehouse,
    export_dir: Path,
    dataset_id: str,
    now: datetime,
    license_name: str = DEFAULT_LICENSE,
    log: Log = _silent,
    *,
    usernames: UsernamePolicy,
) -> ExportResult:
    """Write one complete version into ``export_dir`` and point ``latest`` at it (DuckDB)."""
    check_dataset_id(dataset_id)
    described = describe_processed(warehouse)
    version = version_name(now)
    work = start_version(export_dir, version)
    try:
        tables, card, metadata = _export_tables(
            warehouse,
            described,
            lambda table, columns: _copy_to_folder(warehouse, work, table, columns, usernames),
            (version, now, dataset_id, license_name),
            usernames,
            lambda table, rows: log(f"exported processed.{table}: {rows:,} rows"),
        )
        (work / CARD).write_text(card, encoding="utf-8")
        (work / KAGGLE_METADATA).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        final = publish_version(export_dir, version)
    except BaseException:
        abandon_version(export_dir, version)
        raise
    return ExportResult(version, str(final), tables, card, metadata)


def _export_tables(
    warehouse: SqlWarehouse,
    described: list[tuple[str, list[Column]]],
    write_table: Callable[[str, list[Column]], tuple[int, list[ExportedFile]]],
    version_info: tuple[str, datetime, str, str],
    usernames: UsernamePolicy,
    report: Callable[[str, int], None],
) -> tuple[list[TableExport], str, dict]:
    """Every processed table written by ``write_table`` (a folder or GCS), then the card and
    the Kaggle metadata that describe them: the part both export targets share."""
    version, now, dataset_id, license_name = version_info
    tables = []
    for table, columns in described:
        rows, files = write_table(table, columns)
        tables.append(
            TableExport(table, columns, rows, files, date_ranges(warehouse, table, columns))
        )
        report(table, rows)
    card, metadata = dataset_documents(
        version,
        now,
        dataset_id,
        tables,
        license_name,
        crawl_period(warehouse),
        usernames.pseudonymised,
    )
    return tables, card, metadata


def export_processed_to_gcs(
    warehouse: SqlWarehouse,
    export_uri: str,
    dataset_id: str,
    now: datetime,
    license_name: str = DEFAULT_LICENSE,
    log: Log = _silent,
    *,
    usernames: UsernamePolicy,
) -> ExportResult:
    """Production: BigQuery writes the shards to GCS; card and metadata follow, LATEST last."""
    from animerec_assets.lib.artifacts import blobs_for

    check_dataset_id(dataset_id)
    described = describe_processed(warehouse)
    version = version_name(now)
    base_uri = f"{export_uri.rstrip('/')}/{version}"
    tables, card, metadata = _export_tables(
        warehouse,
        described,
        lambda table, columns: _export_to_gcs(warehouse, base_uri, table, columns, usernames),
        (version, now, dataset_id, license_name),
        usernames,
        lambda table, rows: log(f"exported processed.{table}: {rows:,} rows to {base_uri}"),
    )
    blobs = blobs_for(export_uri)
    blobs.write(f"{version}/{CARD}", card.encode())
    blobs.write(f"{version}/{KAGGLE_METADATA}", json.dumps(metadata, indent=2).encode())
    blobs.write("LATEST", f"{version}\n".encode())
    return ExportResult(version, base_uri, tables, card, metadata)


class ExportSummary(TypedDict):
    row_counts: dict[str, int]
    total_rows: int
    file_sizes_bytes: dict[str, int | None]
    files: list[str]
    kaggle_dataset: str


def result_summary(result: ExportResult) -> ExportSummary:
    """What a materialization reports: rows per table, every file written and its size."""
    row_counts = {table.name: table.row_count for table in result.tables}
    file_sizes = {file.path: file.size_bytes for table in result.tables for file in table.files}
    return ExportSummary(
        row_counts=row_counts,
        total_rows=sum(row_counts.values()),
        file_sizes_bytes=file_sizes,
        files=sorted([*file_sizes, CARD, KAGGLE_METADATA]),
        kaggle_dataset=str(result.metadata["id"]),
    )
