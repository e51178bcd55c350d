"""Every user's published list from the fitted pipeline, one block of users at a time.

The model job's steps for one block: the generator's candidates (plan-to-watch titles kept,
see ``tables.candidate_frame``), their ranking features, the chosen ranker's order (or the
candidate order), then only the rows the publish keeps (``top_n`` not planned and
``top_n_planned`` planned per user, ``lib/serving/payloads.py``) and a reason for each of those.

Nothing grows with users x candidates x features beyond one block: at 1M users x 300
candidates the feature tensor alone is ~19 GB in float32, a block of 2,048 users ~40 MB; and
reasons are found for the ~150 published rows of a user, not for all 300 candidates. Each
user's rows depend on that user alone, so the result is the same whatever the block size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import pandas as pd

from animerec_assets.lib.ml.explain import explain_pairs
from animerec_assets.lib.ml.metrics import lookup
from animerec_assets.lib.ml.user_pipeline import CandidateGenerator, reason_ids

SERVE_BLOCK_USERS = 2048  # 4 score matrices of 2048 x 15k anime: ~0.5 GB
PUBLISHED_COLUMNS = ["user_id", "anime_id", "rank", "score", "reason_anime_id"]


class Scorer(Protocol):
    def score(self, anime: np.ndarray, features: np.ndarray) -> np.ndarray: ...


def rank_block(
    generator: CandidateGenerator, ranker: Scorer | None, users: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(ranked anime indices, their scores) [len(users), k] for one block of user indices:
    the candidates the model job publishes, ordered by ``ranker`` (None: candidate order,
    scored by the fused candidate score). Padding is -1 with score -inf, last."""
    candidates = generator.candidates(users, k, keep_planned=True)
    if ranker is None:
        fused = np.take_along_axis(
            generator.fused_score(users), np.maximum(candidates, 0), axis=1
        ).astype(np.float32)
        return candidates, np.where(candidates >= 0, fused, -np.inf).astype(np.float32)
    scores = ranker.score(candidates, generator.features(users, candidates))
    order = np.argsort(-scores, axis=1, kind="stable")
    return (
        np.take_along_axis(candidates, order, axis=1),
        np.take_along_axis(scores, order, axis=1),
    )


def published_mask(
    ranked: np.ndarray, planned: np.ndarray, top_n: int | None, top_n_planned: int
) -> np.ndarray:
    """[users, k] True for the rows the publish keeps: the first ``top_n`` ranked anime not
    planned and the first ``top_n_planned`` planned ones (``top_n`` None: every row)."""
    valid = ranked >= 0
    if top_n is None:
        return valid
    is_planned = planned & valid
    other = valid & ~is_planned
    return (other & (np.cumsum(other, axis=1) <= top_n)) | (
        is_planned & (np.cumsum(is_planned, axis=1) <= top_n_planned)
    )


def served_table(
    generator: CandidateGenerator,
    ranker: Scorer | None,
    k: int,
    top_n: int | None,
    top_n_planned: int = 0,
    block_users: int = SERVE_BLOCK_USERS,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The ranked table (``PUBLISHED_COLUMNS``) of every user, holding only the rows the
    publish keeps; ``rank`` is the place in the user's whole ranked list of ``k``, so
    ``prepare_payloads`` builds the same payloads from it as from the whole list."""
    encoded = generator.encoded
    planned = encoded.planned
    liked, weights = generator.liked, generator.pair_weights()
    parts = []
    for start in range(0, encoded.n_users, block_users):
        users = np.arange(start, min(start + block_users, encoded.n_users))
        with generator.scored(users):
            ranked, scores = rank_block(generator, ranker, users, k)
        is_planned = (
            lookup(planned[users], ranked) > 0
            if planned is not None and planned.nnz
            else np.zeros(ranked.shape, dtype=bool)
        )
        rows, positions = np.nonzero(published_mask(ranked, is_planned, top_n, top_n_planned))
        anime = ranked[rows, positions]
        reasons = explain_pairs(liked, users[rows], anime, weights)
        parts.append(
            pd.DataFrame(
                {
                    "user_id": encoded.user_ids[users[rows]].astype(str),
                    "anime_id": encoded.anime_ids[anime],
                    "rank": (positions + 1).astype(np.int32),
                    "score": scores[rows, positions].astype(np.float64),
                    "reason_anime_id": reason_ids(encoded, reasons),
                }
            )
        )
        tenth = max(encoded.n_users // 10, 1)
        if log is not None and (users[-1] + 1) // tenth > start // tenth:
            log(f"served: {users[-1] + 1:,}/{encoded.n_users:,} users, {len(parts[-1]):,} rows")
    if not parts:
        return pd.DataFrame({name: [] for name in PUBLISHED_COLUMNS})
    return pd.concat(parts, ignore_index=True)
