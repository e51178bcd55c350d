"""Jobs, the hourly crawl schedule and the sensors that keep the graph moving.

- ``crawl_job`` (hourly partitions): scheduler batch → crawl → landing tables, every hour.
- ``feedback_landing_job`` (hourly partitions): the hour's visitors' feedback events from the
  Redis stream → ``landing.feedback``, every hour, apart from the crawl (a slow crawl hour, or
  one waiting for the queue to drain, never holds feedback back).
- ``landing_sensor``: when landing has new partitions, build staging and processed (dbt + gates)
  and the feedback tables with their online metrics.
- ``retrain_sensor``: when processed changed, retrain, evaluate and publish to Redis.
- Queue backlog (a step, not a sensor): in production the hour's crawl runs on queue workers;
  the landing step waits until the queue has drained or ``drain_timeout_s`` passed, says which
  (run log and the landing outputs' ``queue`` metadata), and loads the batches the workers
  recorded as complete (``QueueCrawlRunner``, ``lib/crawl_manifest.py``).
- Freshness: processed tables are expected to be refreshed within a few hours.
- Executors: locally every job runs on the default (multiprocess) executor; in production
  the model job trains off the Dagster host, one Kubernetes pod per step
  (``dagster_k8s.k8s_job_executor``, pods sized by the ML assets' op tags), and its runs
  carry the ``animerec/workload=training`` tag the run queue limits to one at a time.

Automation starts RUNNING: a local ``make demo`` keeps crawling the replica while it serves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dagster as dg

from animerec_assets.defs.keys import FEEDBACK, LANDING, LANDING_FEEDBACK, PROCESSED, STAGING
from animerec_assets.deploy_tags import TRAINING_RUN_TAGS
from animerec_assets.settings import Environment

CRAWL_SELECTION = dg.AssetSelection.groups("crawl", LANDING) - dg.AssetSelection.assets(
    LANDING_FEEDBACK
)
FEEDBACK_LANDING_SELECTION = dg.AssetSelection.assets(LANDING_FEEDBACK)
# feedback: dbt's feedback tables and the online metrics (not processed: retraining and the
# export never wait on them)
TRANSFORM_SELECTION = dg.AssetSelection.groups(STAGING, PROCESSED, FEEDBACK)
MODEL_SELECTION = dg.AssetSelection.groups("ml", "serving", "export")
MODEL_JOB = "model_job"
PROCESSED_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=6), warn_window=timedelta(hours=2)
)

crawl_job = dg.define_asset_job(
    "crawl_job",
    selection=CRAWL_SELECTION,
    description="Take the hour's batch from the crawl scheduler, crawl it, land the items.",
)
feedback_landing_job = dg.define_asset_job(
    "feedback_landing_job",
    selection=FEEDBACK_LANDING_SELECTION,
    description="Land the hour's visitors' feedback events from the Redis stream.",
)
transform_job = dg.define_asset_job(
    "transform_job",
    selection=TRANSFORM_SELECTION,
    description=(
        "dbt staging, processed and feedback models with their tests and the quality gates; "
        "the online metrics."
    ),
    # one process for the whole run: dbt is imported and the project parsed once for the three
    # dbt steps (lib/dbt_invoke.py); the steps share one DuckDB file and run one at a time anyway
    executor_def=dg.in_process_executor,
)


def model_executor(env: Environment) -> dg.ExecutorDefinition | None:
    """Production trains off the Dagster host: every step in its own Kubernetes pod, sized by
    its ``dagster-k8s/config`` op tags. ``None`` keeps the default executor (local)."""
    if env == "prod":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    return None


def model_job_for(env: Environment) -> dg.UnresolvedAssetJobDefinition:
    """The model job with the executor of ``env``."""
    return dg.define_asset_job(
        MODEL_JOB,
        selection=MODEL_SELECTION,
        description="Train, evaluate, publish recommendations to Redis, export the dataset.",
        executor_def=model_executor(env),
        tags=TRAINING_RUN_TAGS,
    )


hourly_crawl_schedule = dg.build_schedule_from_partitioned_job(
    crawl_job, default_status=dg.DefaultScheduleStatus.RUNNING
)
hourly_feedback_schedule = dg.build_schedule_from_partitioned_job(
    feedback_landing_job, default_status=dg.DefaultScheduleStatus.RUNNING
)


def _latest_storage_id(
    instance: dg.DagsterInstance, selection: dg.AssetSelection, asset_graph: Any
) -> int:
    """The newest materialization storage id among the selected assets (0 when none)."""
    keys = selection.resolve(asset_graph)
    latest = 0
    for key in keys:
        record = instance.fetch_materializations(key, limit=1).records
        if record:
            latest = max(latest, record[0].storage_id)
    return latest


def _new_materializations_sensor(
    name: str, watched: dg.AssetSelection, job_name: str, description: str
) -> dg.SensorDefinition:
    @dg.sensor(
        name=name,
        job_name=job_name,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=description,
    )
    def _sensor(context: dg.SensorEvaluationContext):
        latest = _latest_storage_id(context.instance, watched, context.repository_def.asset_graph)
        seen = int(context.cursor or 0)
        if latest <= seen:
            return dg.SkipReason("nothing new upstream since the last run")
        context.update_cursor(str(latest))
        return dg.RunRequest(run_key=f"{name}-{latest}")

    return _sensor


landing_sensor = _new_materializations_sensor(
    "landing_sensor",
    dg.AssetSelection.key_prefixes([LANDING]),
    transform_job.name,
    "Build staging and processed when landing has new partitions.",
)
retrain_sensor = _new_materializations_sensor(
    "retrain_sensor",
    dg.AssetSelection.key_prefixes([PROCESSED]),
    MODEL_JOB,
    "Retrain, evaluate and publish when the processed tables changed.",
)


def automation_definitions(env: Environment) -> dg.Definitions:
    """The jobs, schedule and sensors; only the model job's executor depends on ``env``."""
    return dg.Definitions(
        jobs=[crawl_job, feedback_landing_job, transform_job, model_job_for(env)],
        schedules=[hourly_crawl_schedule, hourly_feedback_schedule],
        sensors=[landing_sensor, retrain_sensor],
    )
