"""Prepare DAGSTER_HOME with the instance configuration for the current environment.

Dagster reads ``$DAGSTER_HOME/dagster.yaml``. The repository keeps one file per environment
(``dagster.yaml`` for local SQLite storage, ``deploy/dagster.prod.yaml`` for PostgreSQL), and
``ANIMEREC_ENV`` (or an explicit ``DAGSTER_PG_URL``) decides which one is installed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from animerec_assets.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCAL_INSTANCE_YAML = REPO_ROOT / "dagster.yaml"
PROD_INSTANCE_YAML = REPO_ROOT / "deploy" / "dagster.prod.yaml"


def instance_yaml_for(settings: Settings) -> Path:
    """PostgreSQL storage in production or whenever DAGSTER_PG_URL is given; else SQLite."""
    if settings.env == "prod" or settings.dagster_pg_url:
        return PROD_INSTANCE_YAML
    return LOCAL_INSTANCE_YAML


def prepare_dagster_home(settings: Settings | None = None, home: Path | None = None) -> Path:
    """Create DAGSTER_HOME (default ``$ANIMEREC_HOME/dagster_home``) and install dagster.yaml."""
    settings = settings or load_settings()
    chosen = home or Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster_home")
    chosen.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(instance_yaml_for(settings), chosen / "dagster.yaml")
    return chosen


# ---- runs that died without telling the instance ---------------------------------------------

OWNER_PID_TAG = "animerec/pid"
OWNER_HOST_TAG = "animerec/host"
OWNER_STARTED_TAG = "animerec/process_started"


def owner_tags() -> dict[str, str]:
    """Tags naming the process that executes a run in process, so a later process can tell
    whether that run is still alive (Dagster cannot: no run launcher watches such runs)."""
    import socket

    import psutil

    return {
        OWNER_PID_TAG: str(os.getpid()),
        OWNER_HOST_TAG: socket.gethostname(),
        OWNER_STARTED_TAG: f"{psutil.Process().create_time():.2f}",
    }


def _owner_is_dead(tags: dict[str, str]) -> bool:
    """True when the tags name a process on this host that no longer exists."""
    import socket

    import psutil

    if OWNER_PID_TAG not in tags or tags.get(OWNER_HOST_TAG) != socket.gethostname():
        return False
    try:
        process = psutil.Process(int(tags[OWNER_PID_TAG]))
        started = f"{process.create_time():.2f}"
    except (psutil.NoSuchProcess, ValueError):
        return True
    return started != tags.get(OWNER_STARTED_TAG)  # the pid was reused by another process


def release_dead_runs(instance) -> list[str]:  # type: ignore[no-untyped-def]
    """Mark in-progress runs whose process died as failed, and free the concurrency slots held
    by runs that are no longer alive. Returns one line per action, for the caller to print.

    A run killed with its process (SIGKILL, a closed terminal) keeps its slot of a pool
    whose limit is 1 for ever; every later run then waits on it.
    """
    from dagster import DagsterRunStatus, RunsFilter
    from dagster._core.storage.dagster_run import FINISHED_STATUSES, IN_PROGRESS_RUN_STATUSES

    actions: list[str] = []
    in_progress = instance.get_run_records(
        filters=RunsFilter(statuses=list(IN_PROGRESS_RUN_STATUSES))
    )
    for record in in_progress:
        run = record.dagster_run
        if _owner_is_dead(dict(run.tags)):
            instance.report_run_failed(run, "the process executing this run is gone")
            actions.append(f"marked run {run.run_id} ({run.job_name}) failed: its process died")
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return actions
    holders = set(storage.get_concurrency_run_ids())
    if not holders:
        return actions
    known = {
        record.dagster_run.run_id: record.dagster_run
        for record in instance.get_run_records(filters=RunsFilter(run_ids=sorted(holders)))
    }
    for run_id in sorted(holders):
        run = known.get(run_id)
        if run is not None and run.status not in FINISHED_STATUSES:
            continue
        storage.free_concurrency_slots_for_run(run_id)
        status = run.status.value if run is not None else DagsterRunStatus.FAILURE.value
        name = run.job_name if run is not None else "deleted run"
        actions.append(f"freed the concurrency slots of run {run_id} ({name}, {status})")
    return actions


def main() -> None:
    """``python -m animerec_assets.instance``: prepare DAGSTER_HOME, release dead runs, print
    the home (the one line on stdout) — what ``make ui`` does before ``dagster dev``."""
    import sys

    home = prepare_dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        for action in release_dead_runs(instance):
            print(f"[instance] {action}", file=sys.stderr)
    print(home)


if __name__ == "__main__":
    main()
