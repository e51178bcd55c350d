"""``ml/evaluation``: every model stage and baseline under the hold-out protocol, and the
blocking check that keeps a model that loses to popularity away from Redis."""

# No ``from __future__ import annotations``: Dagster inspects the real annotations.

import base64
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd

from animerec_assets.defs.keys import (
    DUCKDB_POOL,
    ML_EVALUATION,
    ML_USER_ANIME_RANKED,
    PROCESSED_ANIME,
    PROCESSED_ANIME_ANIME,
    PROCESSED_USER_ANIME,
)
from animerec_assets.defs.ml.config import EvaluationSettings, evaluation_config
from animerec_assets.deploy_tags import TRAINING_OP_TAGS
from animerec_assets.resources import ArtifactStoreResource


@dg.asset(
    key=ML_EVALUATION,
    ins={
        "user_anime": dg.AssetIn(key=PROCESSED_USER_ANIME),
        "anime": dg.AssetIn(key=PROCESSED_ANIME),
        "anime_anime": dg.AssetIn(key=PROCESSED_ANIME_ANIME),
    },
    group_name="ml",
    kinds={"tensorflow"},
    pool=DUCKDB_POOL,
    op_tags=TRAINING_OP_TAGS,
    description="Recall@20, NDCG@20, Recall@300 and top-20 coverage of every model stage and "
    "baseline under the hold-out protocol (docs: shared mal2020 README).",
)
def evaluation(
    context: dg.AssetExecutionContext,
    config: EvaluationSettings,
    artifacts: ArtifactStoreResource,
    user_anime: pd.DataFrame,
    anime: pd.DataFrame,
    anime_anime: pd.DataFrame,
) -> dg.Output:
    from animerec_assets.lib.ml.data import clean_user_anime
    from animerec_assets.lib.ml.evaluation import (
        chart_png,
        evaluate_seeds,
        markdown_table,
        save_report,
    )

    interactions = clean_user_anime(user_anime)
    summary = evaluate_seeds(
        interactions, anime, anime_anime, config.seeds, evaluation_config(config), context.log.info
    )
    png = chart_png(summary, f"seeds {config.seeds}")
    with tempfile.TemporaryDirectory() as folder:
        save_report(summary, png, Path(folder))
        ref = artifacts.publish("evaluation", Path(folder), {"seeds": config.seeds})
    image = base64.b64encode(png).decode()
    return dg.Output(
        summary,
        metadata={
            "table": dg.MetadataValue.md(markdown_table(summary)),
            "chart": dg.MetadataValue.md(f"![quality](data:image/png;base64,{image})"),
            "chart_uri": f"{ref.uri}/chart.png",
            **{
                f"{row['model']} {metric}": float(row[f"{metric}_mean"])
                for _, row in summary.iterrows()
                for metric in ("ndcg@20", "recall@300", "coverage@20")
            },
        },
    )


@dg.asset_check(
    asset=ML_USER_ANIME_RANKED,
    additional_ins={"summary": dg.AssetIn(key=ML_EVALUATION)},
    blocking=True,
    description="Blocks publishing recommendations from a model that loses to popularity.",
)
def final_model_beats_popularity(summary: pd.DataFrame) -> dg.AssetCheckResult:
    return popularity_gate(summary)


def popularity_gate(summary: pd.DataFrame) -> dg.AssetCheckResult:
    """Pass only when the final user -> anime list beats popularity on Recall@20 and NDCG@20."""
    from animerec_assets.lib.ml.evaluation import beats_popularity

    verdict = beats_popularity(summary)
    return dg.AssetCheckResult(
        passed=verdict.passed, description=verdict.problem, metadata=verdict.metrics
    )
