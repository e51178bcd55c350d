"""Dagster resources, chosen in one place from ``ANIMEREC_ENV`` (see ``settings.py``).

Every asset sees the same resource keys whatever the environment:

- ``io_manager``: the warehouse. DuckDB locally, BigQuery in production. No schema or dataset
  is configured: assets carry ``key_prefix`` = ``landing`` / ``staging`` / ``processed``, which
  becomes the DuckDB schema or the BigQuery dataset.
- ``warehouse``: ad-hoc SQL reads (quality gates, exports) against that same warehouse.
- ``dbt``: the dbt CLI, targeting the matching dbt profile target.
- ``scheduler``: the crawl scheduler database (SQLite locally, PostgreSQL in production).
- ``redis``: the Redis that serves recommendations (embedded locally, ``REDIS_URL`` in prod).
- ``artifacts``: where model artifacts live (a folder locally, a GCS prefix in production).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from dagster_dbt import DbtCliResource

from animerec_assets.defs.transform.project import DBT_PROJECT_DIR, dbt_executable
from animerec_assets.settings import Settings, load_settings


class WarehouseResource(dg.ConfigurableResource):
    """Read-only SQL against the warehouse, returning pandas DataFrames."""

    kind: str
    duckdb_path: str = ""
    gcp_project: str = ""
    location: str = ""

    def read_sql(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        if self.kind == "duckdb":
            import duckdb

            with duckdb.connect(self.duckdb_path, read_only=False) as connection:
                return connection.execute(sql, params or []).df()
        from google.cloud import bigquery

        client = bigquery.Client(project=self.gcp_project, location=self.location or None)
        return client.query(sql).to_dataframe()

    def table_exists(self, schema: str, table: str) -> bool:
        if self.kind == "duckdb":
            found = self.read_sql(
                "select count(*) as n from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            )
            return bool(found["n"].iloc[0])
        found = self.read_sql(
            f"select count(*) as n from `{self.gcp_project}.{schema}.INFORMATION_SCHEMA.TABLES` "
            f"where table_name = '{table}'"
        )
        return bool(found["n"].iloc[0])


class SchedulerResource(dg.ConfigurableResource):
    """The crawl scheduler database that decides what to crawl next."""

    db_url: str

    def get_scheduler(self):  # -> crawler.scheduler.CrawlScheduler (imported lazily)
        from crawler.scheduler import CrawlScheduler

        scheduler = CrawlScheduler(self.db_url)
        scheduler.create_tables()
        return scheduler


class RedisResource(dg.ConfigurableResource):
    """The serving Redis: ``url`` empty means the embedded server under ``embedded_dir``."""

    url: str = ""
    embedded_dir: str = ""

    def get_client(self):  # -> redis.Redis
        from animerec_assets.lib.redis_conn import connect

        return connect(self.url or None, Path(self.embedded_dir))


class ArtifactStoreResource(dg.ConfigurableResource):
    """Where versioned model artifacts are kept: a folder or a ``gs://`` prefix."""

    uri: str


def warehouse_io_manager(settings: Settings) -> dg.ConfigurableIOManagerFactory:
    """The ONE warehouse IO manager: DuckDB locally, BigQuery in production."""
    if settings.warehouse == "duckdb":
        from dagster_duckdb_pandas import DuckDBPandasIOManager

        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        return DuckDBPandasIOManager(database=str(settings.duckdb_path))
    from dagster_gcp_pandas import BigQueryPandasIOManager

    return BigQueryPandasIOManager(
        project=settings.gcp_project or "", location=settings.bigquery_location
    )


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """Every resource the asset graph needs, for the environment in ``settings``."""
    settings = settings or load_settings()
    return {
        "io_manager": warehouse_io_manager(settings),
        "warehouse": WarehouseResource(
            kind=settings.warehouse,
            duckdb_path=str(settings.duckdb_path),
            gcp_project=settings.gcp_project or "",
            location=settings.bigquery_location or "",
        ),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            target=settings.dbt_target,
            dbt_executable=dbt_executable(),
        ),
        "scheduler": SchedulerResource(db_url=settings.scheduler_db_url),
        "redis": RedisResource(
            url=settings.redis_url or "", embedded_dir=str(settings.embedded_redis_dir)
        ),
        "artifacts": ArtifactStoreResource(uri=settings.artifact_uri),
    }
