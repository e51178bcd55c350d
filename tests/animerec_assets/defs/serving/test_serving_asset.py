"""The publish asset, materialized by Dagster on small frames against a real redis-server."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from animerec_assets.defs.keys import ML_ANIME_ANIME_RANKED as SIMILAR_KEY
from animerec_assets.defs.keys import ML_USER_ANIME_RANKED as USER_RECS_KEY
from animerec_assets.defs.keys import PROCESSED_ANIME as ANIME_KEY
from animerec_assets.defs.keys import PROCESSED_ANIME_ANIME as RELATIONS_KEY
from animerec_assets.defs.keys import PROCESSED_USER_ANIME as LISTS_KEY
from animerec_assets.defs.serving.assets import model_version_of, redis_recommendations
from animerec_assets.defs.serving.definitions import defs
from animerec_assets.lib.redis_conn import connect
from animerec_assets.lib.serving import (
    get_anime,
    get_freshness,
    get_recommendations,
    get_similar,
    get_user_view,
)
from animerec_assets.lib.serving.payloads import TOP_N_PLAN_TO_WATCH, TOP_N_USER
from animerec_assets.lib.serving.synthetic import (
    synthetic_anime,
    synthetic_similar,
    synthetic_user_lists,
    synthetic_user_recommendations,
)
from animerec_assets.resources import RedisResource, WarehouseResource


class FramesIOManager(dg.IOManager):
    """Hands the asset the model outputs it would read from the warehouse."""

    def __init__(self, frames: dict[dg.AssetKey, pd.DataFrame]) -> None:
        self.frames = frames

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return self.frames[context.asset_key]

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        raise AssertionError("the publish asset must not write to the warehouse")


def _materialize(frames, redis_dir: Path, instance: dg.DagsterInstance) -> dg.ExecuteInJobResult:
    return dg.materialize(
        [redis_recommendations, dg.AssetSpec(USER_RECS_KEY), dg.AssetSpec(SIMILAR_KEY),
         dg.AssetSpec(ANIME_KEY), dg.AssetSpec(RELATIONS_KEY), dg.AssetSpec(LISTS_KEY)],
        resources={
            "io_manager": FramesIOManager(frames),
            "redis": RedisResource(url="", embedded_dir=str(redis_dir)),
            # an empty DuckDB file: no landing.optout yet, so nobody to forget
            "warehouse": WarehouseResource(
                kind="duckdb", duckdb_path=str(redis_dir.parent / "warehouse.duckdb")
            ),
        },
        instance=instance,
        selection=[redis_recommendations.key],
        raise_on_error=False,
    )  # fmt: skip


@pytest.fixture
def frames() -> dict[dg.AssetKey, pd.DataFrame]:
    return {
        USER_RECS_KEY: synthetic_user_recommendations(50, 100, per_user=30),
        # with review columns the publish does not read (processed.user_anime has more)
        LISTS_KEY: synthetic_user_lists(50, 100, per_user=30, list_size=5).assign(review_id=None),
        SIMILAR_KEY: synthetic_similar(100),
        ANIME_KEY: synthetic_anime(100),
        RELATIONS_KEY: pd.DataFrame(
            {
                "animeA": [1, 2, 5],
                "animeB": [2, 1, 6],
                "related": [1, 1, 0],
                "relation_type": ["Sequel", "Prequel", None],
            }
        ),
    }


def test_asset_publishes_and_reports_metadata(animerec_home: Path, frames) -> None:
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(
        dg.AssetMaterialization(USER_RECS_KEY, metadata={"model_version": "tfrs-test-1"})
    )
    result = _materialize(frames, animerec_home / "redis", instance)
    assert result.success
    metadata = result.asset_materializations_for_node("serving__redis_recommendations")[0].metadata
    assert metadata["model_version"].value == "tfrs-test-1"
    assert metadata["n_users"].value == 50
    assert metadata["n_user_lists"].value == 50
    assert metadata["top_n"].value == TOP_N_USER and metadata["user_list_bytes"].value > 0
    assert metadata["keys_written"].value == 50 + 50 + 100 + 3
    assert metadata["duration_seconds"].value > 0
    client = connect(None, animerec_home / "redis")
    freshness = get_freshness(client)
    assert freshness.version == metadata["version"].value
    assert freshness.model_version == "tfrs-test-1"
    assert len(get_recommendations(client, "user_3")) == 30  # 24 unlisted + 6 planned
    assert len(get_user_view(client, "user_3").user_list or {}) == 6 + 5
    assert get_similar(client, 1)
    sequel = get_anime(client, 2)
    assert (sequel.franchise_id, sequel.franchise_order, sequel.prequel_ids) == (1, 2, (1,))
    assert get_anime(client, 6).franchise_id == 6  # a recommendation is not a relation

    # the same model published again keeps the rollback target (a retry must not push the
    # real previous model out of reach); a new model makes this version the previous one
    again = _materialize(frames, animerec_home / "redis", instance)
    assert again.success
    second = again.asset_materializations_for_node("serving__redis_recommendations")[0].metadata
    assert second["previous_version"].value == ""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(USER_RECS_KEY, metadata={"model_version": "tfrs-test-2"})
    )
    newer = _materialize(frames, animerec_home / "redis", instance)
    assert newer.success
    third = newer.asset_materializations_for_node("serving__redis_recommendations")[0].metadata
    assert third["previous_version"].value == second["version"].value


def test_bad_model_output_fails_the_run_and_keeps_the_live_version(
    animerec_home: Path, frames
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    assert _materialize(frames, animerec_home / "redis", instance).success
    client = connect(None, animerec_home / "redis")
    live = get_freshness(client).version
    broken = dict(frames)
    broken[SIMILAR_KEY] = frames[SIMILAR_KEY].drop(columns="score")
    result = _materialize(broken, animerec_home / "redis", instance)
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.error
    assert "missing columns ['score']" in failure.to_string()
    assert get_freshness(client).version == live


def test_model_version_falls_back_to_the_producing_run() -> None:
    instance = dg.DagsterInstance.ephemeral()
    assert model_version_of(instance) == "unknown"
    instance.report_runless_asset_event(dg.AssetMaterialization(USER_RECS_KEY))
    assert model_version_of(instance).startswith("run-")


def test_publish_config_defaults_are_the_librarys() -> None:
    from animerec_assets.defs.serving.assets import ServingPublish

    assert (ServingPublish().top_n, ServingPublish().top_n_plan_to_watch) == (
        TOP_N_USER,
        TOP_N_PLAN_TO_WATCH,
    )


def test_stage_definitions_hold_the_asset() -> None:
    keys = {key for asset in defs.assets for key in asset.keys}
    assert dg.AssetKey(["serving", "redis_recommendations"]) in keys
