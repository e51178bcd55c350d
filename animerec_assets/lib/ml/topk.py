"""Batched top-k over a score matrix, excluding what each user already has.

The score matrix of every user against the whole catalogue never exists at once: scores are
produced one block of users at a time and reduced to the top k with ``argpartition``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from scipy import sparse

BlockScorer = Callable[[np.ndarray], np.ndarray]  # user indices -> dense [len, n_items] scores


def top_k_block(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores per row, best first (-inf never wins)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1)
    best[~np.isfinite(np.take_along_axis(part_scores, order, axis=1))] = -1
    return best


def top_k_block_tf(scores: np.ndarray, k: int) -> np.ndarray:
    """Same as :func:`top_k_block` with ``tf.math.top_k`` (multi-threaded; faster on big
    blocks than NumPy's single-threaded ``argpartition``)."""
    from animerec_assets.lib.ml.tf_env import import_tf

    tf, _ = import_tf()
    values, indices = tf.math.top_k(scores, k=min(k, scores.shape[1]), sorted=True)
    best = indices.numpy().astype(np.int64)
    best[~np.isfinite(values.numpy())] = -1
    return best


def mask_rows(scores: np.ndarray, exclude: sparse.csr_matrix | None, rows: np.ndarray) -> None:
    """Set excluded (user, item) cells of a score block to -inf, in place."""
    if exclude is None:
        return
    block = exclude[rows].tocoo()
    scores[block.row, block.col] = -np.inf


def top_k(
    scorer: BlockScorer,
    users: np.ndarray,
    k: int,
    exclude: sparse.csr_matrix | None = None,
    allowed: np.ndarray | None = None,
    block_size: int = 2048,
    progress: Callable[[int], None] | None = None,
    backend: Literal["numpy", "tensorflow"] = "numpy",
) -> np.ndarray:
    """Top-``k`` item indices for every user in ``users`` (-1 pads missing slots).

    ``exclude`` is a users x items matrix indexed by user index (their own list); ``allowed``
    a boolean mask of the items that may be recommended at all.
    """
    users = np.asarray(users)
    out = np.full((len(users), k), -1, dtype=np.int64)
    for start in range(0, len(users), block_size):
        rows = users[start : start + block_size]
        scores = np.asarray(scorer(rows), dtype=np.float32).copy()
        mask_rows(scores, exclude, rows)
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        best = top_k_block_tf(scores, k) if backend == "tensorflow" else top_k_block(scores, k)
        out[start : start + len(rows), : best.shape[1]] = best
        if progress is not None:
            progress(len(rows))
    return out
