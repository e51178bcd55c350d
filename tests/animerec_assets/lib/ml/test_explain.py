""" "Because you liked X": the reason is the user's own liked anime that most points to the pick.

Hand-made weights where the answer is known, then invariants on random inputs checked against
a brute-force loop, then the contract with the ranked table and the serving payload.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from animerec_assets.lib.ml.data import encode
from animerec_assets.lib.ml.explain import (
    NO_REASON,
    cosine_pair_weights,
    dense_pair_weights,
    explain_pairs,
    explain_ranked,
    liked_matrix,
)
from animerec_assets.lib.ml.user_pipeline import ranked_table
from animerec_assets.lib.serving.payloads import prepare_user_payloads

A, B, C, D, E = range(5)


def hand_made() -> tuple[sparse.csr_matrix, np.ndarray]:
    """alice liked A (10) and B (8); nobody = no positives; carol liked A (7) and B (10)."""
    liked = sparse.csr_matrix(
        np.array([[10, 8, 0, 0, 0], [0, 0, 0, 0, 0], [7, 10, 0, 0, 0]], dtype=np.float32)
    )
    weights = np.zeros((5, 5), dtype=np.float32)
    weights[A, C], weights[B, C] = 0.9, 0.2  # A -> C is the strongest pull towards C
    weights[A, D], weights[B, D] = 0.1, 0.5
    weights[A, E], weights[B, E] = 0.3, 0.25  # close: the user's own score decides
    return liked, weights


def brute_force(liked: sparse.csr_matrix, users, items, weights: np.ndarray) -> np.ndarray:
    dense = liked.toarray()
    out = []
    for u, j in zip(users, items, strict=True):
        best, reason = 0.0, NO_REASON
        for i in np.flatnonzero(dense[u] > 0) if u >= 0 and j >= 0 else []:
            value = dense[u, i] * weights[i, j]
            if i != j and value > best:
                best, reason = value, i
        out.append(reason)
    return np.array(out)


def random_case(seed: int, n_users: int = 40, n_items: int = 30, k: int = 6):
    rng = np.random.default_rng(seed)
    liked = sparse.random(n_users, n_items, density=0.2, format="csr", random_state=seed)
    liked.data = rng.integers(7, 11, liked.nnz).astype(np.float32)
    keep = np.ones(n_users, dtype=np.float32)
    keep[rng.choice(n_users, 5, replace=False)] = 0  # some users like nothing
    liked = (sparse.diags(keep) @ liked).tocsr()
    liked.eliminate_zeros()
    weights = rng.normal(size=(n_items, n_items)).astype(np.float32)  # many negative
    ranked = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    ranked[rng.random(ranked.shape) < 0.1] = -1  # padding
    return liked, weights, ranked


def test_the_strongest_pull_from_a_liked_anime_is_the_reason() -> None:
    liked, weights = hand_made()
    ranked = np.array([[C, D, E]] * 3)
    reasons = explain_ranked(liked, np.arange(3), ranked, dense_pair_weights(weights))
    assert reasons[0].tolist() == [A, B, A]  # alice: A -> C, B -> D; E: 10*.3 > 8*.25
    assert reasons[1].tolist() == [NO_REASON] * 3  # liked nothing, so nothing explains
    assert reasons[2].tolist() == [A, B, B]  # carol scored B higher: 10*.25 > 7*.3 for E


def test_no_reason_when_every_weight_pulls_away_or_the_slot_is_padding() -> None:
    liked, weights = hand_made()
    away = -np.abs(weights)
    reasons = explain_ranked(liked, np.array([0]), np.array([[C, -1]]), dense_pair_weights(away))
    assert reasons.tolist() == [[NO_REASON, NO_REASON]]
    nan = np.full_like(weights, np.nan)
    assert explain_pairs(liked, [0], [C], dense_pair_weights(nan)).tolist() == [NO_REASON]
    assert explain_pairs(liked, [-1], [C], dense_pair_weights(weights)).tolist() == [NO_REASON]


def test_never_the_recommended_anime_itself() -> None:
    # cosine of an anime with itself is 1, the largest possible: it must still never win
    vectors = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
    liked = sparse.csr_matrix(np.array([[9.0, 9.0, 0.0]], dtype=np.float32))
    reasons = explain_pairs(liked, [0, 0, 0], [0, 1, 2], cosine_pair_weights(vectors))
    assert reasons.tolist() == [1, 0, 1]
    only_itself = sparse.csr_matrix(np.array([[9.0, 0.0, 0.0]], dtype=np.float32))
    assert explain_pairs(only_itself, [0], [0], cosine_pair_weights(vectors)).tolist() == [-1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reasons_are_own_positives_and_match_a_brute_force_loop(seed: int) -> None:
    liked, weights, ranked = random_case(seed)
    users = np.arange(liked.shape[0])
    reasons = explain_ranked(liked, users, ranked, dense_pair_weights(weights), max_pairs=17)
    expected = brute_force(liked, np.repeat(users, ranked.shape[1]), ranked.ravel(), weights)
    assert (reasons.ravel() == expected).all()
    rows, slots = np.nonzero(reasons >= 0)
    assert (liked[rows, reasons[rows, slots]].A1 > 0).all()  # one of the user's own positives
    assert (reasons[rows, slots] != ranked[rows, slots]).all()
    assert (reasons[ranked < 0] == NO_REASON).all()
    assert ((reasons >= 0).sum(axis=1)[liked.getnnz(axis=1) == 0] == 0).all()
    # chunking changes nothing
    one_chunk = explain_ranked(liked, users, ranked, dense_pair_weights(weights), max_pairs=10**9)
    assert (one_chunk == reasons).all()


def test_cost_is_liked_times_recommended_never_the_catalogue() -> None:
    """Shape of the work: each query costs its user's positives, in bounded chunks."""
    n_users, n_items, k = 300, 1_000_000, 20  # a dense item x item matrix would be 4 TB
    rng = np.random.default_rng(0)
    per_user = rng.integers(0, 60, n_users)
    rows = np.repeat(np.arange(n_users), per_user)
    cols = rng.integers(0, n_items, len(rows))
    liked = sparse.csr_matrix((np.full(len(rows), 8.0), (rows, cols)), shape=(n_users, n_items))
    liked.sum_duplicates()
    ranked = rng.integers(0, n_items, (n_users, k))
    calls: list[int] = []

    def pair_weights(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        calls.append(len(i))
        return ((i * 7 + j) % 13 - 6).astype(np.float32)  # computed, not stored

    max_pairs = 5_000
    reasons = explain_ranked(liked, np.arange(n_users), ranked, pair_weights, max_pairs=max_pairs)
    assert reasons.shape == (n_users, k)
    assert sum(calls) == liked.nnz * k  # exactly (positives x recommended) pairs
    assert max(calls) <= max_pairs and len(calls) <= 2 * liked.nnz * k // max_pairs + 1


def test_bad_input_is_refused() -> None:
    liked, weights = hand_made()
    lookup = dense_pair_weights(weights)
    with pytest.raises(ValueError, match="differ in length"):
        explain_pairs(liked, [0, 1], [C], lookup)
    with pytest.raises(ValueError, match="outside"):
        explain_pairs(liked, [0], [99], lookup)
    with pytest.raises(ValueError, match="outside"):
        explain_pairs(liked, [7], [C], lookup)
    with pytest.raises(ValueError, match=r"\[len\(users\), k\]"):
        explain_ranked(liked, np.arange(3), np.array([C, D]), lookup)
    with pytest.raises(ValueError, match="returned shape"):
        explain_pairs(liked, [0], [C], lambda i, j: np.zeros(3))


def test_liked_weights_positives_by_the_users_own_score() -> None:
    train = pd.DataFrame(
        {
            "user_id": ["u", "u", "u", "v"],
            "anime_id": [10, 20, 30, 10],
            "score": [9.0, 7.0, 3.0, 0.0],  # 30 disliked, v's 10 not scored (plan to watch)
        }
    )
    encoded = encode(train)
    liked = liked_matrix(encoded.scores, encoded.positives)
    assert liked.toarray().tolist() == [[9.0, 7.0, 0.0], [0.0, 0.0, 0.0]]


def test_reason_column_is_nullable_int_and_flows_into_the_serving_payload() -> None:
    train = pd.DataFrame(
        {"user_id": ["alice", "alice", "bob"], "anime_id": [1, 5, 9], "score": [9.0, 8, 8]}
    )
    encoded = encode(train)  # anime index 0, 1, 2 = MAL ids 1, 5, 9
    ranked = np.array([[2, 1], [0, -1]])
    reasons = np.array([[0, -1], [2, -1]])
    table = ranked_table(
        encoded, np.array([0, 1]), ranked, np.array([[0.9, 0.5], [0.7, -np.inf]]), reasons
    )
    assert str(table["reason_anime_id"].dtype) == "Int64"
    assert table["reason_anime_id"].tolist() == [1, pd.NA, 9]
    payload = prepare_user_payloads(table).set_index("user_key")["payload"]
    assert json.loads(payload["alice"]) == [[9, 0.9, None, 1], [5, 0.5, None, None]]
    assert json.loads(payload["bob"]) == [[1, 0.7, None, 9]]  # no text: the app says the title
