"""Dagster resources, chosen in one place from ``ANIMEREC_ENV`` (see ``settings.py``).

Every asset sees the same resource keys whatever the environment; what differs between local
and production is which resource stands behind a key, decided here and nowhere else:

- ``io_manager``: the warehouse. DuckDB locally, BigQuery in production. No schema or dataset
  is configured: assets carry ``key_prefix`` = ``landing`` / ``staging`` / ``processed``, which
  becomes the DuckDB schema or the BigQuery dataset.
- ``warehouse``: ad-hoc SQL reads (quality gates, exports) against that same warehouse.
- ``dbt``: the dbt CLI, targeting the matching dbt profile target.
- ``scheduler``: the crawl scheduler database (SQLite locally, PostgreSQL in production).
- ``crawl_runner``: crawls in the run with Scrapy locally, enqueues for the crawler workers in
  production (``crawl.py``).
- ``redis``: the Redis that serves recommendations (embedded locally, ``REDIS_URL`` in prod).
- ``artifacts``: where model artifacts live (a folder locally, a GCS prefix in production).
- ``export_target``: where the dataset export goes (a folder locally, GCS in production).
"""

from __future__ import annotations

from typing import Any

from dagster_dbt import DbtCliResource

from animerec_assets.lib.dbt_paths import DBT_PROJECT_DIR, dbt_executable
from animerec_assets.resources.crawl import (
    CrawlRunnerResource,
    InProcessCrawlRunner,
    QueueCrawlRunner,
)
from animerec_assets.resources.export import (
    GCS_EXPORT_FOLDER,
    ExportTargetResource,
    FolderExportTarget,
    GcsExportTarget,
)
from animerec_assets.resources.services import (
    ArtifactStoreResource,
    RedisResource,
    SchedulerResource,
)
from animerec_assets.resources.warehouse import (
    WarehouseResource,
    warehouse_io_manager,
    warehouse_resource,
)
from animerec_assets.settings import Settings, load_settings

__all__ = [
    "ArtifactStoreResource",
    "CrawlRunnerResource",
    "ExportTargetResource",
    "FolderExportTarget",
    "GcsExportTarget",
    "InProcessCrawlRunner",
    "QueueCrawlRunner",
    "RedisResource",
    "SchedulerResource",
    "WarehouseResource",
    "build_resources",
    "crawl_runner",
    "export_target",
    "warehouse_io_manager",
]


def crawl_runner(settings: Settings, redis: RedisResource) -> CrawlRunnerResource:
    """In the run locally; on the queue workers in production."""
    output_dir = str(settings.crawl_output_dir)
    if settings.env == "prod":
        return QueueCrawlRunner(output_dir=output_dir, redis=redis)
    return InProcessCrawlRunner(output_dir=output_dir)


def export_target(settings: Settings) -> ExportTargetResource:
    """A folder next to a DuckDB warehouse; the artifact bucket next to BigQuery (the warehouse
    writes the files, so the target follows the warehouse)."""
    if settings.warehouse == "duckdb":
        return FolderExportTarget(
            dataset_id=settings.kaggle_dataset, folder=str(settings.export_dir)
        )
    return GcsExportTarget(
        dataset_id=settings.kaggle_dataset,
        uri=f"{settings.artifact_uri.rstrip('/')}/{GCS_EXPORT_FOLDER}",
    )


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """Every resource the asset graph needs, for the environment in ``settings``."""
    settings = settings or load_settings()
    redis = RedisResource(
        url=settings.redis_url or "", embedded_dir=str(settings.embedded_redis_dir)
    )
    return {
        "io_manager": warehouse_io_manager(settings),
        "warehouse": warehouse_resource(settings),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            target=settings.dbt_target,
            dbt_executable=dbt_executable(),
        ),
        "scheduler": SchedulerResource(db_url=settings.scheduler_db_url),
        "crawl_runner": crawl_runner(settings, redis),
        "redis": redis,
        "artifacts": ArtifactStoreResource(uri=settings.artifact_uri),
        "export_target": export_target(settings),
    }
