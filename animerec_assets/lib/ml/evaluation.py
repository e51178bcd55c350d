"""Every model stage and baseline under the one evaluation protocol, side by side.

``evaluate_seed`` splits the ratings, fits everything on the training part and scores each
stage's lists against the held-out positives; ``summarize`` averages seeds (mean and standard
deviation); ``format_table``/``markdown_table``/``chart_png`` present the result. The Dagster
evaluation asset and ``animerec bench quality`` both call these.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from animerec_assets.lib.ml.anime_anime import (
    AnimeAnimeConfig,
    candidate_pairs,
    fit_anime_anime,
    last_completed,
    similarity_matrix,
    user_lists_from_anchor,
)
from animerec_assets.lib.ml.baselines import EASE, ItemKNN, Popularity, RP3beta
from animerec_assets.lib.ml.data import encode, pairs_matrix
from animerec_assets.lib.ml.metrics import evaluate_top_k
from animerec_assets.lib.ml.split import holdout_split
from animerec_assets.lib.ml.topk import top_k
from animerec_assets.lib.ml.tuning import tune_ease
from animerec_assets.lib.ml.user_pipeline import UserAnimeConfig, fit_user_anime

Log = Callable[[str], None]
METRICS = ("recall@20", "ndcg@20", "recall@300", "coverage@20")
K = 300
TUNED_EASE = "EASE (lambda tuned on validation)"


@dataclass(frozen=True)
class EvaluationConfig:
    user_anime: UserAnimeConfig = field(default_factory=UserAnimeConfig)
    anime_anime: AnimeAnimeConfig = field(default_factory=AnimeAnimeConfig)
    include_anime_anime: bool = True
    # EASE's lambda is tuned per run on an inner validation split of the training rows (the
    # baseline the final model is compared with); empty = the fixed lambda=200 baseline only.
    # The grid reaches down to 50: lambda 80 scored better than 100-400 on mal2017's test split,
    # so the baseline must be able to find it on validation
    ease_lambdas: tuple[float, ...] = (50.0, 80.0, 120.0, 200.0, 400.0)
    include_stages: bool = True


def evaluate_seed(
    user_anime: pd.DataFrame,
    anime: pd.DataFrame,
    anime_anime: pd.DataFrame,
    seed: int,
    config: EvaluationConfig | None = None,
    log: Log = print,
) -> pd.DataFrame:
    """One row per model stage: model, stage, metrics..., seconds (fit + inference)."""
    config = config or EvaluationConfig()
    split = holdout_split(user_anime, seed)
    encoded = encode(split.train)
    users = split.eval_users
    answers, n_answers = pairs_matrix(encoded, users, split.heldout)
    rows = encoded.user_index(users)
    results: list[dict[str, Any]] = []

    def record(model: str, stage: str, top: np.ndarray, started: float) -> None:
        metrics = evaluate_top_k(top, answers, n_answers, encoded.n_anime)
        results.append(
            {"model": model, "stage": stage, **metrics, "seconds": time.perf_counter() - started}
        )
        log(
            f"seed {seed} {model:<32} R@20 {metrics['recall@20']:.3f} "
            f"NDCG@20 {metrics['ndcg@20']:.3f} R@300 {metrics['recall@300']:.3f} "
            f"cov@20 {metrics['coverage@20']:.3f}"
        )

    for name, fit in (
        ("popularity", Popularity.fit),
        ("item-kNN (cosine)", ItemKNN.fit),
        ("EASE (lambda=200)", lambda x: EASE.fit(x, 200.0)),
    ):
        started = time.perf_counter()
        model = fit(encoded.positives)
        record(name, "baseline", top_k(model.score, rows, K, exclude=encoded.seen), started)
    if config.ease_lambdas:
        started = time.perf_counter()
        tuned = tune_ease(split.train, seed, config.ease_lambdas)
        log(f"seed {seed} EASE lambda on validation: {tuned.validation_ndcg20} -> {tuned.chosen}")
        model = EASE.fit(encoded.positives, float(tuned.chosen))  # type: ignore[arg-type]
        top = top_k(model.score, rows, K, exclude=encoded.seen)
        record(TUNED_EASE, "baseline", top, started)
    started = time.perf_counter()
    walk = RP3beta.fit(encoded.positives, config.user_anime.rp3_alpha, config.user_anime.rp3_beta)
    record("RP3beta", "baseline", top_k(walk.score, rows, K, exclude=encoded.seen), started)
    if not config.include_stages:
        frame = pd.DataFrame(results)
        frame.insert(0, "seed", seed)
        return frame

    ua_config = UserAnimeConfig(**{**config.user_anime.__dict__, "seed": seed})
    started = time.perf_counter()
    recommender = fit_user_anime(
        split.train, ua_config, log=log, anime=anime, anime_anime=anime_anime
    )
    generator = recommender.generator
    record(
        "user_anime retrieval (TFRS)",
        "retrieval",
        top_k(generator.retrieval.score, rows, K, exclude=encoded.seen),
        started,
    )
    candidates, _, _ = recommender.recommend_indices(rows, ranker="candidates")
    record("user_anime candidates (TFRS+EASE)", "retrieval", candidates, started)
    features = generator.features(rows, candidates)
    for loss, label in (("mse", "pointwise MSE"), ("listmle", "ListMLE")):
        ranked = _rerank(candidates, recommender.rankers[loss].score(candidates, features))
        record(f"user_anime ranked ({label})", "ranking", ranked, started)
    final = _final_from(recommender.chosen, results)
    results.append({**final, "model": f"user_anime final ({recommender.chosen})", "stage": "final"})

    if config.include_anime_anime:
        started = time.perf_counter()
        aa_config = AnimeAnimeConfig(**{**config.anime_anime.to_dict(), "seed": seed})
        pairs = candidate_pairs(anime, anime_anime, split.train, aa_config)
        log(f"seed {seed} anime_anime pairs by source: {pairs['source'].value_counts().to_dict()}")
        if pairs.empty:
            log(f"seed {seed}: no anime_anime pairs; stage skipped")
        else:
            aa_model = fit_anime_anime(pairs, anime, split.train, aa_config)
            anchors = last_completed(split.train, seed).set_index("user_id")["anime_id"]
            anchor_ids = anchors.reindex(users).fillna(-1).to_numpy(np.int64)
            for which in ("retrieved", "ranked"):
                top = user_lists_from_anchor(
                    aa_model, anchor_ids, encoded.anime_ids, encoded.seen, rows, K, which
                )
                stage = "retrieval" if which == "retrieved" else "ranking"
                record(f"anime_anime {which} (last completed)", stage, top, started)
            similarity = similarity_matrix(aa_model, encoded.anime_ids)
            positives = encoded.positives

            def from_all(block: np.ndarray) -> np.ndarray:
                return np.asarray((positives[block] @ similarity).todense())

            top = top_k(from_all, rows, K, exclude=encoded.seen)
            record("anime_anime ranked (all completed)", "ranking", top, started)
    frame = pd.DataFrame(results)
    frame.insert(0, "seed", seed)
    return frame


def _rerank(candidates: np.ndarray, scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)


def _final_from(chosen: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    wanted = {
        "mse": "user_anime ranked (pointwise MSE)",
        "listmle": "user_anime ranked (ListMLE)",
        "candidates": "user_anime candidates (TFRS+EASE)",
    }[chosen]
    return next(dict(row) for row in results if row["model"] == wanted)


def evaluate_seeds(
    user_anime: pd.DataFrame,
    anime: pd.DataFrame,
    anime_anime: pd.DataFrame,
    seeds: list[int],
    config: EvaluationConfig | None = None,
    log: Log = print,
) -> pd.DataFrame:
    """Every model stage evaluated on each seed's hold-out split, summarized over the seeds."""
    frames = []
    for number, seed in enumerate(seeds, start=1):
        log(f"evaluating seed {seed} ({number}/{len(seeds)})")
        frames.append(evaluate_seed(user_anime, anime, anime_anime, seed, config, log))
    return summarize(pd.concat(frames, ignore_index=True))


