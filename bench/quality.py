"""``animerec bench quality``: every model stage and baseline under the evaluation protocol.

Reads Kaggle-style CSVs (ratings ``user_id,anime_id,rating``; anime ``anime_id,genre,...``),
runs the same model code as the Dagster ML assets over 3 seeds (or one) on each ratings file
and prints one table per file: mean ± std over seeds, and each model's NDCG@20 as a ratio to
EASE (lambda tuned on validation inside the training rows, in the same run).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

FINAL = "user_anime final"
TARGET_NDCG_RATIO = 1.10
TARGET_RECALL300 = 0.88


def targets(summary: pd.DataFrame, main_set: bool) -> list[str]:
    """Issue 16's bars against this run's own EASE, one line each, marked met or missed."""
    from animerec_assets.lib.ml.evaluation import TUNED_EASE

    indexed = summary.set_index("model")
    if FINAL not in indexed.index or TUNED_EASE not in indexed.index:
        return ["targets: need the final model and the tuned EASE rows"]
    final, ease = indexed.loc[FINAL], indexed.loc[TUNED_EASE]
    ratio = final["ndcg@20_mean"] / ease["ndcg@20_mean"]
    checks = [
        (
            f"final NDCG@20 / EASE {ratio:.3f} >= {TARGET_NDCG_RATIO if main_set else 1.0}",
            ratio >= (TARGET_NDCG_RATIO if main_set else 1.0),
        )
    ]
    if main_set:
        checks += [
            (
                f"final Recall@300 {final['recall@300_mean']:.3f} >= {TARGET_RECALL300}",
                final["recall@300_mean"] >= TARGET_RECALL300,
            ),
            (
                f"final coverage@20 {final['coverage@20_mean']:.3f} >= EASE "
                f"{ease['coverage@20_mean']:.3f}",
                final["coverage@20_mean"] >= ease["coverage@20_mean"],
            ),
        ]
    return [f"target {'met   ' if ok else 'MISSED'} {text}" for text, ok in checks]


def run_quality(
    ratings: list[Path],
    anime: Path,
    seeds: list[int],
    as_json: bool = False,
    chart: Path | None = None,
    stages: bool = True,
    anime_anime: bool = True,
) -> str:
    """Evaluate every stage on each seed of each ratings file; return the printed report.

    The first file is the main development set (all of issue 16's bars); the others must only
    not fall below EASE.
    """
    from tqdm import tqdm

    from animerec_assets.lib.ml.data import (
        empty_anime_anime,
        load_kaggle_anime,
        load_kaggle_ratings,
    )
    from animerec_assets.lib.ml.evaluation import (
        EvaluationConfig,
        chart_png,
        evaluate_seed,
        format_table,
        summarize,
    )

    anime_table = load_kaggle_anime(anime)
    config = EvaluationConfig(include_stages=stages, include_anime_anime=anime_anime)
    reports: list[str] = []
    documents: list[dict[str, object]] = []
    for number, path in enumerate(ratings):
        user_anime = load_kaggle_ratings(path)
        frames = []
        for seed in tqdm(seeds, desc=f"{path.name} seeds", disable=as_json):
            frames.append(
                evaluate_seed(
                    user_anime,
                    anime_table,
                    empty_anime_anime(),
                    seed,
                    config,
                    log=(lambda _: None) if as_json else tqdm.write,
                )
            )
        per_seed = pd.concat(frames, ignore_index=True)
        summary = summarize(per_seed)
        if chart is not None:
            target = chart if len(ratings) == 1 else chart.with_stem(f"{chart.stem}_{number}")
            target.write_bytes(chart_png(summary, f"{path.name}, seeds {seeds}"))
        lines = targets(summary, main_set=number == 0)
        documents.append(
            {
                "ratings": str(path),
                "seeds": seeds,
                "targets": lines,
                "summary": summary.to_dict(orient="records"),
                "per_seed": per_seed.to_dict(orient="records"),
            }
        )
        reports.append(
            f"{path} — {len(user_anime)} ratings, seeds {seeds}\n"
            + format_table(summary)
            + "\n"
            + "\n".join(lines)
        )
    if as_json:
        return json.dumps(documents if len(documents) > 1 else documents[0], indent=2)
    return "\n\n".join(reports)
