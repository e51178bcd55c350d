"""Running the feedback pipeline in Dagster for tests: landing/feedback[hour] → dbt (stg_feedback,
the feedback tables) → feedback/online_metrics, with ``dg.materialize`` on a DuckDB file and a
real Redis (the stream the app and the API write to)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from dagster_dbt import DbtCliResource
from dagster_duckdb_pandas import DuckDBPandasIOManager

from animerec_assets.defs.feedback.assets import landing_feedback, online_metrics
from animerec_assets.defs.keys import FEEDBACK_ONLINE_METRICS
from animerec_assets.defs.transform.assets import dbt_feedback, dbt_staging
from animerec_assets.lib.dbt_paths import DBT_PROJECT_DIR, dbt_executable
from animerec_assets.resources import RedisResource, WarehouseResource

HOUR_FORMAT = "%Y-%m-%d-%H:%M"
FEEDBACK_KEYS = [
    dg.AssetKey(["staging", "stg_feedback"]),
    dg.AssetKey(["feedback", "feedback_by_model_version"]),
    dg.AssetKey(["feedback", "feedback_by_reason"]),
    dg.AssetKey(["feedback", "feedback_anime_dislikes"]),
    FEEDBACK_ONLINE_METRICS,
]


def resources(database: Path, redis_url: str) -> dict:
    return {
        "io_manager": DuckDBPandasIOManager(database=str(database)),
        "warehouse": WarehouseResource(kind="duckdb", duckdb_path=str(database)),
        "redis": RedisResource(url=redis_url),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            target="local",
            dbt_executable=dbt_executable(),
        ),
    }


def land(database: Path, redis_url: str, hour: datetime) -> dict:
    """Run landing/feedback for ``hour``: the metadata of its materialization, or of its
    observation when nothing was new (``written`` says which).

    An hour's partition exists once the hour is over, so the run is dated no earlier than the
    hour's end: a test may land the hour it is in, as the hourly schedule would just after it.
    """
    run_at = max(datetime.now(UTC), hour + timedelta(hours=1))
    with dg.partition_loading_context(effective_dt=run_at):
        result = dg.materialize(
            [landing_feedback],
            resources=resources(database, redis_url),
            partition_key=hour.strftime(HOUR_FORMAT),
        )
    assert result.success
    written = result.asset_materializations_for_node("landing__feedback")
    events = written or result.asset_observations_for_node("landing__feedback")
    assert len(events) == 1
    return {
        **{name: value.value for name, value in events[0].metadata.items()},
        "written": bool(written),
    }


def build_metrics(database: Path, redis_url: str) -> dict:
    """dbt for the feedback models only, then the online metrics; the metrics' metadata."""
    result = dg.materialize(
        [landing_feedback, dbt_staging, dbt_feedback, online_metrics],
        resources=resources(database, redis_url),
        selection=FEEDBACK_KEYS,
        run_config=dg.RunConfig(
            ops={
                "feedback__online_metrics": {"config": {"min_cards": 1, "min_not_for_me_rate": 0.5}}
            }
        ),
    )
    assert result.success
    materialization = result.asset_materializations_for_node("feedback__online_metrics")[0]
    return {name: value.value for name, value in materialization.metadata.items()}


def query(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).df()
