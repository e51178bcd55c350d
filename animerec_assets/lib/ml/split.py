"""The evaluation protocol's hold-out split (shared/datasets/mal2020/README.md).

Positives are scores >= 7. Every user with at least ``min_positives`` positives gets a random
``fraction`` of them held out (seeded); everything else stays in training, scores included.
Vectorized: one random key per row, a sort, and a rank within each user's positives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from animerec_assets.lib.ml.data import POSITIVE_SCORE


@dataclass(frozen=True)
class HoldoutSplit:
    train: pd.DataFrame  # every user_anime row not held out
    heldout: pd.DataFrame  # held-out positive rows (the answers)

    @property
    def eval_users(self) -> np.ndarray:
        """Users with held-out answers, sorted: the rows every metric averages over."""
        return np.sort(self.heldout["user_id"].astype(str).unique()).astype(object)


def holdout_split(
    user_anime: pd.DataFrame,
    seed: int,
    positive_score: float = POSITIVE_SCORE,
    min_positives: int = 5,
    fraction: float = 0.2,
) -> HoldoutSplit:
    """Hold out ``round(fraction * positives)`` random positives of every eligible user."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    frame = user_anime.reset_index(drop=True)
    positive = frame["score"].to_numpy() >= positive_score
    user_codes = pd.factorize(frame["user_id"])[0]
    n_positive = np.bincount(user_codes[positive], minlength=user_codes.max(initial=-1) + 1)
    n_holdout = np.where(
        n_positive >= min_positives, np.round(fraction * n_positive).astype(np.int64), 0
    )
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(positive)
    order = candidates[np.lexsort((rng.random(len(candidates)), user_codes[candidates]))]
    users_in_order = user_codes[order]
    group_start = np.searchsorted(users_in_order, users_in_order, side="left")
    rank_in_user = np.arange(len(order)) - group_start
    held = np.zeros(len(frame), dtype=bool)
    held[order[rank_in_user < n_holdout[users_in_order]]] = True
    return HoldoutSplit(
        train=frame[~held].reset_index(drop=True), heldout=frame[held].reset_index(drop=True)
    )
