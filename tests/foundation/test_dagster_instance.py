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
