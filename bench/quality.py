"""``animerec bench quality``: every model stage and baseline under the evaluation protocol.

Reads Kaggle-style CSVs (ratings ``user_id,anime_id,rating``; anime ``anime_id,genre,...``),
runs the same model code as the Dagster ML assets over 3 seeds (or one) and prints the table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def run_quality(
    ratings: Path,
    anime: Path,
    seeds: list[int],
    as_json: bool = False,
    chart: Path | None = None,
) -> str:
    """Evaluate every stage on each seed; return the printed report (text or JSON)."""
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

    user_anime = load_kaggle_ratings(ratings)
    anime_table = load_kaggle_anime(anime)
    config = EvaluationConfig()
    frames = []
    for seed in tqdm(seeds, desc="seeds", disable=as_json):
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
        chart.write_bytes(chart_png(summary, f"{ratings.name}, seeds {seeds}"))
    if as_json:
        return json.dumps(
            {
                "ratings": str(ratings),
                "seeds": seeds,
                "summary": summary.to_dict(orient="records"),
                "per_seed": per_seed.to_dict(orient="records"),
            },
            indent=2,
        )
    return f"{len(user_anime)} ratings, seeds {seeds}\n" + format_table(summary)
