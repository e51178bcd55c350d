"""The fused top-k kernel against a plain sort: exact, deterministic, exclusions honoured."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from animerec_assets.lib.ml.topk import sample_plan, top_k, top_k_block, top_k_dot


def sorted_reference(scores: np.ndarray, exclude: sparse.csr_matrix | None, k: int) -> np.ndarray:
    """Best first, ties by column, -1 where only -inf/NaN is left."""
    scores = scores.astype(np.float32).copy()
    if exclude is not None:
        cells = exclude.tocoo()
        scores[cells.row, cells.col] = -np.inf
    keyed = np.where(np.isnan(scores), -np.inf, scores)
    order = np.argsort(-keyed, axis=1, kind="stable")[:, :k]
    best = np.take_along_axis(keyed, order, axis=1)
    order[~np.isfinite(best)] = -1
    return order


@pytest.mark.parametrize(
    ("n_items", "k"), [(15_000, 300), (5_000, 300), (3_000, 10), (100, 300), (2_000, 2_000)]
)
def test_top_k_block_matches_a_full_sort(n_items: int, k: int) -> None:
    rng = np.random.default_rng(n_items + k)
    scores = rng.standard_normal((120, n_items)).astype(np.float32)
    scores[3] = 1.0  # every column tied: the lowest columns win
    scores[4, ::2] = np.nan  # NaN is never recommended
    exclude = sparse.random(120, n_items, density=0.05, format="lil", random_state=1)
    exclude[7, :] = 1.0  # a user who has everything gets nothing
    exclude = exclude.tocsr()

    got = top_k_block(scores.copy(), k, exclude)
    expected = sorted_reference(scores, exclude, k)

    np.testing.assert_array_equal(got, expected[:, : got.shape[1]])
    assert (got[7] == -1).all()
    assert got.shape == (120, min(k, n_items))


def test_threshold_guess_that_misses_falls_back_to_every_column() -> None:
    """Rows where the sampled guess keeps fewer than k columns are redone exactly: here the
    sampled columns are far better than the rest, so the guess (the sample's ~26th best)
    keeps only ~26 columns."""
    n_items, k = 15_000, 300
    columns, rank = sample_plan(n_items, k)
    assert rank < k
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((8, n_items)).astype(np.float32)
    scores[:, columns] += 100.0

    got = top_k_block(scores.copy(), k)

    np.testing.assert_array_equal(got, sorted_reference(scores, None, k))
    assert np.isin(got, columns).all()


def test_top_k_over_a_scorer_respects_allowed_and_user_rows() -> None:
    rng = np.random.default_rng(3)
    table = rng.standard_normal((500, 4_000)).astype(np.float32)
    seen = sparse.random(500, 4_000, density=0.02, format="csr", random_state=4)
    allowed = rng.random(4_000) > 0.3
    users = rng.permutation(500)[:300]

    got = top_k(lambda rows: table[rows], users, 50, exclude=seen, allowed=allowed, block_size=64)

    masked = table.copy()
    masked[:, ~allowed] = -np.inf
    np.testing.assert_array_equal(got, sorted_reference(masked[users], seen[users], 50))


def test_top_k_dot_equals_blocked_matmul_and_sort() -> None:
    rng = np.random.default_rng(5)
    users = rng.standard_normal((700, 32)).astype(np.float32)
    items = rng.standard_normal((6_000, 32)).astype(np.float32)
    seen = sparse.random(700, 6_000, density=0.01, format="csr", random_state=6)

    got = top_k_dot(users, items, 300, exclude=seen, block_size=256)

    np.testing.assert_array_equal(got, sorted_reference(users @ items.T, seen, 300))


def test_k_larger_than_catalogue_pads_with_minus_one() -> None:
    users = np.ones((3, 4), dtype=np.float32)
    items = np.eye(4, dtype=np.float32)[:3]
    got = top_k_dot(users, items, 5)
    assert got.shape == (3, 5)
    assert (got[:, 3:] == -1).all()
    assert sorted(got[0, :3]) == [0, 1, 2]
