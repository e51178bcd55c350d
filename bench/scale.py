"""``animerec bench scale``: the whole pipeline at a chosen size, stage by stage, on one machine.

landing (the replica's world model written in chunks, ``mal_replica.landing``) → processed
(the project's ``dbt build``, as ``bench dbt`` runs it) → training (TFRS user → anime
retrieval) → top-300 inference (user's own list excluded) → Redis publish (versioned publish to
the embedded Redis of a temporary ANIMEREC_HOME).

Each stage reports wall time, rows/s and the peak resident memory of this process and all its
children (dbt, redis-server). Beside each figure, the machine's own limit measured in the same
run, so "slow" means something: dbt against DuckDB's raw scan rate of landing.user_anime,
inference against float32 matmul GFLOP/s, publish against pipelined Redis SETs per second.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse

from bench.dbt_build import PeakMemory, timed_dbt_build

STAGES = ("landing", "dbt", "training", "inference", "publish")
TOP_K = 300
TOP_SIMILAR = 50


@dataclass
class StageFigures:
    name: str
    seconds: float
    rows: int
    peak_bytes: int
    note: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class ScaleBench:
    users: int
    anime: int
    stages: list[StageFigures] = field(default_factory=list)
    limits: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def ratios(self) -> dict[str, float]:
        """Achieved rate / machine limit, per stage that has a limit measured."""
        by_name = {stage.name: stage for stage in self.stages}
        out: dict[str, float] = {}
        if "dbt" in by_name and self.limits.get("duckdb_scan_rows_per_s"):
            out["dbt_vs_duckdb_scan"] = (
                by_name["dbt"].rows_per_second / self.limits["duckdb_scan_rows_per_s"]
            )
        if "inference" in by_name and self.limits.get("matmul_gflops"):
            achieved = self.limits.get("inference_gflops", 0.0)
            out["inference_vs_matmul_peak"] = achieved / self.limits["matmul_gflops"]
            if self.limits.get("matmul_at_shape_gflops"):
                out["inference_vs_matmul_at_shape"] = (
                    achieved / self.limits["matmul_at_shape_gflops"]
                )
        if "publish" in by_name and self.limits.get("redis_set_per_s"):
            for achieved in ("publish_keys_per_s", "publish_write_keys_per_s"):
                if achieved in self.limits:
                    name = achieved.removesuffix("_keys_per_s")
                    out[f"{name}_vs_redis_set"] = (
                        self.limits[achieved] / self.limits["redis_set_per_s"]
                    )
        return out

    def to_dict(self) -> dict:
        return {
            "users": self.users,
            "anime": self.anime,
            "stages": [
                {**asdict(stage), "rows_per_second": stage.rows_per_second} for stage in self.stages
            ],
            "limits": self.limits,
            "ratios": self.ratios(),
            "counts": self.counts,
            "total_seconds": sum(stage.seconds for stage in self.stages),
            "peak_bytes": max((stage.peak_bytes for stage in self.stages), default=0),
        }

    def report(self, as_json: bool = False) -> str:
        if as_json:
            return json.dumps(self.to_dict(), indent=2)
        lines = [f"scale bench: {self.users:,} users, {self.anime:,} anime"]
        for stage in self.stages:
            lines.append(
                f"  {stage.name:<10} {stage.seconds:8.1f} s  {stage.rows:>12,} rows  "
                f"{stage.rows_per_second:>12,.0f} rows/s  peak {stage.peak_bytes / 2**20:7,.0f} "
                f"MiB  {stage.note}"
            )
        total = sum(stage.seconds for stage in self.stages)
        peak = max((stage.peak_bytes for stage in self.stages), default=0)
        lines.append(f"  total      {total:8.1f} s  peak {peak / 2**20:,.0f} MiB (with children)")
        lines.append(
            "  machine limits: "
            + ", ".join(f"{name}={value:,.1f}" for name, value in self.limits.items())
        )
        lines.append(
            "  ratios (achieved / limit): "
            + ", ".join(f"{name}={value:.3f}" for name, value in self.ratios().items())
        )
        return "\n".join(lines)


def chart_png(result: ScaleBench) -> bytes:
    """Two panels, PNG: seconds per stage (peak memory on each bar), and each measured
    achieved/limit ratio against the 0.5 target line."""
    from animerec_assets.lib.charts import figure_png, pyplot

    plt = pyplot()

    figure, (times, ratios) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=100)
    names = [stage.name for stage in result.stages]
    seconds = [stage.seconds for stage in result.stages]
    bars = times.barh(names, seconds, color="#4c72b0")
    for bar, stage in zip(bars, result.stages, strict=True):
        times.annotate(
            f" {stage.seconds:,.0f} s, {stage.peak_bytes / 2**30:.1f} GiB",
            (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            va="center",
        )
    times.invert_yaxis()
    times.set_xlim(0, max(seconds, default=1) * 1.45)
    times.set_xlabel("wall seconds (label: peak memory with children)")
    total = sum(seconds)
    times.set_title(f"{result.users:,} users: {total / 60:.1f} min end to end")
    measured = result.ratios()
    ratios.barh(list(measured), list(measured.values()), color="#55a868")
    ratios.axvline(0.5, color="#c44e52", linestyle="--", label="target 0.5")
    ratios.invert_yaxis()
    ratios.set_xlabel("achieved / machine limit (same run)")
    ratios.set_title("against this machine's own limits")
    ratios.legend(loc="lower right")
    return figure_png(figure)


@contextlib.contextmanager
def _stage(
    result: ScaleBench, name: str, rows: Callable[[], int], note: Callable[[], str] = lambda: ""
) -> Iterator[None]:
    """Time a stage and sample the memory of this process tree while it runs."""
    started = time.perf_counter()
    with PeakMemory(os.getpid()) as memory:
        yield
    seconds = time.perf_counter() - started
    result.stages.append(StageFigures(name, seconds, rows(), memory.peak_bytes, note()))


def duckdb_scan_rate(warehouse: Path, repeat: int = 3) -> tuple[float, int]:
    """Rows/s of a full hash scan of landing.user_anime: the floor under any dbt model."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute("SELECT count(*) FROM landing.user_anime").fetchone()[0]
        best = np.inf
        for _ in range(repeat):
            started = time.perf_counter()
            connection.execute(
                "SELECT sum(hash(user_id, anime_id, score, status, progress, "
                "last_interaction_date, crawl_date)) FROM landing.user_anime"
            ).fetchone()
            best = min(best, time.perf_counter() - started)
    return rows / best, int(rows)


