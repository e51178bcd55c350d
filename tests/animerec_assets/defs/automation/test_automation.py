"""Schedules and sensors: the hourly crawl, and the sensors that react to new data."""

from __future__ import annotations

import dagster as dg
import pytest

from animerec_assets.definitions import build_definitions
from animerec_assets.defs.automation.definitions import (
    hourly_crawl_schedule,
    landing_sensor,
    model_job_for,
    retrain_sensor,
    transform_job,
)


@dg.asset(key=["landing", "anime"])
def fake_landing_anime() -> None:
    return None


@dg.asset(key=["processed", "anime"], deps=[fake_landing_anime], group_name="processed")
def fake_processed_anime() -> None:
    return None


@dg.asset(key=["ml", "model"], deps=[fake_processed_anime], group_name="ml")
def fake_model() -> None:
    return None


def _definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[fake_landing_anime, fake_processed_anime, fake_model],
        jobs=[transform_job, model_job_for("local")],
        sensors=[landing_sensor, retrain_sensor],
    )


def _evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None):
    definitions = _definitions()
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions)
    return sensor.evaluate_tick(context)


def test_automation_starts_running():
    assert hourly_crawl_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert landing_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert retrain_sensor.default_status == dg.DefaultSensorStatus.RUNNING


@pytest.mark.slow  # a Dagster instance, two materializations, sensor ticks (~10 s)
def test_landing_sensor_runs_transform_once_per_new_landing_data():
    with dg.instance_for_test() as instance:
        first = _evaluate(landing_sensor, instance, None)
        assert not first.run_requests  # nothing landed yet
        dg.materialize([fake_landing_anime], instance=instance)
        second = _evaluate(landing_sensor, instance, None)
        assert len(second.run_requests) == 1
        # Same data again: the cursor remembers it.
        third = _evaluate(landing_sensor, instance, second.cursor)
        assert not third.run_requests
        # Processed changed: the retrain sensor fires, the landing sensor does not.
        dg.materialize([fake_processed_anime], instance=instance)
        assert not _evaluate(landing_sensor, instance, second.cursor).run_requests
        assert len(_evaluate(retrain_sensor, instance, None).run_requests) == 1


def test_hourly_schedule_asks_for_the_hour_that_just_ended(animerec_home):
    definitions = build_definitions()
    schedule = definitions.resolve_schedule_def("crawl_job_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=_at("2026-11-23T06:00:00"))
    result = schedule.evaluate_tick(context)
    assert [r.partition_key for r in result.run_requests] == ["2026-11-23-05:00"]


def test_feedback_lands_hourly_on_its_own_and_feeds_the_transform_not_the_model(animerec_home):
    definitions = build_definitions()
    schedule = definitions.resolve_schedule_def("feedback_landing_job_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    context = dg.build_schedule_context(scheduled_execution_time=_at("2026-11-23T06:00:00"))
    result = schedule.evaluate_tick(context)
    assert [r.partition_key for r in result.run_requests] == ["2026-11-23-05:00"]

    def keys(job: str) -> set[tuple[str, ...]]:
        layer = definitions.resolve_job_def(job).asset_layer
        return {tuple(key.path) for key in layer.executable_asset_keys}

    assert keys("feedback_landing_job") == {("landing", "feedback")}
    assert ("landing", "feedback") not in keys("crawl_job")
    assert {
        ("staging", "stg_feedback"),
        ("feedback", "feedback_by_model_version"),
        ("feedback", "online_metrics"),
    } <= keys("transform_job")
    # feedback changes no model: the retrain sensor watches processed only
    assert not any(key[0] == "feedback" for key in keys("model_job"))


def test_processed_tables_carry_a_freshness_policy(animerec_home):
    graph = build_definitions().resolve_asset_graph()
    processed = [key for key in graph.get_all_asset_keys() if key.path[0] == "processed"]
    assert len(processed) == 5
    for key in processed:
        assert graph.get(key).freshness_policy is not None


def _at(iso: str):
    from datetime import datetime

    return datetime.fromisoformat(iso + "+00:00")
