"""``animerec bench inference``: retrieval training and top-300 batch inference at scale.

Synthetic data of the requested size (the timing depends on shapes, not on what the ids
mean): a training run of the TFRS user -> anime retrieval model, then top-k for every user
(their own list excluded) with :func:`animerec_assets.lib.ml.topk.top_k_dot`, set against two
limits measured in the same run: the float32 matmul peak (square 2048^3) and the rate of the
scoring matmul alone at inference's own shape (users x dim @ dim x anime, same blocks).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class InferenceBench:
    users: int
    anime: int
    k: int
    dim: int
    train_pairs: int
    train_epochs: int
    train_seconds: float
    topk_seconds: float
    peak_gflops: float
    shape_gflops: float

    @property
    def inference_gflops(self) -> float:
        """The scoring work (2 * users * anime * dim) over the whole top-k time."""
        return 2 * self.users * self.anime * self.dim / self.topk_seconds / 1e9

    def report(self) -> str:
        return "\n".join(
            [
                f"catalogue {self.anime} anime, {self.users} users, k={self.k}, dim={self.dim}",
                f"retrieval training: {self.train_pairs} pairs x {self.train_epochs} epoch(s) "
                f"in {self.train_seconds:.1f} s "
                f"({self.train_pairs * self.train_epochs / self.train_seconds:,.0f} pairs/s)",
                f"top-{self.k} batch inference (own list excluded): {self.topk_seconds:.1f} s "
                f"= {self.inference_gflops:.1f} GFLOP/s",
                f"float32 matmul peak (2048^3): {self.peak_gflops:.1f} GFLOP/s -> ratio "
                f"{self.inference_gflops / self.peak_gflops:.2f}",
                f"scoring matmul alone at this shape: {self.shape_gflops:.1f} GFLOP/s -> ratio "
                f"{self.inference_gflops / self.shape_gflops:.2f}",
            ]
        )


def matmul_gflops(size: int = 2048, repeat: int = 3) -> float:
    """Best-of-``repeat`` float32 GFLOP/s of a square matmul (the machine's practical peak)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    best = np.inf
    for _ in range(repeat):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def matmul_at_shape_gflops(
    user_vectors: np.ndarray, item_vectors: np.ndarray, block_size: int = 256
) -> float:
    """GFLOP/s of the scoring matmul alone, blocked and buffered exactly as ``top_k_dot`` does
    it: the most any top-k over these scores could reach on this machine."""
    users = np.ascontiguousarray(user_vectors, dtype=np.float32)
    items_t = np.ascontiguousarray(np.asarray(item_vectors, dtype=np.float32).T)
    buffer = np.empty((block_size, items_t.shape[1]), dtype=np.float32)
    started = time.perf_counter()
    for start in range(0, len(users), block_size):
        stop = min(start + block_size, len(users))
        np.matmul(users[start:stop], items_t, out=buffer[: stop - start])
    seconds = time.perf_counter() - started
    return 2 * len(users) * items_t.shape[1] * items_t.shape[0] / seconds / 1e9


def synthetic_positives(users: int, anime: int, pairs: int, seed: int = 0) -> sparse.csr_matrix:
    """Zipf-ish popularity like real lists: a few anime are on most lists."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, anime + 1) ** 0.8
    cols = rng.choice(anime, size=pairs, p=popularity / popularity.sum())
    rows = rng.integers(0, users, size=pairs)
    matrix = sparse.csr_matrix((np.ones(pairs, np.float32), (rows, cols)), shape=(users, anime))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def run_inference_bench(
    users: int, anime: int, k: int, train_pairs: int, epochs: int = 1, dim: int = 64
) -> InferenceBench:
    from tqdm import tqdm

    from animerec_assets.lib.ml.topk import top_k_dot
    from animerec_assets.lib.ml.user_anime import RetrievalConfig, train_retrieval

    positives = synthetic_positives(users, anime, train_pairs)
    config = RetrievalConfig(embedding_dim=dim, epochs=epochs, history_length=64)
    started = time.perf_counter()
    trained = train_retrieval(positives, config)
    train_seconds = time.perf_counter() - started

    user_vectors = trained.user_vectors.astype(np.float32)
    anime_vectors = np.ascontiguousarray(trained.anime_vectors.astype(np.float32))
    top_k_dot(user_vectors[:256], anime_vectors, k, exclude=positives[:256])  # compile once
    with tqdm(total=users, desc="top-k", unit="user") as bar:
        started = time.perf_counter()
        top_k_dot(user_vectors, anime_vectors, k, exclude=positives, progress=bar.update)
        topk_seconds = time.perf_counter() - started
    return InferenceBench(
        users=users,
        anime=anime,
        k=k,
        dim=dim,
        train_pairs=int(positives.nnz),
        train_epochs=epochs,
        train_seconds=train_seconds,
        topk_seconds=topk_seconds,
        peak_gflops=matmul_gflops(),
        shape_gflops=matmul_at_shape_gflops(user_vectors, anime_vectors),
    )
