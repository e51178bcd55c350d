"""``animerec bench inference``: retrieval training and top-300 batch inference at scale.

Synthetic data of the requested size (the timing depends on shapes, not on what the ids
mean): a training run of the TFRS user -> anime retrieval model, then top-k for every user
(their own list excluded) by blocked matmul + either NumPy ``argpartition`` or
``tf.math.top_k`` (``top_k(..., backend=...)``), and the machine's float32 matmul GFLOP/s.
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
    numpy_topk_seconds: float
    tf_topk_seconds: float
    peak_gflops: float
    inference_gflops: float

    def report(self) -> str:
        best = min(self.numpy_topk_seconds, self.tf_topk_seconds)
        return "\n".join(
            [
                f"catalogue {self.anime} anime, {self.users} users, k={self.k}, dim={self.dim}",
                f"retrieval training: {self.train_pairs} pairs x {self.train_epochs} epoch(s) "
                f"in {self.train_seconds:.1f} s "
                f"({self.train_pairs * self.train_epochs / self.train_seconds:,.0f} pairs/s)",
                f"top-{self.k} batch inference, NumPy argpartition (seen excluded): "
                f"{self.numpy_topk_seconds:.1f} s",
                f"top-{self.k} batch inference, tf.math.top_k (seen excluded): "
                f"{self.tf_topk_seconds:.1f} s",
                f"target < 60 s: {'met' if best < 60 else 'NOT met'} ({best:.1f} s)",
                f"float32 matmul peak (2048^3): {self.peak_gflops:.1f} GFLOP/s; scoring matmul "
                f"in inference ran at {self.inference_gflops:.1f} GFLOP/s "
                f"(ratio {self.inference_gflops / self.peak_gflops:.2f})",
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

    from animerec_assets.lib.ml.topk import top_k
    from animerec_assets.lib.ml.user_anime import RetrievalConfig, train_retrieval

    positives = synthetic_positives(users, anime, train_pairs)
    config = RetrievalConfig(embedding_dim=dim, epochs=epochs, history_length=64)
    started = time.perf_counter()
    trained = train_retrieval(positives, config)
    train_seconds = time.perf_counter() - started

    user_vectors = trained.user_vectors.astype(np.float32)
    anime_vectors = np.ascontiguousarray(trained.anime_vectors.astype(np.float32))
    block = 2048
    seconds = {}
    for backend in ("numpy", "tensorflow"):
        with tqdm(total=users, desc=f"top-k ({backend})", unit="user") as bar:
            started = time.perf_counter()
            top_k(
                lambda rows: user_vectors[rows] @ anime_vectors.T,
                np.arange(users),
                k,
                exclude=positives,
                block_size=block,
                progress=bar.update,
                backend=backend,
            )
            seconds[backend] = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, users, block):
        user_vectors[start : start + block] @ anime_vectors.T
    matmul_seconds = time.perf_counter() - started
    return InferenceBench(
        users=users,
        anime=anime,
        k=k,
        dim=dim,
        train_pairs=int(positives.nnz),
        train_epochs=epochs,
        train_seconds=train_seconds,
        numpy_topk_seconds=seconds["numpy"],
        tf_topk_seconds=seconds["tensorflow"],
        peak_gflops=matmul_gflops(),
        inference_gflops=2 * users * anime * dim / matmul_seconds / 1e9,
    )
