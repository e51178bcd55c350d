"""Recall@K, NDCG@K (binary gains) and catalogue coverage for top-k lists, vectorized.

Hits are found by looking (user, item) keys up in the sorted held-out keys, so no dense
users x items matrix is ever built and there is no Python loop over users.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

DEFAULT_KS = (20, 300)
COVERAGE_K = 20


def lookup(matrix: sparse.csr_matrix, top: np.ndarray) -> np.ndarray:
    """Values of ``matrix[row, top[row, j]]`` as a dense [rows, k] array (0 where absent)."""
    coo = matrix.tocoo()
    n_items = matrix.shape[1]
    keys_sorted = coo.row.astype(np.int64) * n_items + coo.col
    order = np.argsort(keys_sorted)
    keys_sorted, values = keys_sorted[order], coo.data[order]
    out = np.zeros(top.shape, dtype=np.float32)
    if len(keys_sorted) == 0:
        return out
    rows = np.arange(top.shape[0], dtype=np.int64)[:, None]
    keys = rows * n_items + np.where(top >= 0, top, 0)
    pos = np.searchsorted(keys_sorted, keys).clip(max=len(keys_sorted) - 1)
    found = (keys_sorted[pos] == keys) & (top >= 0)
    out[found] = values[pos[found]]
    return out


def hit_matrix(top: np.ndarray, heldout: sparse.csr_matrix) -> np.ndarray:
    """Boolean [users, k]: whether each recommended item is one of the user's answers."""
    return lookup(heldout, top) != 0


def evaluate_hits(
    hits: np.ndarray, n_heldout: np.ndarray, ks: tuple[int, ...] = DEFAULT_KS
) -> dict[str, float]:
    """Mean Recall@K and NDCG@K from a [users, k] hit matrix, over users with answers."""
    users = n_heldout > 0
    discounts = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    result: dict[str, float] = {}
    for k in ks:
        k_hits = hits[:, :k]
        denom = np.minimum(k, n_heldout)
        recall = k_hits.sum(axis=1) / np.maximum(denom, 1)
        dcg = (k_hits * discounts[: k_hits.shape[1]]).sum(axis=1)
        ideal_cum = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
        idcg = ideal_cum[np.minimum(denom, k)]
        ndcg = np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)
        result[f"recall@{k}"] = float(recall[users].mean()) if users.any() else 0.0
        result[f"ndcg@{k}"] = float(ndcg[users].mean()) if users.any() else 0.0
    return result


def evaluate_top_k(
    top: np.ndarray,
    heldout: sparse.csr_matrix,
    n_heldout: np.ndarray,
    n_catalogue: int,
    ks: tuple[int, ...] = DEFAULT_KS,
) -> dict[str, float]:
    """Mean Recall@K and NDCG@K over users with answers, plus coverage of the top 20.

    ``n_heldout`` counts each user's answers including those outside the catalogue, as the
    protocol's denominator min(K, |held out|) does.
    """
    if top.shape[0] != heldout.shape[0]:
        raise ValueError(f"{top.shape[0]} recommendation rows for {heldout.shape[0]} users")
    result = evaluate_hits(hit_matrix(top, heldout), n_heldout, ks)
    top20 = top[:, :COVERAGE_K]
    result["coverage@20"] = float(len(np.unique(top20[top20 >= 0])) / max(n_catalogue, 1))
    return result