def save_report(summary: pd.DataFrame, chart: bytes, folder: Path) -> None:
    """The evaluation as artifact files: ``chart.png`` and ``summary.json`` (one row a model)."""
    (folder / "chart.png").write_bytes(chart)
    (folder / "summary.json").write_text(json.dumps(summary.to_dict(orient="records"), indent=2))


def summarize(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of every metric per model over the seeds (model order kept)."""
    order = list(
        dict.fromkeys(per_seed["model"].str.replace(r" final \(.*\)", " final", regex=True))
    )
    frame = per_seed.assign(
        model=per_seed["model"].str.replace(r" final \(.*\)", " final", regex=True)
    )
    grouped = frame.groupby("model", sort=False)
    stats = grouped[[*METRICS, "seconds"]].agg(["mean", "std"]).fillna(0.0)
    stats.columns = [f"{metric}_{stat}" for metric, stat in stats.columns]
    stats["stage"] = grouped["stage"].first()
    stats["seeds"] = grouped["seed"].nunique()
    reference = TUNED_EASE if TUNED_EASE in stats.index else "EASE (lambda=200)"
    if reference in stats.index:
        # ratio of means to the EASE baseline of the same run (same seeds, same splits)
        stats["ndcg@20_vs_ease"] = stats["ndcg@20_mean"] / stats.loc[reference, "ndcg@20_mean"]
    return stats.loc[order].reset_index()


def format_table(summary: pd.DataFrame) -> str:
    """Fixed-width text table, mean ± std per metric."""
    header = (
        f"{'model':<42}{'stage':<10}"
        + "".join(f"{m:>16}" for m in METRICS)
        + f"{'NDCG/EASE':>11}{'s':>8}"
    )
    lines = [header, "-" * len(header)]
    for _, row in summary.iterrows():
        cells = "".join(f"{row[f'{m}_mean']:>9.3f} ± {row[f'{m}_std']:.3f}" for m in METRICS)
        ratio = row.get("ndcg@20_vs_ease", float("nan"))
        lines.append(
            f"{row['model']:<42}{row['stage']:<10}{cells}{ratio:>11.3f}{row['seconds_mean']:>8.0f}"
        )
    return "\n".join(lines)


def markdown_table(summary: pd.DataFrame) -> str:
    """The same table as Markdown (for Dagster ``MetadataValue.md``)."""
    lines = [
        "| model | stage | " + " | ".join(METRICS) + " |",
        "|---|---|" + "---|" * len(METRICS),
    ]
    for _, row in summary.iterrows():
        cells = " | ".join(f"{row[f'{m}_mean']:.3f} ± {row[f'{m}_std']:.3f}" for m in METRICS)
        lines.append(f"| {row['model']} | {row['stage']} | {cells} |")
    return "\n".join(lines)


def chart_png(summary: pd.DataFrame, title: str = "Recommendation quality") -> bytes:
    """Grouped bar chart (Recall@20, NDCG@20, Recall@300 per model, std as error bars), PNG."""
    from animerec_assets.lib.charts import figure_png, pyplot

    plt = pyplot()

    metrics = ("recall@20", "ndcg@20", "recall@300")
    positions = np.arange(len(summary))
    width = 0.27
    figure, axis = plt.subplots(figsize=(max(8, 0.8 * len(summary) + 3), 5), dpi=100)
    for offset, metric in enumerate(metrics):
        axis.barh(
            positions + (offset - 1) * width,
            summary[f"{metric}_mean"],
            height=width,
            xerr=summary[f"{metric}_std"],
            label=metric,
        )
    axis.set_yticks(positions, summary["model"])
    axis.invert_yaxis()
    axis.set_xlim(0, 1)
    axis.set_title(title)
    axis.legend(loc="lower right")
    return figure_png(figure)


@dataclass(frozen=True)
class PopularityVerdict:
    """Whether the final user -> anime list beats popularity, with the numbers compared."""

    passed: bool
    metrics: dict[str, float]
    problem: str | None = None


GATE_METRICS = ("recall@20_mean", "ndcg@20_mean")


def beats_popularity(summary: pd.DataFrame) -> PopularityVerdict:
    """Pass only when the final user -> anime list beats popularity on Recall@20 and NDCG@20."""
    indexed = summary.set_index("model")
    if "user_anime final" not in indexed.index or "popularity" not in indexed.index:
        return PopularityVerdict(False, {}, "evaluation lacks the final model or popularity rows")
    final, popularity = indexed.loc["user_anime final"], indexed.loc["popularity"]
    passed = all(final[m] > popularity[m] for m in GATE_METRICS)
    return PopularityVerdict(
        passed=bool(passed),
        metrics={
            **{f"final {m}": float(final[m]) for m in GATE_METRICS},
            **{f"popularity {m}": float(popularity[m]) for m in GATE_METRICS},
        },
    )
