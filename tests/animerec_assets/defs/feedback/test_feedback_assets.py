"""Visitors' feedback end to end in Dagster: events in a real Redis stream → landing/feedback[hour]
→ dbt (stg_feedback, the feedback tables) → feedback/online_metrics, on a temp DuckDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
import redis
from dagster_dbt import DbtCliResource
from dagster_duckdb_pandas import DuckDBPandasIOManager
from feedback_stream import SESSION_A, SESSION_B, add_entries, feedback_event

from animerec_assets.contracts.feedback import STREAM_KEY
from animerec_assets.defs.feedback.assets import landing_feedback, online_metrics
from animerec_assets.defs.keys import FEEDBACK_ONLINE_METRICS, LANDING_FEEDBACK
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
    observation when nothing was new (``written`` says which)."""
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


@pytest.mark.slow
def test_events_land_once_are_measured_per_model_version_and_expire(
    animerec_home: Path, private_redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = animerec_home / "warehouse.duckdb"
    client = redis.Redis.from_url(private_redis.url)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hour, old_hour = now - timedelta(hours=1), now - timedelta(days=3)
    try:
        add_entries(client, old_hour, [feedback_event(model_version="v-old", action="like")])
        visitor_a = {"session_id": SESSION_A, "model_version": "v-test"}
        visitor_b = {"session_id": SESSION_B, "model_version": "v-test", "origin": "api"}
        add_entries(
            client,
            hour + timedelta(minutes=5),
            [
                feedback_event(**visitor_a, anime_id=1, position=0, reason_type="similar_to"),
                feedback_event(**visitor_a, anime_id=2, position=1),
                feedback_event(**visitor_a, anime_id=1, action="like", reason_type="similar_to"),
                feedback_event(**visitor_a, anime_id=1, action="like", reason_type="similar_to"),
                {b"\xff\xfe": b"garbage"},
                feedback_event(**visitor_a, anime_id=2, action="dislike"),
                feedback_event(
                    **visitor_a, anime_id=1, action="click_mal", reason_type="similar_to"
                ),
                feedback_event(**visitor_a, anime_id=None, position=None, action="more"),
                feedback_event(**visitor_b, anime_id=1, position=0, reason_type="similar_to"),
                feedback_event(**visitor_b, anime_id=3, position=1),
                feedback_event(**visitor_b, action="explode"),
                feedback_event(**visitor_b, anime_id=3, action="hide"),
            ],
        )
        add_entries(client, now + timedelta(minutes=1), [feedback_event(model_version="v-next")])

        assert land(database, private_redis.url, old_hour)["rows"] == 1
        first = land(database, private_redis.url, hour)
        assert (first["rows"], first["new_rows"], first["stream_entries"]) == (10, 10, 12)
        assert first["written"]
        assert first["invalid_entries"] == 2
        assert first["invalid_reasons"] == {"action: invalid": 1, "unknown field": 1}
        assert first["model_versions"] == {"v-test": 10}

        # the same hour again: nothing new, nothing twice, nothing rewritten
        again = land(database, private_redis.url, hour)
        assert (again["rows"], again["new_rows"], again["written"]) == (10, 0, False)
        landed = query(database, 'select * from landing."feedback"')
        assert len(landed) == 11 and landed["event_id"].is_unique
        assert set(landed["model_version"]) == {"v-old", "v-test"}  # not the next hour's

        metrics = build_metrics(database, private_redis.url)
        assert metrics["newest_version"] == "v-test"
        assert metrics["model_versions"] == 2
        assert metrics["newest like"] == pytest.approx(0.25)  # 1 like over 4 cards
        assert metrics["newest not for me"] == pytest.approx(0.25)
        assert metrics["newest MAL click-through"] == pytest.approx(0.25)
        assert metrics["newest picks per session"] == pytest.approx(2.0)
        assert "data:image/png;base64," in metrics["chart"]
        # anime 2 (shown "popular") was marked "not for me" by the one session that saw it;
        # anime 3 was hidden, which is not a "not for me"
        assert metrics["often_turned_down"] == 1
        assert "| 2 | popular | 1 | 1 | 0 | 100.0% |" in metrics["often_turned_down_anime"]
        versions = query(database, 'select * from feedback."feedback_by_model_version"')
        test = versions.set_index("model_version").loc["v-test"]
        assert (test["sessions"], test["cards"], test["likes"], test["dislikes"]) == (2, 4, 1, 1)
        assert (test["hides"], test["mal_clicks"], test["more_requests"]) == (1, 1, 1)
        reasons = query(database, 'select * from feedback."feedback_by_reason"')
        similar = reasons.set_index(["model_version", "reason_type"]).loc[("v-test", "similar_to")]
        assert (similar["cards"], similar["likes"], similar["like_rate"]) == (2, 1, 0.5)

        # Retention shortened to two days: the old event leaves the stream, landing, staging
        # and the metrics; the hour's events stay.
        monkeypatch.setenv("ANIMEREC_FEEDBACK_RETENTION_DAYS", "2")
        expired = land(database, private_redis.url, hour)
        assert (expired["expired_rows_deleted"], expired["stream_entries_trimmed"]) == (1, 1)
        assert len(query(database, 'select * from landing."feedback"')) == 10
        assert client.xlen(STREAM_KEY) == 13  # 14 added, the old one trimmed
        metrics = build_metrics(database, private_redis.url)
        assert metrics["model_versions"] == 1
        staged = query(database, "select * from staging.stg_feedback")
        assert set(staged["model_version"]) == {"v-test"} and len(staged) == 10

        # The stream lost the hour (MAXLEN): a re-run keeps what landed, untouched.
        client.xtrim(STREAM_KEY, maxlen=0, approximate=False)
        evicted = land(database, private_redis.url, hour)
        assert (evicted["rows"], evicted["stream_entries"], evicted["written"]) == (10, 0, False)
        assert len(query(database, 'select * from landing."feedback"')) == 10
    finally:
        client.close()


def test_landing_feedback_is_an_hourly_landing_asset() -> None:
    spec = landing_feedback.specs_by_key[LANDING_FEEDBACK]
    assert spec.partitions_def is not None and spec.metadata["partition_expr"] == "event_hour"
    assert landing_feedback.op.pool == "duckdb"
    assert {key.path[0] for key in dbt_feedback.keys} == {"feedback"}


CRASHING_RUN = """
import dagster as dg
from dagster_duckdb_pandas import DuckDBPandasIOManager
from animerec_assets.defs.feedback.assets import landing_feedback
from animerec_assets.resources import RedisResource, WarehouseResource
database, redis_url, partition = {args!r}
dg.materialize(
    [landing_feedback],
    resources={{
        "io_manager": DuckDBPandasIOManager(database=database),
        "warehouse": WarehouseResource(kind="duckdb", duckdb_path=database),
        "redis": RedisResource(url=redis_url),
    }},
    partition_key=partition,
)
"""


@pytest.mark.slow
def test_a_landing_killed_before_its_write_loses_nothing_and_lands_nothing_twice(
    animerec_home: Path, private_redis
) -> None:
    database = animerec_home / "warehouse.duckdb"
    client = redis.Redis.from_url(private_redis.url)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    try:
        add_entries(client, hour, [feedback_event(anime_id=i) for i in (1, 2)])
        assert land(database, private_redis.url, hour)["rows"] == 2
        add_entries(client, hour + timedelta(minutes=30), [feedback_event(anime_id=3)])

        args = (str(database), private_redis.url, hour.strftime(HOUR_FORMAT))
        killed = subprocess.run(
            [sys.executable, "-c", CRASHING_RUN.format(args=args)],
            env={**os.environ, "ANIMEREC_CRASH_AT": "feedback_landing_before_write"},
            capture_output=True,
            timeout=300,
        )
        assert killed.returncode == -signal.SIGKILL
        assert len(query(database, 'select * from landing."feedback"')) == 2
        assert client.xlen(STREAM_KEY) == 3  # the stream kept every event

        rerun = land(database, private_redis.url, hour)
        assert (rerun["rows"], rerun["new_rows"], rerun["written"]) == (3, 1, True)
        landed = query(database, 'select * from landing."feedback"')
        assert sorted(landed["anime_id"]) == [1, 2, 3] and landed["event_id"].is_unique
    finally:
        client.close()
