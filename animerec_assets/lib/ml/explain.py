"""Why an anime is recommended: the user's own liked anime that best explains it.

For a query (user u, recommended anime j) the reason is

    argmax over i in liked(u), i != j, of  liked[u, i] * W[i, j]

where ``liked`` holds how much u liked i (their score on their positives) and ``W[i, j]`` says
how much liking i points to j (EASE's item-item weight, or a cosine between item vectors). A
reason only counts when that product is > 0: an anime that pulls *away* from j explains
nothing, so the query gets no reason (-1) rather than an arbitrary one.

Vectorized over chunks of queries: each query is expanded into one row per liked anime of its
user (a CSR gather), the weights of all those (i, j) pairs come in one call, and the arg-max
per query is two ``reduceat`` passes. Work and memory grow with (queries x liked anime per
user), never with the catalogue; ``max_pairs`` bounds one chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np
from scipy import sparse

# (liked item indices, recommended item indices), same shape -> W[i, j] elementwise
PairWeights = Callable[[np.ndarray, np.ndarray], np.ndarray]

NO_REASON = -1
DEFAULT_MAX_PAIRS = 1 << 22  # ~4M (liked, recommended) pairs per chunk: ~100 MB of temporaries


def dense_pair_weights(weights: np.ndarray) -> PairWeights:
    """W[i, j] read from a dense item x item matrix (e.g. EASE's B: row i predicts column j)."""

    def lookup(liked: np.ndarray, recommended: np.ndarray) -> np.ndarray:
        return weights[liked, recommended]

    return lookup


def cosine_pair_weights(vectors: np.ndarray, chunk: int = 1 << 16) -> PairWeights:
    """Cosine between item vectors (e.g. the TFRS anime embeddings), computed pair by pair.

    Pairs go through in chunks so the gathered [pairs, dim] vectors stay a few MB.
    """
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def lookup(liked: np.ndarray, recommended: np.ndarray) -> np.ndarray:
        flat_i, flat_j = liked.ravel(), recommended.ravel()
        out = np.empty(len(flat_i), dtype=np.float32)
        for start in range(0, len(flat_i), chunk):
            part = slice(start, start + chunk)
            out[part] = np.einsum("nd,nd->n", unit[flat_i[part]], unit[flat_j[part]])
        return out.reshape(liked.shape)

    return lookup


def liked_matrix(scores: sparse.csr_matrix, positives: sparse.csr_matrix) -> sparse.csr_matrix:
    """The user's own score on each of their positives (0 elsewhere): higher score, stronger pull.

    Unscored positives (possible when positives come from elsewhere) count as 1, not 0.
    """
    liked = positives.astype(np.float32).multiply(scores.maximum(positives)).tocsr()
    liked.eliminate_zeros()
    liked.sort_indices()
    return liked


def _chunks(cost: np.ndarray, max_pairs: int) -> list[tuple[int, int]]:
    """Consecutive [start, stop) ranges whose summed cost stays <= max_pairs (a single query
    costing more gets a range of its own)."""
    bounds = [0]
    total = np.concatenate([[0], np.cumsum(cost, dtype=np.int64)])
    while bounds[-1] < len(cost):
        start = bounds[-1]
        stop = int(np.searchsorted(total, total[start] + max_pairs, side="right")) - 1
        bounds.append(max(stop, start + 1))
    return list(pairwise(bounds))


def explain_pairs(
    liked: sparse.csr_matrix,
    users: np.ndarray,
    items: np.ndarray,
    pair_weights: PairWeights,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> np.ndarray:
    """For each query (``users[q]``, ``items[q]``) the index of the liked item that explains it.

    ``liked`` is users x items with a positive value where the user liked the item (see
    :func:`liked_matrix`). Returns -1 where the user likes nothing with a positive weight
    towards the item, where the item is -1 (padding) or the user is -1 (unknown). Ties go to
    the lower item index. Queries are processed in chunks of about ``max_pairs`` pairs.
    """
    users = np.asarray(users, dtype=np.int64).ravel()
    items = np.asarray(items, dtype=np.int64).ravel()
    if users.shape != items.shape:
        raise ValueError(f"users and items differ in length: {users.shape} vs {items.shape}")
    if (users >= liked.shape[0]).any() or (items >= liked.shape[1]).any():
        raise ValueError("a user or item index lies outside the liked matrix")
    liked = liked.tocsr()
    if not liked.has_sorted_indices:
        liked = liked.sorted_indices()
    indptr = liked.indptr.astype(np.int64)
    counts = np.diff(indptr)
    valid = (users >= 0) & (items >= 0)
    cost = np.where(valid, counts[np.maximum(users, 0)], 0)
    out = np.full(len(users), NO_REASON, dtype=np.int64)
    for start, stop in _chunks(cost, max_pairs):
        out[start:stop] = _explain_chunk(
            liked, indptr, users[start:stop], items[start:stop], cost[start:stop], pair_weights
        )
    return out


def _explain_chunk(
    liked: sparse.csr_matrix,
    indptr: np.ndarray,
    users: np.ndarray,
    items: np.ndarray,
    cost: np.ndarray,
    pair_weights: PairWeights,
) -> np.ndarray:
    out = np.full(len(users), NO_REASON, dtype=np.int64)
    total = int(cost.sum())
    if total == 0:
        return out
    # one row per (query, liked item of the query's user), the rows of a query side by side
    first = np.cumsum(cost) - cost  # each query's first row
    position = np.repeat(indptr[np.maximum(users, 0)] - first, cost) + np.arange(total)
    liked_item = liked.indices[position].astype(np.int64)
    target = np.repeat(items, cost)
    weight = np.asarray(pair_weights(liked_item, target), dtype=np.float32)
    if weight.shape != liked_item.shape:
        raise ValueError(f"pair_weights returned shape {weight.shape}, expected {(total,)}")
    value = liked.data[position].astype(np.float32) * weight
    value[~np.isfinite(value) | (liked_item == target)] = -np.inf
    has_rows = np.flatnonzero(cost > 0)
    starts = first[has_rows]
    best = np.maximum.reduceat(value, starts)
    # every query has a row equal to its max: the first such row at or after its start
    best_rows = np.flatnonzero(value == np.repeat(best, cost[has_rows]))
    row = best_rows[np.searchsorted(best_rows, starts)]
    out[has_rows] = np.where(best > 0, liked_item[row], NO_REASON)
    return out


def explain_ranked(
    liked: sparse.csr_matrix,
    users: np.ndarray,
    ranked: np.ndarray,
    pair_weights: PairWeights,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> np.ndarray:
    """[len(users), k] reason item indices for ranked lists ``ranked`` (-1 pads, as in top_k).

    Row-major order keeps each chunk a block of consecutive users.
    """
    ranked = np.asarray(ranked)
    users = np.asarray(users, dtype=np.int64)
    if ranked.ndim != 2 or ranked.shape[0] != len(users):
        raise ValueError(f"ranked must be [len(users), k]; got {ranked.shape} for {len(users)}")
    repeated = np.repeat(users, ranked.shape[1])
    return explain_pairs(liked, repeated, ranked.ravel(), pair_weights, max_pairs).reshape(
        ranked.shape
    )
