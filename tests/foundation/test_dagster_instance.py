"""Dagster instance storage: SQLite under DAGSTER_HOME locally, PostgreSQL in production."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from animerec_assets.instance import (
    LOCAL_INSTANCE_YAML,
    PROD_INSTANCE_YAML,
    instance_yaml_for,
    prepare_dagster_home,
)
from animerec_assets.settings import load_settings


@dg.asset
def tiny_number() -> int:
    return 42


@pytest.mark.slow  # a real Dagster instance runs a job (5-9 s)
def test_local_instance_is_sqlite(animerec_home, tmp_path):
    settings = load_settings()
    assert instance_yaml_for(settings) == LOCAL_INSTANCE_YAML
    home = prepare_dagster_home(settings, tmp_path / "dagster_home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert dg.materialize([tiny_number], instance=instance).success
        assert "Sqlite" in type(instance.run_storage).__name__
        assert len(instance.get_runs()) == 1


@pytest.mark.slow  # a real Dagster instance runs a job (5-9 s)
def test_production_instance_stores_runs_in_postgres(
    monkeypatch, animerec_home, tmp_path, postgres_database
):
    pg_url = postgres_database.replace("postgresql+psycopg://", "postgresql+psycopg2://")
    monkeypatch.setenv("DAGSTER_PG_URL", pg_url)
    settings = load_settings()
    assert instance_yaml_for(settings) == PROD_INSTANCE_YAML
    home = prepare_dagster_home(settings, tmp_path / "dagster_home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize([tiny_number], instance=instance)
        assert result.success
        assert "Postgres" in type(instance.run_storage).__name__
    # Read the run back straight from PostgreSQL, not through Dagster.
    engine = sa.create_engine(postgres_database)
    with engine.connect() as connection:
        run_ids = connection.execute(sa.text("select run_id from runs")).scalars().all()
        events = connection.execute(
            sa.text("select count(*) from event_logs where run_id = :r"), {"r": result.run_id}
        ).scalar_one()
    engine.dispose()
    assert run_ids == [result.run_id]
    assert events > 0


def test_runs_whose_process_died_are_failed_and_their_pool_slots_freed(animerec_home, tmp_path):
    """A run killed with its process keeps its STARTED status and its slot of a pool with a
    limit of 1 for ever; ``release_dead_runs`` (the demo and `make ui` at start) frees both."""
    import subprocess
    import sys

    from dagster._core.test_utils import create_run_for_test

    from animerec_assets.instance import OWNER_PID_TAG, owner_tags, release_dead_runs

    home = prepare_dagster_home(load_settings(), tmp_path / "dagster_home")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
        storage = instance.event_log_storage
        storage.set_concurrency_slots("duckdb", 1)
        dead_tags = {**owner_tags(), OWNER_PID_TAG: str(gone.pid)}
        dead = create_run_for_test(
            instance, job_name="transform_job", status=dg.DagsterRunStatus.STARTED, tags=dead_tags
        )
        alive = create_run_for_test(
            instance, job_name="crawl_job", status=dg.DagsterRunStatus.STARTED, tags=owner_tags()
        )
        ended = create_run_for_test(
            instance, job_name="model_job", status=dg.DagsterRunStatus.FAILURE
        )
        assert storage.claim_concurrency_slot("duckdb", dead.run_id, "step").is_claimed
        storage.set_concurrency_slots("spare", 1)
        assert storage.claim_concurrency_slot("spare", ended.run_id, "step").is_claimed

        actions = release_dead_runs(instance)

        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
        assert storage.get_concurrency_info("duckdb").claimed_slots == []
        assert storage.get_concurrency_info("spare").claimed_slots == []
        assert any(dead.run_id in a and "failed" in a for a in actions)
        assert sum("freed" in a for a in actions) == 2
        assert release_dead_runs(instance) == []  # nothing left to release