def redis_set_rate(
    client, keys: int = 200_000, value_bytes: int = 200, prefix: str = "scalebench"
) -> float:
    """Pipelined SETs per second the server takes, sent the fastest way a client can: the
    whole pipeline pre-encoded in the Redis protocol (mass insertion), replies read in bulk.
    A redis-py pipeline would measure the client's per-command Python cost instead."""
    value = b"x" * value_bytes
    names = [f"{prefix}:{i}".encode() for i in range(keys)]
    payload = b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(name), name, len(value), value)
        for name in names
    )
    connection = client.connection_pool.get_connection()
    try:
        started = time.perf_counter()
        connection.send_packed_command([payload])
        expected, received = 5 * keys, 0  # "+OK\r\n" per SET
        while received < expected:
            chunk = connection._sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("redis closed the connection during the SET benchmark")
            received += len(chunk)
        seconds = time.perf_counter() - started
    finally:
        client.connection_pool.release(connection)
    for start in range(0, keys, 10_000):
        client.unlink(*names[start : start + 10_000])
    return keys / seconds


def load_positives(warehouse: Path) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Every list entry not merely planned, as a users x anime matrix (+ the id of each index)."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        frame = connection.execute(
            """WITH users AS (SELECT user_id, row_number() OVER (ORDER BY user_id) - 1 AS u
                              FROM (SELECT DISTINCT user_id FROM processed.user_anime)),
                    anime AS (SELECT anime_id, row_number() OVER (ORDER BY anime_id) - 1 AS a
                              FROM processed.anime)
               SELECT u.u::INTEGER AS u, a.a::INTEGER AS a
               FROM processed.user_anime x
               JOIN users u USING (user_id) JOIN anime a USING (anime_id)
               WHERE x.status <> 'plan_to_watch'"""
        ).df()
        user_ids = connection.execute(
            "SELECT DISTINCT user_id FROM processed.user_anime ORDER BY user_id"
        ).df()["user_id"]
        anime_ids = connection.execute(
            "SELECT anime_id FROM processed.anime ORDER BY anime_id"
        ).df()["anime_id"]
    shape = (len(user_ids), len(anime_ids))
    data = np.ones(len(frame), dtype=np.float32)
    matrix = sparse.csr_matrix((data, (frame["u"].to_numpy(), frame["a"].to_numpy())), shape)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix, user_ids.to_numpy(dtype=object), anime_ids.to_numpy(dtype=np.int64)


