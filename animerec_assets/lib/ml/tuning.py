"""Hyperparameters of the closed-form item models chosen on a validation split of the training
rows only (never the test split): EASE's lambda and RP3beta's (alpha, beta) by NDCG@20."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from animerec_assets.lib.ml.baselines import EASE, RP3beta
from animerec_assets.lib.ml.data import Encoded, encode, pairs_matrix
from animerec_assets.lib.ml.metrics import evaluate_top_k
from animerec_assets.lib.ml.split import holdout_split
from animerec_assets.lib.ml.topk import top_k

EASE_LAMBDAS = (50.0, 100.0, 200.0, 400.0, 800.0)
RP3_GRID = ((1.0, 0.0), (1.0, 0.2), (1.0, 0.35), (1.0, 0.5), (0.8, 0.3))
VALIDATION_SEED_OFFSET = 20_000


@dataclass(frozen=True)
class Tuned:
    """The chosen value and every candidate's validation NDCG@20 (why it was chosen)."""

    chosen: float | tuple[float, float]
    validation_ndcg20: dict[str, float]


def _inner(
    train: pd.DataFrame, seed: int
) -> tuple[Encoded, np.ndarray, sparse.csr_matrix, np.ndarray]:
    split = holdout_split(train, seed + VALIDATION_SEED_OFFSET)
    vocabulary = encode(train)
    inner = encode(split.train, vocabulary=vocabulary)
    answers, n_answers = pairs_matrix(vocabulary, split.eval_users, split.heldout)
    return inner, vocabulary.user_index(split.eval_users), answers, n_answers


def _choose(
    train: pd.DataFrame,
    seed: int,
    grid: Sequence[float | tuple[float, float]],
    fit: Callable[[sparse.csr_matrix, float | tuple[float, float]], EASE | RP3beta],
    on_all_rated: bool,
) -> Tuned:
    inner, users, answers, n_answers = _inner(train, seed)
    matrix = inner.seen if on_all_rated else inner.positives
    found: dict[str, float] = {}
    for value in grid:
        model = fit(matrix, value)
        top = top_k(model.score, users, 20, exclude=inner.seen)
        found[str(value)] = evaluate_top_k(top, answers, n_answers, inner.n_anime)["ndcg@20"]
    best = max(grid, key=lambda value: found[str(value)])
    return Tuned(best, found)


def tune_ease(
    train: pd.DataFrame,
    seed: int,
    lambdas: Sequence[float] = EASE_LAMBDAS,
    on_all_rated: bool = False,
) -> Tuned:
    """EASE's lambda with the best NDCG@20 on an inner hold-out of ``train``."""
    return _choose(train, seed, lambdas, lambda x, l2: EASE.fit(x, float(l2)), on_all_rated)  # type: ignore[arg-type]


def tune_rp3beta(
    train: pd.DataFrame,
    seed: int,
    grid: Sequence[tuple[float, float]] = RP3_GRID,
    on_all_rated: bool = False,
) -> Tuned:
    """RP3beta's (alpha, beta) with the best NDCG@20 on an inner hold-out of ``train``."""
    return _choose(train, seed, grid, lambda x, ab: RP3beta.fit(x, *ab), on_all_rated)  # type: ignore[misc]
