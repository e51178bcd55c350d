"""``export/processed_dataset``: the five processed tables as a shareable, documented dataset.

Each materialization writes one version, ``<export_dir>/<UTC timestamp>/``: Parquet and gzip
CSV per table, a dataset card (``README.md``) and Kaggle's ``dataset-metadata.json``, then moves
``latest`` to it. The warehouse writes the files itself (DuckDB ``COPY`` locally, BigQuery
``EXPORT DATA`` to ``<artifact_uri>/dataset_export/`` in production), so ten million rows never
pass through pandas. Tables are read with SQL through the ``warehouse`` resource, not loaded by
the IO manager, and the asset stores nothing back in the warehouse.
"""

# No ``from __future__ import annotations``: Dagster inspects the real annotations.

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandas as pd

from animerec_assets.lib.export.card import CardFacts, card_preview, render_card
from animerec_assets.lib.export.columns import (
    PROCESSED_TABLES,
    ColumnDocsError,
    check_columns,
    model_docs,
)
from animerec_assets.lib.export.kaggle import DEFAULT_LICENSE, check_dataset_id, kaggle_metadata
from animerec_assets.lib.export.sql import (
    Dialect,
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
from animerec_assets.resources import WarehouseResource
from animerec_assets.settings import load_settings

EXPORT_KEY = dg.AssetKey(["export", "processed_dataset"])
PROCESSED_KEYS = [dg.AssetKey(["processed", table]) for table in PROCESSED_TABLES]
PROCESSED_SCHEMA = "processed"
# staging keeps the crawl date of every row that was published: the card's crawl period
CRAWLED_TABLES = [("staging", "stg_anime"), ("staging", "stg_user")]
# the transform stage's pool: one DuckDB writer/reader at a time
DUCKDB_POOL = "duckdb"
CARD = "README.md"
KAGGLE_METADATA = "dataset-metadata.json"
GCS_EXPORT_FOLDER = "dataset_export"


class ExportError(RuntimeError):
    """The processed tables cannot be exported as they are."""


class ExportConfig(dg.Config):
    license_name: str = DEFAULT_LICENSE


@dataclass(frozen=True)
class ExportResult:
    version: str
    location: str
    tables: list[TableExport]
    card: str
    metadata: dict


def _dialect(warehouse: WarehouseResource) -> Dialect:
    return "duckdb" if warehouse.kind == "duckdb" else "bigquery"


def describe_processed(warehouse: WarehouseResource) -> list[tuple[str, list[Column]]]:
    """Every processed table's columns, checked against the contract BEFORE anything is written."""
    dialect = _dialect(warehouse)
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


def _iso(value: object, warehouse_type: str = "TIMESTAMP") -> str | None:
    """Dates as ISO dates; timestamps to the second (the pages show minutes at best)."""
    if value is None or pd.isna(value):
        return None
    if isinstance(value, datetime):
        if warehouse_type.strip().upper() == "DATE":
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def date_ranges(
    warehouse: WarehouseResource, table: str, columns: list[Column]
) -> dict[str, tuple[str | None, str | None]]:
    sql = date_ranges_sql(
        PROCESSED_SCHEMA, table, columns, _dialect(warehouse), warehouse.gcp_project
    )
    if sql is None:
        return {}
    row = warehouse.read_sql(sql).iloc[0]
    types = {column.name: column.warehouse_type for column in columns}
    names = [name.removesuffix("__min") for name in row.index if name.endswith("__min")]
    return {
        name: (_iso(row[f"{name}__min"], types[name]), _iso(row[f"{name}__max"], types[name]))
        for name in names
    }


def crawl_period(warehouse: WarehouseResource) -> tuple[str | None, str | None] | None:
    """When the published rows were crawled; None where staging is not there to say."""
    present = [
        (schema, table) for schema, table in CRAWLED_TABLES if warehouse.table_exists(schema, table)
    ]
    sql = crawl_period_sql(present, _dialect(warehouse), warehouse.gcp_project)
    if sql is None:
        return None
    row = warehouse.read_sql(sql).iloc[0]
    return _iso(row["first"]), _iso(row["last"])


def _copy_to_folder(
    warehouse: WarehouseResource, folder: Path, table: str, columns: list[Column]
) -> tuple[int, list[ExportedFile]]:
    files, counts = [], set()
    for file_format in FILE_FORMATS:
        name = file_name(table, file_format)
        select = select_sql(PROCESSED_SCHEMA, table, columns, file_format, "duckdb")
        answer = warehouse.read_sql(duckdb_copy_sql(select, str(folder / name), file_format))
        counts.add(int(answer.iloc[0, 0]))
        files.append(ExportedFile(name, file_format, (folder / name).stat().st_size))
    if len(counts) != 1:
        raise ExportError(f"processed.{table} changed while it was exported: {sorted(counts)}")
    return counts.pop(), files


def _export_to_gcs(
    warehouse: WarehouseResource, base_uri: str, table: str, columns: list[Column]
) -> tuple[int, list[ExportedFile]]:
    files = []
    for file_format in FILE_FORMATS:
        select = select_sql(
            PROCESSED_SCHEMA, table, columns, file_format, "bigquery", warehouse.gcp_project
        )
        pattern = f"{table}/part-*{file_name('', file_format)}"
        warehouse.read_sql(bigquery_export_sql(select, f"{base_uri}/{pattern}", file_format))
        files.append(ExportedFile(pattern, file_format, None))
    answer = warehouse.read_sql(
        count_sql(PROCESSED_SCHEMA, table, "bigquery", warehouse.gcp_project)
    )
    return int(answer["n"].iloc[0]), files


def _documents(
    version: str,
    now: datetime,
    dataset_id: str,
    tables: list[TableExport],
    license_name: str,
    period: tuple[str | None, str | None] | None,
) -> tuple[str, dict]:
    docs = model_docs()
    card = render_card(
        CardFacts(
            version=version,
            exported_at=now.isoformat(timespec="seconds"),
            dataset_id=dataset_id,
            tables=tables,
            crawl_period=period,
            model_docs=docs,
        )
    )
    metadata = kaggle_metadata(
        dataset_id, tables, docs, description=card, license_name=license_name
    )
    return card, metadata


def export_processed(
    warehouse: WarehouseResource,
    export_dir: Path,
    dataset_id: str,
    now: datetime,
    license_name: str = DEFAULT_LICENSE,
    log=None,
) -> ExportResult:
    """Write one complete version into ``export_dir`` and point ``latest`` at it (DuckDB)."""
    check_dataset_id(dataset_id)
    described = describe_processed(warehouse)
    version = version_name(now)
    work = start_version(export_dir, version)
    try:
        tables = []
        for table, columns in described:
            rows, files = _copy_to_folder(warehouse, work, table, columns)
            tables.append(
                TableExport(table, columns, rows, files, date_ranges(warehouse, table, columns))
            )
            if log:
                log.info(f"exported processed.{table}: {rows:,} rows")
        card, metadata = _documents(
            version, now, dataset_id, tables, license_name, crawl_period(warehouse)
        )
        (work / CARD).write_text(card, encoding="utf-8")
        (work / KAGGLE_METADATA).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        final = publish_version(export_dir, version)
    except BaseException:
        abandon_version(export_dir, version)
        raise
    return ExportResult(version, str(final), tables, card, metadata)


def export_processed_to_gcs(
    warehouse: WarehouseResource,
    export_uri: str,
    dataset_id: str,
    now: datetime,
    license_name: str = DEFAULT_LICENSE,
    log=None,
) -> ExportResult:
    """Production: BigQuery writes the shards to GCS; card and metadata follow, LATEST last."""
    from animerec_assets.lib.artifacts import blobs_for

    check_dataset_id(dataset_id)
    described = describe_processed(warehouse)
    version = version_name(now)
    base_uri = f"{export_uri.rstrip('/')}/{version}"
    tables = []
    for table, columns in described:
        rows, files = _export_to_gcs(warehouse, base_uri, table, columns)
        tables.append(
            TableExport(table, columns, rows, files, date_ranges(warehouse, table, columns))
        )
        if log:
            log.info(f"exported processed.{table}: {rows:,} rows to {base_uri}")
    card, metadata = _documents(
        version, now, dataset_id, tables, license_name, crawl_period(warehouse)
    )
    blobs = blobs_for(export_uri)
    blobs.write(f"{version}/{CARD}", card.encode())
    blobs.write(f"{version}/{KAGGLE_METADATA}", json.dumps(metadata, indent=2).encode())
    blobs.write("LATEST", f"{version}\n".encode())
    return ExportResult(version, base_uri, tables, card, metadata)


def materialization_metadata(result: ExportResult) -> dict[str, dg.MetadataValue]:
    row_counts = {table.name: table.row_count for table in result.tables}
    file_sizes = {file.path: file.size_bytes for table in result.tables for file in table.files}
    location = result.location
    return {
        "version": dg.MetadataValue.text(result.version),
        "path": (
            dg.MetadataValue.url(location) if "://" in location else dg.MetadataValue.path(location)
        ),
        "row_counts": dg.MetadataValue.json(row_counts),
        "total_rows": dg.MetadataValue.int(sum(row_counts.values())),
        "file_sizes_bytes": dg.MetadataValue.json(file_sizes),
        "files": dg.MetadataValue.json(sorted([*file_sizes, CARD, KAGGLE_METADATA])),
        "kaggle_dataset": dg.MetadataValue.text(result.metadata["id"]),
        "card": dg.MetadataValue.md(card_preview(result.card)),
    }


@dg.asset(
    key=EXPORT_KEY,
    deps=PROCESSED_KEYS,
    group_name="export",
    kinds={"parquet", "csv"},
    pool=DUCKDB_POOL,
    description=(
        "The processed tables as a versioned dataset (Parquet + gzip CSV, dataset card, Kaggle "
        "dataset-metadata.json) under the export folder; `latest` points at the newest version."
    ),
)
def processed_dataset(
    context: dg.AssetExecutionContext, config: ExportConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    settings = load_settings()
    now = datetime.now(UTC)
    if warehouse.kind == "duckdb":
        result = export_processed(
            warehouse,
            settings.export_dir,
            settings.kaggle_dataset,
            now,
            config.license_name,
            context.log,
        )
    else:
        export_uri = f"{settings.artifact_uri.rstrip('/')}/{GCS_EXPORT_FOLDER}"
        result = export_processed_to_gcs(
            warehouse, export_uri, settings.kaggle_dataset, now, config.license_name, context.log
        )
    return dg.MaterializeResult(metadata=materialization_metadata(result))
