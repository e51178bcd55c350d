"""The ranking step's tables: lists <-> long frames, one catalogue, re-ranking by a scorer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from animerec_assets.lib.ml.tables import (
    RANKED_COLUMNS,
    frame_to_lists,
    lists_on_catalogue,
    lists_to_frame,
    rerank_candidates,
)
from animerec_assets.lib.ml.user_pipeline import FEATURES, RankerLists

N_FEATURES = len(FEATURES)


def small_lists() -> tuple[RankerLists, np.ndarray]:
    """Two users, three slots; the second user's last slot is padding (-1)."""
    anime_ids = np.array([10, 20, 30, 40], dtype=np.int64)
    candidates = np.array([[0, 2, 3], [1, 0, -1]])
    features = np.arange(2 * 3 * N_FEATURES, dtype=np.float32).reshape(2, 3, N_FEATURES)
    lists = RankerLists(
        user_ids=np.array(["alice", "bob"], dtype=object),
        candidates=candidates,
        features=features,
        labels=np.array([[9.0, 0.0, 0.0], [0.0, 7.0, -1.0]], dtype=np.float32),
        n_answers=np.array([1, 2]),
        is_validation=np.array([False, True]),
    )
    return lists, anime_ids


def test_lists_round_trip_through_the_long_table() -> None:
    lists, anime_ids = small_lists()
    frame = lists_to_frame(lists, anime_ids)
    assert len(frame) == 5  # padding is not a row
    assert frame.loc[frame["user_id"] == "bob", "anime_id"].tolist() == [20, 10]

    back, back_anime = frame_to_lists(frame)
    # anime re-indexed densely over the anime the frame mentions: 10, 20, 30, 40
    assert back_anime.tolist() == [10, 20, 30, 40]
    assert back.user_ids.tolist() == ["alice", "bob"]
    assert np.array_equal(back_anime[back.candidates[0]], [10, 30, 40])
    assert back.candidates[1, 2] == -1 and back.labels[1, 2] == -1.0
    assert np.array_equal(back.labels[back.candidates >= 0], lists.labels[lists.candidates >= 0])
    valid = lists.candidates >= 0
    assert np.array_equal(back.features[valid], lists.features[valid])
    assert back.n_answers.tolist() == [1, 2]
    assert back.is_validation.tolist() == [False, True]


def candidates_frame() -> pd.DataFrame:
    rows = [
        ("alice", 30, 1, 0.9, 10),
        ("alice", 50, 2, 0.8, None),
        ("alice", 10, 3, 0.7, 20),
        ("bob", 50, 1, 0.6, 30),
        ("bob", 20, 2, 0.5, 10),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "anime_id", "rank", "score", "reason"])
    frame["reason_anime_id"] = frame.pop("reason").astype("Int64")
    for index, name in enumerate(FEATURES):
        # feature 0 ("retrieval_score") is the anime id itself: a scorer can order by it
        frame[name] = frame["anime_id"].astype(np.float32) if index == 0 else 0.0
    return frame


class ByFirstFeature:
    """A ranker whose score is the first feature (here: the anime id)."""

    def score(self, anime: np.ndarray, features: np.ndarray) -> np.ndarray:
        return np.where(anime >= 0, features[..., 0], -np.inf)


def test_lists_on_catalogue_index_into_lists_and_candidates() -> None:
    lists, anime_ids = small_lists()
    lists_frame = lists_to_frame(lists, anime_ids)
    on_catalogue, catalogue = lists_on_catalogue(lists_frame, candidates_frame())
    assert catalogue.tolist() == [10, 20, 30, 40, 50]
    assert np.array_equal(catalogue[on_catalogue.candidates[0]], [10, 30, 40])
    assert on_catalogue.candidates[1, 2] == -1


def test_rerank_orders_each_users_candidates_by_the_ranker_and_keeps_reasons() -> None:
    candidates = candidates_frame()
    catalogue = np.array([10, 20, 30, 40, 50], dtype=np.int64)
    ranked = rerank_candidates(candidates, catalogue, ByFirstFeature())
    assert list(ranked.columns) == RANKED_COLUMNS
    alice = ranked[ranked["user_id"] == "alice"]
    assert alice["anime_id"].tolist() == [50, 30, 10]
    assert alice["rank"].tolist() == [1, 2, 3]
    assert alice["score"].tolist() == [50.0, 30.0, 10.0]
    assert alice["reason_anime_id"].tolist() == [pd.NA, 10, 20]
    assert ranked[ranked["user_id"] == "bob"]["anime_id"].tolist() == [50, 20]


def test_without_a_ranker_the_candidate_order_stands() -> None:
    candidates = candidates_frame()
    ranked = rerank_candidates(candidates, np.array([10, 20, 30, 50]), None)
    pd.testing.assert_frame_equal(ranked, candidates[RANKED_COLUMNS])
