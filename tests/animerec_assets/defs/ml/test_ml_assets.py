"""The ML assets materialized end to end on a tiny world, through the real DuckDB IO manager."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb_pandas import DuckDBPandasIOManager
from ml_world import make_world

from animerec_assets.defs.keys import PROCESSED_ANIME as ANIME
from animerec_assets.defs.keys import PROCESSED_ANIME_ANIME as ANIME_ANIME
from animerec_assets.defs.keys import PROCESSED_USER_ANIME as USER_ANIME
from animerec_assets.defs.ml.assets import (
    anime_anime_ranked,
    user_anime_ranked,
    user_anime_retrieval,
)
from animerec_assets.defs.ml.evaluation import (
    evaluation,
    final_model_beats_popularity,
    popularity_gate,
)
from animerec_assets.lib.artifacts import ArtifactStore
from animerec_assets.resources import ArtifactStoreResource, WarehouseResource

TINY = {"retrieval_epochs": 3, "embedding_dim": 16, "ranking_epochs": 2, "n_candidates": 30}


def processed_sources() -> list[dg.AssetsDefinition]:
    user_anime, anime, anime_anime = make_world()

    @dg.asset(key=USER_ANIME)
    def processed_user_anime() -> pd.DataFrame:
        return user_anime

    @dg.asset(key=ANIME)
    def processed_anime() -> pd.DataFrame:
        return anime

    @dg.asset(key=ANIME_ANIME)
    def processed_anime_anime() -> pd.DataFrame:
        return anime_anime

    return [processed_user_anime, processed_anime, processed_anime_anime]


@pytest.mark.slow  # TensorFlow training
def test_ml_assets_materialize_publish_artifacts_and_pass_the_gate(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        [
            *processed_sources(),
            user_anime_retrieval,
            user_anime_ranked,
            anime_anime_ranked,
            evaluation,
            final_model_beats_popularity,
        ],
        resources={
            "io_manager": DuckDBPandasIOManager(database=str(database)),
            "artifacts": ArtifactStoreResource(uri=str(tmp_path / "artifacts")),
            "warehouse": WarehouseResource(kind="duckdb", duckdb_path=str(database)),
        },
        run_config=dg.RunConfig(
            ops={
                "user_anime_retrieval": {"config": TINY},
                "ml__user_anime_ranked": {"config": TINY},
                "ml__anime_anime_ranked": {
                    "config": {"retrieval_epochs": 3, "ranking_epochs": 1, "n_candidates": 30}
                },
                "ml__evaluation": {
                    "config": {
                        "seeds": [0],
                        "retrieval_epochs": 3,
                        "ranking_epochs": 1,
                        "anime_anime_epochs": 3,
                    }
                },
            }
        ),
    )
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [True]
    with duckdb.connect(str(database), read_only=True) as con:
        ranked = con.execute("select * from ml.user_anime_ranked").df()
        similar = con.execute("select * from ml.anime_anime_ranked").df()
        summary = con.execute("select * from ml.evaluation").df()
    assert {"user_id", "anime_id", "rank", "score"} <= set(ranked.columns)
    assert ranked.groupby("user_id")["rank"].max().eq(30).all()
    assert pd.api.types.is_integer_dtype(ranked["reason_anime_id"])  # Int64 when NULLs
    assert ranked["reason_anime_id"].notna().mean() > 0.9
    assert (ranked["reason_anime_id"] != ranked["anime_id"]).all()
    user_anime = make_world()[0]
    own = ranked.dropna(subset=["reason_anime_id"]).merge(
        user_anime[user_anime["score"] >= 7],
        left_on=["user_id", "reason_anime_id"],
        right_on=["user_id", "anime_id"],
    )
    assert len(own) == ranked["reason_anime_id"].notna().sum()
    assert {"animeA", "animeB", "rank", "score"} <= set(similar.columns)
    assert "user_anime final" in set(summary["model"])
    store = ArtifactStore(str(tmp_path / "artifacts"))
    for kind in ("user_anime_retrieval", "user_anime_ranking", "anime_anime", "evaluation"):
        assert store.versions(kind), kind
    materialization = result.asset_materializations_for_node("ml__evaluation")[0]
    assert "data:image/png;base64," in materialization.metadata["chart"].value


@pytest.mark.parametrize(("final", "passed"), [(0.30, True), (0.10, False)], ids=["beats", "loses"])
def test_popularity_gate_blocks_a_model_that_loses(final: float, passed: bool) -> None:
    summary = pd.DataFrame(
        {
            "model": ["popularity", "user_anime final"],
            "recall@20_mean": [0.2, final],
            "ndcg@20_mean": [0.2, final],
        }
    )
    assert popularity_gate(summary).passed is passed
    assert popularity_gate(summary.iloc[:1]).passed is False