def candidate_scores(
    user_vectors: np.ndarray, anime_vectors: np.ndarray, top: np.ndarray, block: int = 8192
) -> np.ndarray:
    """The model's score of each retrieved candidate (padding -1 scores as candidate 0)."""
    out = np.empty(top.shape, dtype=np.float32)
    for start in range(0, len(top), block):
        rows = slice(start, start + block)
        picked = anime_vectors[np.maximum(top[rows], 0)]
        out[rows] = np.einsum("ud,ukd->uk", user_vectors[rows], picked)
    return out


def _user_recommendations(
    top: np.ndarray, scores: np.ndarray, user_ids: np.ndarray, anime_ids: np.ndarray, n: int
) -> pd.DataFrame:
    """The first ``n`` of each user's top-k as publish's long format."""
    head, head_scores = top[:, :n], scores[:, :n]
    keep = head >= 0
    rows, ranks = np.nonzero(keep)
    return pd.DataFrame(
        {
            "user_id": user_ids[rows],
            "anime_id": anime_ids[head[keep]],
            "rank": ranks + 1,
            "score": head_scores[keep].astype(np.float64),
        }
    )


def _similar(anime_vectors: np.ndarray, anime_ids: np.ndarray, n: int) -> pd.DataFrame:
    from animerec_assets.lib.ml.topk import top_k

    unit = anime_vectors / np.maximum(np.linalg.norm(anime_vectors, axis=1, keepdims=True), 1e-9)
    items = np.arange(len(unit))
    self_pairs = sparse.identity(len(unit), dtype=np.float32, format="csr")
    best = top_k(lambda rows: unit[rows] @ unit.T, items, n, exclude=self_pairs)
    keep = best >= 0
    rows, ranks = np.nonzero(keep)
    cosine = np.einsum("ij,ij->i", unit[rows], unit[best[keep]])
    return pd.DataFrame(
        {
            "animeA": anime_ids[rows],
            "animeB": anime_ids[best[keep]],
            "rank": ranks + 1,
            "score": cosine.astype(np.float64),
        }
    )


