"""The evaluation's side-by-side history: each model version with the offline metrics of the
run that trained it (from the Dagster instance) and its online metrics (feedback tables)."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from animerec_assets.defs.keys import ML_EVALUATION, ML_USER_ANIME_RANKED
from animerec_assets.defs.ml.evaluation import offline_history
from animerec_assets.lib.feedback.metrics import side_by_side


def model_run(instance: dg.DagsterInstance, version: str | None, ndcg: float) -> str:
    """One model job run: a published version and its evaluation; the run id."""

    @dg.asset(key=ML_USER_ANIME_RANKED)
    def ranked() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"model_version": version} if version else {})

    @dg.asset(key=ML_EVALUATION)
    def evaluation() -> dg.MaterializeResult:
        return dg.MaterializeResult(
            metadata={"user_anime final ndcg@20": ndcg, "user_anime final recall@20": ndcg + 0.1}
        )

    return dg.materialize([ranked, evaluation], instance=instance).run_id


@pytest.mark.slow  # a Dagster instance and three model runs
def test_each_version_gets_its_own_runs_offline_metrics_and_this_run_is_listed() -> None:
    summary = pd.DataFrame(
        {"model": ["popularity", "user_anime final"], "recall@20_mean": [0.1, 0.5],
         "ndcg@20_mean": [0.05, 0.4]}
    )  # fmt: skip
    with dg.instance_for_test() as instance:
        model_run(instance, "v1", 0.20)
        unnamed = model_run(instance, None, 0.22)
        model_run(instance, "v2", 0.25)
        history = offline_history(instance, "f" * 36, summary, last=5)
        assert history["model_version"].tolist() == [
            "v1", f"run-{unnamed[:8]}", "v2", "run-ffffffff (not published yet)",
        ]  # fmt: skip
        assert history["ndcg@20"].tolist() == [0.20, 0.22, 0.25, 0.4]
        assert history["recall@20"].round(2).tolist() == [0.30, 0.32, 0.35, 0.5]
        # the run that published v2 evaluates with the summary it just computed
        last_run = instance.fetch_materializations(ML_USER_ANIME_RANKED, limit=1).records[0].run_id
        assert offline_history(instance, last_run, summary, last=2)["ndcg@20"].tolist() == [
            0.22, 0.4,
        ]  # fmt: skip

    online = pd.DataFrame(
        {"model_version": ["v2"], "sessions": [3], "cards": [12], "picks_per_session": [4.0],
         "like_rate": [0.25], "not_for_me_rate": [0.1], "hide_rate": [0.0],
         "mal_click_rate": [0.2]}
    )  # fmt: skip
    table = side_by_side(history, online)
    assert table.set_index("model_version").loc["v2", "like_rate"] == 0.25
    assert table["like_rate"].notna().sum() == 1
