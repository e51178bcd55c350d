"""The model stages' arrays as warehouse tables and back (one row per user and candidate).

The retrieval step hands the ranking step its candidates and labelled lists through the
warehouse, so both are long tables; the ranking step turns them back into ``[users, k]`` arrays
over one anime catalogue, re-ranks and writes a long table again. All vectorized: no Python
loop over rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import pandas as pd

from animerec_assets.lib.ml.user_pipeline import (
    FEATURES,
    CandidateGenerator,
    RankerLists,
    reason_ids,
)

CANDIDATE_BLOCK_USERS = 4096
RANKED_COLUMNS = ["user_id", "anime_id", "rank", "score", "reason_anime_id"]


class Scorer(Protocol):
    def score(self, anime: np.ndarray, features: np.ndarray) -> np.ndarray: ...


def lists_to_frame(lists: RankerLists, anime_ids: np.ndarray) -> pd.DataFrame:
    """The rankers' labelled lists as a long table (one row per user and candidate)."""
    rows, positions = np.nonzero(lists.candidates >= 0)
    frame = pd.DataFrame(
        {
            "user_id": lists.user_ids[rows].astype(str),
            "anime_id": anime_ids[lists.candidates[rows, positions]],
            "position": positions.astype(np.int32),
            "label": lists.labels[rows, positions],
            "n_answers": lists.n_answers[rows].astype(np.int32),
            "is_validation": lists.is_validation[rows],
        }
    )
    for index, name in enumerate(FEATURES):
        frame[name] = lists.features[rows, positions, index]
    return frame


def frame_to_lists(frame: pd.DataFrame) -> tuple[RankerLists, np.ndarray]:
    """Back from the long table to [users, k] arrays; anime ids re-indexed densely (returned)."""
    user_codes, user_ids = pd.factorize(frame["user_id"].astype(str), sort=True)
    anime_codes, anime_ids = pd.factorize(frame["anime_id"].astype("int64"), sort=True)
    positions = frame["position"].to_numpy()
    width = int(positions.max()) + 1 if len(frame) else 0
    shape = (len(user_ids), width)
    candidates = np.full(shape, -1, dtype=np.int64)
    labels = np.full(shape, -1.0, dtype=np.float32)
    features = np.zeros((*shape, len(FEATURES)), dtype=np.float32)
    candidates[user_codes, positions] = anime_codes
    labels[user_codes, positions] = frame["label"].to_numpy(np.float32)
    features[user_codes, positions] = frame[list(FEATURES)].to_numpy(np.float32)
    per_user = frame.groupby(user_codes)[["n_answers", "is_validation"]].first()
    lists = RankerLists(
        user_ids=np.asarray(user_ids, dtype=object),
        candidates=candidates,
        features=features,
        labels=labels,
        n_answers=per_user["n_answers"].to_numpy(),
        is_validation=per_user["is_validation"].to_numpy(bool),
    )
    return lists, np.asarray(anime_ids, dtype=np.int64)


def candidate_frame(
    generator: CandidateGenerator, k: int, log: Callable[[str], None]
) -> pd.DataFrame:
    """Top-k candidates of every user with their ranking features, one block of users at a time.

    A user's plan-to-watch titles stay among the candidates (ranked like any other anime): the
    publish keeps the best of them apart from the top of the rest, and read-time filters show
    them only to a visitor who asks (``lib/serving/filters.py``). Everything else on the list
    is left out here."""
    encoded = generator.encoded
    parts = []
    for start in range(0, encoded.n_users, CANDIDATE_BLOCK_USERS):
        users = np.arange(start, min(start + CANDIDATE_BLOCK_USERS, encoded.n_users))
        candidates = generator.candidates(users, k, keep_planned=True)
        features = generator.features(users, candidates)
        reasons = generator.reasons(users, candidates)
        rows, positions = np.nonzero(candidates >= 0)
        part = pd.DataFrame(
            {
                "user_id": encoded.user_ids[users[rows]].astype(str),
                "anime_id": encoded.anime_ids[candidates[rows, positions]],
                "rank": (positions + 1).astype(np.int32),
                "score": features[rows, positions, FEATURES.index("fused_score")].astype(float),
                "reason_anime_id": reason_ids(encoded, reasons[rows, positions]),
            }
        )
        for index, name in enumerate(FEATURES):
            part[name] = features[rows, positions, index]
        parts.append(part)
        log(f"candidates: {users[-1] + 1:,}/{encoded.n_users:,} users")
    return pd.concat(parts, ignore_index=True)


def lists_on_catalogue(
    ranking_lists: pd.DataFrame, candidates: pd.DataFrame
) -> tuple[RankerLists, np.ndarray]:
    """The labelled lists as arrays whose anime indices point into one sorted catalogue: every
    anime of the lists and of the candidates (returned), so a ranker trained on the lists can
    score the candidates."""
    lists, list_anime = frame_to_lists(ranking_lists)
    catalogue = np.union1d(list_anime, candidates["anime_id"].to_numpy(np.int64))
    lists.candidates = np.where(
        lists.candidates >= 0,
        np.searchsorted(catalogue, list_anime[np.maximum(lists.candidates, 0)]),
        -1,
    )
    return lists, catalogue


def rerank_candidates(
    candidates: pd.DataFrame, catalogue: np.ndarray, ranker: Scorer | None
) -> pd.DataFrame:
    """Every user's candidates re-ordered by ``ranker`` (None: kept in candidate order), with
    new ranks and scores; each row keeps the reason the candidate step gave it."""
    if ranker is None:
        return candidates[RANKED_COLUMNS].copy()
    table, _ = frame_to_lists(
        candidates.assign(
            position=candidates["rank"] - 1, label=0.0, n_answers=0, is_validation=False
        )
    )
    anime_index = np.searchsorted(catalogue, np.sort(candidates["anime_id"].unique()))
    table.candidates = np.where(
        table.candidates >= 0, anime_index[np.maximum(table.candidates, 0)], -1
    )
    scores = ranker.score(table.candidates, table.features)
    order = np.argsort(-scores, axis=1, kind="stable")
    best = np.take_along_axis(table.candidates, order, axis=1)
    best_scores = np.take_along_axis(scores, order, axis=1)
    rows, positions = np.nonzero(best >= 0)
    ranked = pd.DataFrame(
        {
            "user_id": table.user_ids[rows].astype(str),
            "anime_id": catalogue[best[rows, positions]],
            "rank": (positions + 1).astype(np.int32),
            "score": best_scores[rows, positions].astype(float),
        }
    )
    return ranked.merge(
        candidates[["user_id", "anime_id", "reason_anime_id"]],
        on=["user_id", "anime_id"],
        how="left",
    )
