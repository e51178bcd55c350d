"""``ml/evaluation``: every model stage and baseline under the hold-out protocol, and the
blocking check that keeps a model that loses to popularity away from Redis.

Its metadata also puts the last model versions' offline metrics next to their online ones
(what visitors did with their picks, from the feedback tables), as a table and a chart."""

# No ``from __future__ import annotations``: Dagster inspects the real annotations.

import base64
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd

from animerec_assets.defs.keys import (
    DUCKDB_POOL,
    FEEDBACK,
    ML_EVALUATION,
    ML_USER_ANIME_RANKED,
    PROCESSED_ANIME,
    PROCESSED_ANIME_ANIME,
    PROCESSED_USER_ANIME,
)
from animerec_assets.defs.ml.config import EvaluationSettings, evaluation_config
from animerec_assets.deploy_tags import TRAINING_OP_TAGS
from animerec_assets.resources import ArtifactStoreResource, WarehouseResource

FINAL_MODEL = "user_anime final"
# the metadata an evaluation records per model, read back for earlier model versions
OFFLINE_METADATA = {"recall@20": f"{FINAL_MODEL} recall@20", "ndcg@20": f"{FINAL_MODEL} ndcg@20"}


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
    warehouse: WarehouseResource,
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
    versions = offline_and_online(context, summary, warehouse)
    return dg.Output(
        summary,
        metadata={
            "table": dg.MetadataValue.md(markdown_table(summary)),
            "chart": dg.MetadataValue.md(f"![quality](data:image/png;base64,{image})"),
            "chart_uri": f"{ref.uri}/chart.png",
            **{
                f"{row['model']} ndcg@20": float(row["ndcg@20_mean"])
                for _, row in summary.iterrows()
            },
            **{
                f"{row['model']} recall@20": float(row["recall@20_mean"])
                for _, row in summary.iterrows()
                if row["model"] == FINAL_MODEL
            },
            **versions,
        },
    )


def _metadata_value(metadata: dict, name: str) -> float | None:
    entry = metadata.get(name)
    value = getattr(entry, "value", entry)
    return float(value) if isinstance(value, int | float) else None


def offline_history(
    instance: dg.DagsterInstance, run_id: str, summary: pd.DataFrame, last: int
) -> pd.DataFrame:
    """``model_version``, ``recall@20``, ``ndcg@20`` of the last published model versions,
    oldest first: a version's offline metrics are the evaluation of the run that trained it
    (this run's come from ``summary``; this run's version is listed even before it is
    published)."""
    final = summary.set_index("model")
    current = {
        metric: float(final.loc[FINAL_MODEL, f"{metric}_mean"])
        if FINAL_MODEL in final.index
        else None
        for metric in OFFLINE_METADATA
    }
    evaluations = {
        record.run_id: record.asset_materialization.metadata
        for record in instance.fetch_materializations(ML_EVALUATION, limit=10 * last).records
        if record.asset_materialization is not None
    }
    rows = []
    ranked = instance.fetch_materializations(ML_USER_ANIME_RANKED, limit=last).records
    for record in reversed(ranked):
        materialization = record.asset_materialization
        entry = materialization.metadata.get("model_version") if materialization else None
        # as serving names a version without the metadata (model_version_of)
        version = (
            str(getattr(entry, "value", entry)) if entry is not None else f"run-{record.run_id[:8]}"
        )
        if record.run_id == run_id:
            rows.append({"model_version": version, **current})
            continue
        metadata = evaluations.get(record.run_id, {})
        rows.append(
            {
                "model_version": version,
                **{m: _metadata_value(metadata, name) for m, name in OFFLINE_METADATA.items()},
            }
        )
    if not any(record.run_id == run_id for record in ranked):
        rows.append({"model_version": f"run-{run_id[:8]} (not published yet)", **current})
    return pd.DataFrame(rows, columns=["model_version", *OFFLINE_METADATA]).tail(last)


def offline_and_online(
    context: dg.AssetExecutionContext, summary: pd.DataFrame, warehouse: WarehouseResource
) -> dict[str, dg.MetadataValue]:
    """The last model versions with offline and online metrics side by side (table, chart)."""
    from animerec_assets.lib.feedback.metrics import (
        LAST_VERSIONS,
        feedback_table_sql,
        side_by_side,
        side_by_side_markdown,
        side_by_side_png,
    )
    from animerec_assets.lib.warehouse import dialect_of

    offline = offline_history(context.instance, context.run_id, summary, LAST_VERSIONS)
    by_version = pd.DataFrame()
    if warehouse.table_exists(FEEDBACK, "feedback_by_model_version"):
        sql = feedback_table_sql(
            dialect_of(warehouse), "feedback_by_model_version", warehouse.gcp_project
        )
        by_version = warehouse.read_sql(sql)
    table = side_by_side(offline, by_version)
    png = base64.b64encode(side_by_side_png(table)).decode()
    return {
        "versions_offline_online": dg.MetadataValue.md(side_by_side_markdown(table)),
        "versions_chart": dg.MetadataValue.md(
            f"![offline and online](data:image/png;base64,{png})"
        ),
    }


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
