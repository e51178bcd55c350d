"""The baselines every model stage must beat: popularity, item-kNN (cosine) and EASE.

All three are fit on the binary matrix of training positives and score a block of users at a
time (see :func:`animerec_assets.lib.ml.topk.top_k`). EASE (Steck, 2019) is a closed-form item
x item linear model: one dense inverse of the item Gram matrix, fine for ~20k anime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class Popularity:
    counts: np.ndarray  # training positives per item

    @classmethod
    def fit(cls, positives: sparse.csr_matrix) -> Popularity:
        return cls(np.asarray(positives.sum(axis=0), dtype=np.float32).ravel())

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(users), len(self.counts)))


@dataclass(frozen=True)
class ItemKNN:
    """Cosine similarity between items' user vectors; a user's score sums their items' rows."""

    positives: sparse.csr_matrix
    similarity: np.ndarray  # dense items x items, zero diagonal

    @classmethod
    def fit(cls, positives: sparse.csr_matrix) -> ItemKNN:
        x = positives.astype(np.float32)
        gram = np.asarray((x.T @ x).todense(), dtype=np.float32)
        norms = np.sqrt(np.diag(gram))
        norms[norms == 0] = 1.0
        similarity = gram / norms[:, None] / norms[None, :]
        np.fill_diagonal(similarity, 0.0)
        return cls(x.tocsr(), similarity)

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.positives[users] @ self.similarity)


@dataclass(frozen=True)
class EASE:
    positives: sparse.csr_matrix
    weights: np.ndarray  # dense items x items, zero diagonal

    @classmethod
    def fit(cls, positives: sparse.csr_matrix, l2: float = 200.0) -> EASE:
        x = positives.astype(np.float64)
        gram = np.asarray((x.T @ x).todense())
        gram[np.diag_indices_from(gram)] += l2
        inverse = spd_inverse(gram)
        inverse /= -np.diag(inverse)[None, :]
        np.fill_diagonal(inverse, 0.0)
        return cls(positives.astype(np.float32).tocsr(), inverse.astype(np.float32))

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.positives[users] @ self.weights)


def spd_inverse(matrix: np.ndarray, block: int = 1024) -> np.ndarray:
    """Inverse of a symmetric positive definite float64 matrix, computed in its own memory.

    Cholesky (LAPACK potrf + potri) does a third of the flops of a general inverse and needs
    no second n x n buffer: at 15k anime EASE's Gram matrix is 1.8 GB and its inverse the
    longest step of the candidate fit. ``matrix`` is overwritten.
    """
    from scipy.linalg import lapack

    # the transpose of a C-ordered symmetric matrix is itself, in the Fortran order LAPACK
    # overwrites in place; its lower triangle is the C-ordered upper one
    factor, info = lapack.dpotrf(matrix.T, lower=True, overwrite_a=True, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"matrix is not positive definite (potrf info {info})")
    inverse, info = lapack.dpotri(factor, lower=True, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"matrix is singular (potri info {info})")
    out = inverse.T  # C-ordered, the upper triangle holds the inverse
    n = len(out)
    for start in range(0, n, block):
        stop = min(start + block, n)
        out[start:stop, :start] = out[:start, start:stop].T
        diagonal = out[start:stop, start:stop]
        lower = np.tril_indices(stop - start, -1)
        diagonal[lower] = diagonal.T[lower]
    return out


@dataclass(frozen=True)
class RP3beta:
    """Random walk user -> item -> user -> item, raised to ``alpha``, with the target item's
    popularity discounted by ``beta`` (Paudel et al., 2017): a graph candidate source that
    surfaces less popular anime than EASE does. Dense items x items, like EASE."""

    positives: sparse.csr_matrix
    weights: np.ndarray  # dense items x items, zero diagonal

    @classmethod
    def fit(cls, positives: sparse.csr_matrix, alpha: float = 1.0, beta: float = 0.3) -> RP3beta:
        x = positives.astype(np.float32).tocsr()
        user_degree = np.asarray(x.sum(axis=1)).ravel()
        item_degree = np.asarray(x.sum(axis=0)).ravel()
        user_to_item = sparse.diags(1.0 / np.maximum(user_degree, 1.0)) @ x
        item_to_user = sparse.diags(1.0 / np.maximum(item_degree, 1.0)) @ x.T.tocsr()
        if alpha != 1.0:
            user_to_item = user_to_item.power(alpha)
            item_to_user = item_to_user.power(alpha)
        weights = np.asarray((item_to_user @ user_to_item).todense(), dtype=np.float32)
        weights /= np.power(np.maximum(item_degree, 1.0), beta, dtype=np.float32)[None, :]
        np.fill_diagonal(weights, 0.0)
        return cls(x, weights)

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.positives[users] @ self.weights)