def run_scale_bench(
    users: int,
    anime: int = 15_000,
    seed: int = 0,
    chunk_users: int = 50_000,
    epochs: int = 1,
    workdir: Path | None = None,
    progress: bool = True,
    mean_list_size: float | None = None,
) -> ScaleBench:
    """Run every stage once; the warehouse and Redis live in a temporary ANIMEREC_HOME."""
    from tqdm import tqdm

    from animerec_assets.lib.redis_conn import connect
    from bench.inference import matmul_gflops
    from mal_replica.landing import write_world_landing

    keep_folder = workdir is not None
    home = Path(workdir or tempfile.mkdtemp(prefix="animerec-bench-scale-"))
    home.mkdir(parents=True, exist_ok=True)
    warehouse = home / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)
    result = ScaleBench(users=users, anime=anime)
    overrides = {} if mean_list_size is None else {"mean_list_size": mean_list_size}
    bar = tqdm(total=len(STAGES), desc="bench scale", unit="stage", disable=not progress)
    client = None
    try:
        bar.set_postfix_str("landing")
        with _stage(result, "landing", lambda: sum(result.counts.values())):
            with duckdb.connect(str(warehouse)) as connection:
                summary = write_world_landing(
                    connection, users, anime, seed=seed, chunk_users=chunk_users, **overrides
                )
            result.counts.update({f"landing.{t}": n for t, n in summary.rows.items()})
        bar.update()

        bar.set_postfix_str("dbt build")
        landing_rows = sum(result.counts.values())
        dbt_note: list[str] = []
        with _stage(result, "dbt", lambda: landing_rows, lambda: dbt_note[0]):
            done = timed_dbt_build(warehouse, home / "target").summary()
            dbt_note.append(f"(rows = landing rows in) {done}")
        scan_rate, _ = duckdb_scan_rate(warehouse)
        result.limits["duckdb_scan_rows_per_s"] = scan_rate
        bar.update()

        bar.set_postfix_str("training")
        from animerec_assets.lib.ml.tf_env import import_tf
        from animerec_assets.lib.ml.user_anime import RetrievalConfig, train_retrieval

        import_tf()  # the one-off TensorFlow import is not training time

        positives, user_ids, anime_ids = load_positives(warehouse)
        result.counts["positives"] = int(positives.nnz)
        config = RetrievalConfig(epochs=epochs, history_length=64)
        trained = None
        with _stage(
            result,
            "training",
            lambda: result.counts["positives"] * epochs,
            lambda: "(rows = pairs)",
        ):
            trained = train_retrieval(positives, config)
        bar.update()

        bar.set_postfix_str("inference")
        from animerec_assets.lib.ml.topk import top_k_dot
        from bench.inference import matmul_at_shape_gflops

        user_vectors = trained.user_vectors.astype(np.float32)
        anime_vectors = np.ascontiguousarray(trained.anime_vectors.astype(np.float32))
        n_users = positives.shape[0]
        top_k_dot(user_vectors[:64], anime_vectors, TOP_K, exclude=positives[:64])  # JIT once
        with _stage(result, "inference", lambda: n_users, lambda: f"(rows = users, k={TOP_K})"):
            top = top_k_dot(user_vectors, anime_vectors, TOP_K, exclude=positives)
        inference_seconds = result.stages[-1].seconds
        result.limits["matmul_gflops"] = matmul_gflops()
        result.limits["matmul_at_shape_gflops"] = matmul_at_shape_gflops(
            user_vectors, anime_vectors
        )
        result.limits["inference_gflops"] = (
            2 * n_users * len(anime_ids) * anime_vectors.shape[1] / inference_seconds / 1e9
        )
        bar.update()

        bar.set_postfix_str("publish")
        from animerec_assets.lib.serving.payloads import TOP_N_USER, prepare_payloads
        from animerec_assets.lib.serving.publish import publish_payloads

        scores = candidate_scores(user_vectors, anime_vectors, top[:, :TOP_N_USER])
        recs = _user_recommendations(top, scores, user_ids, anime_ids, TOP_N_USER)
        similar = _similar(anime_vectors, anime_ids, TOP_SIMILAR)
        # what publish does not need goes before it starts (1M x 300 candidates are 2.4 GB)
        del top, scores, positives, trained, user_vectors
        gc.collect()
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            anime_table = connection.execute("SELECT * FROM processed.anime").df()
        client = connect(None, home / "redis")
        published: list = []
        timings: dict[str, float] = {}
        with _stage(
            result,
            "publish",
            lambda: published[0].keys_written,
            lambda: (
                f"(rows = keys; prepare {timings['prepare']:.1f} s + write "
                f"{timings['write']:.1f} s)"
            ),
        ):
            started = time.perf_counter()
            payloads = prepare_payloads(recs, similar, anime_table)
            timings["prepare"] = time.perf_counter() - started
            started = time.perf_counter()
            published.append(publish_payloads(client, payloads, model_version="scale"))
            timings["write"] = time.perf_counter() - started
        keys_written = published[0].keys_written
        result.limits["publish_keys_per_s"] = keys_written / result.stages[-1].seconds
        result.limits["publish_write_keys_per_s"] = keys_written / timings["write"]
        mean_value = int(np.mean([len(v) for v in payloads.user_values[:10_000]]))
        result.limits["redis_set_per_s"] = redis_set_rate(client, value_bytes=mean_value)
        bar.update()
    finally:
        bar.close()
        if client is not None:
            with contextlib.suppress(Exception):
                client.shutdown(nosave=True)
        if not keep_folder:
            shutil.rmtree(home, ignore_errors=True)
    return result
