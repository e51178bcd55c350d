"""The evaluation protocol: who is held out, how much, and what the metrics count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from animerec_assets.lib.ml.data import (
    InputDataError,
    clean_user_anime,
    encode,
    pairs_matrix,
)
from animerec_assets.lib.ml.metrics import evaluate_top_k, lookup
from animerec_assets.lib.ml.split import holdout_split
from animerec_assets.lib.ml.topk import top_k, top_k_block


def ratings(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    return clean_user_anime(pd.DataFrame(rows, columns=["user_id", "anime_id", "score"]))


def test_split_holds_out_20_percent_of_positives_of_eligible_users_only() -> None:
    rows = [("a", i, 9) for i in range(10)] + [("a", 100 + i, 3) for i in range(5)]
    rows += [("b", i, 8) for i in range(4)]  # only 4 positives: never held out
    split = holdout_split(ratings(rows), seed=1)
    assert set(split.heldout["user_id"]) == {"a"}
    assert len(split.heldout) == 2  # round(0.2 * 10)
    assert (split.heldout["score"] >= 7).all()
    assert len(split.train) + len(split.heldout) == len(rows)
    assert list(split.eval_users) == ["a"]


def test_split_is_seeded() -> None:
    rows = [(u, i, 9) for u in "abc" for i in range(20)]
    first, again = holdout_split(ratings(rows), 3), holdout_split(ratings(rows), 3)
    other = holdout_split(ratings(rows), 4)
    assert first.heldout.equals(again.heldout)
    assert not first.heldout.equals(other.heldout)


def test_bad_input_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(InputDataError, match="score"):
        clean_user_anime(pd.DataFrame({"user_id": ["a"], "anime_id": [1]}))
    with pytest.raises(InputDataError, match="missing user_id"):
        clean_user_anime(pd.DataFrame({"user_id": [None], "anime_id": [1], "score": [9]}))


def test_recall_and_ndcg_match_hand_computation() -> None:
    # catalogue of 5 items; one user whose answers are items 1 and 3 (+1 outside the catalogue)
    train = ratings([("u", 0, 9), ("u", 1, 9), ("u", 2, 9), ("u", 3, 9), ("u", 4, 9)])
    encoded = encode(train)
    heldout = pd.DataFrame({"user_id": ["u", "u", "u"], "anime_id": [1, 3, 999], "score": 9})
    answers, n_answers = pairs_matrix(encoded, np.array(["u"], dtype=object), heldout)
    assert n_answers.tolist() == [3]
    top = np.array([[3, 0, 1, -1]])
    metrics = evaluate_top_k(top, answers, n_answers, encoded.n_anime, ks=(2, 4))
    assert metrics["recall@2"] == pytest.approx(1 / 2)  # one hit of min(2, 3)
    assert metrics["recall@4"] == pytest.approx(2 / 3)
    ideal = 1 + 1 / np.log2(3)
    assert metrics["ndcg@2"] == pytest.approx(1 / ideal)
    ideal3 = ideal + 1 / np.log2(4)
    assert metrics["ndcg@4"] == pytest.approx((1 + 1 / np.log2(4)) / ideal3)
    assert metrics["coverage@20"] == pytest.approx(3 / 5)


def test_lookup_and_top_k_exclude_and_pad() -> None:
    matrix = sparse.csr_matrix(np.array([[0, 2.0, 0], [1.0, 0, 0]]))
    assert lookup(matrix, np.array([[1, 0, -1], [0, 2, 1]])).tolist() == [[2, 0, 0], [1, 0, 0]]
    scores = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    best = top_k(lambda rows: scores[rows], np.array([0, 1]), 3, exclude=matrix)
    assert best.tolist() == [[0, 2, -1], [2, 1, -1]]
    assert top_k_block(np.array([[0.1, 0.9, 0.5]]), 2).tolist() == [[1, 2]]


def test_plan_to_watch_titles_can_come_back_as_candidates_but_nothing_else_listed() -> None:
    rows = pd.DataFrame(
        [("u", 1, 9, "completed"), ("u", 2, 0, "plan_to_watch"), ("u", 3, 0, "dropped"),
         ("v", 2, 8, "completed"), ("v", 4, 0, "watching")],
        columns=["user_id", "anime_id", "score", "status"],
    )  # fmt: skip
    encoded = encode(clean_user_anime(rows))
    assert encoded.planned is not None and encoded.planned.nnz == 1
    assert encoded.listed_unplanned.nnz == encoded.seen.nnz - 1
    scores = np.tile(np.array([4.0, 3.0, 2.0, 1.0]), (2, 1))  # anime 1, 2, 3, 4

    def best(exclude: sparse.csr_matrix) -> list[list[int]]:
        top = top_k(lambda r: scores[r].copy(), np.array([0, 1]), 4, exclude=exclude)
        return [[int(encoded.anime_ids[i]) for i in row if i >= 0] for row in top]

    assert best(encoded.seen) == [[4], [1, 3]]
    assert best(encoded.listed_unplanned) == [[2, 4], [1, 3]]
    # the Kaggle ratings have no status: every row is completed, nothing planned
    plain = encode(ratings([("u", 1, 9), ("u", 2, 3)]))
    assert plain.listed_unplanned.nnz == plain.seen.nnz
