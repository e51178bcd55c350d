"""``animerec bench scale``: the whole pipeline at a chosen size, stage by stage, on one machine.

landing (the replica's world model written in chunks, ``mal_replica.landing``) → processed
(the project's ``dbt build``, as ``bench dbt`` runs it) → load (the processed tables the ML
assets read) → then the model job's own functions, in its order: candidates
(``fit_candidates``: TFRS retrieval, EASE and RP3beta, the blend chosen on an inner split) →
rankers (``fit_rankers``: MSE and ListMLE, the better one on validation) → serve
(``served_table``: every user's candidates, features, the chosen ranker's order and reasons for
the published rows, block by block) → publish (``prepare_payloads`` + ``publish_payloads`` to
the embedded Redis of a temporary ANIMEREC_HOME).

Each stage reports wall time, rows/s and the peak resident memory of this process and all its
children (dbt, redis-server), and the pipeline's own log lines are kept with their times (the
profile inside a stage). Beside the figures, the machine's own limits measured in the same run,
so "slow" means something: dbt against DuckDB's raw scan rate of landing.user_anime, the
serving stage's scoring products against float32 matmul GFLOP/s, publish against pipelined
Redis SETs per second.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse

from animerec_assets.lib.redis_conn import kill_embedded_redis
from bench.dbt_build import PeakMemory, timed_dbt_build

if TYPE_CHECKING:
    from animerec_assets.lib.ml.user_pipeline import UserAnimeConfig

STAGES = ("landing", "dbt", "load", "candidates", "rankers", "serve", "publish")
TOP_K = 300
TOP_SIMILAR = 50


@dataclass
class StageFigures:
    name: str
    seconds: float
    rows: int
    peak_bytes: int
    note: str = ""
    # CPU seconds of this process and its finished children: on a shared machine the wall
    # time says how loaded it was, this what the stage costs
    cpu_seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.name:<10} {self.seconds:8.1f} s  {self.rows:>12,} rows  "
            f"{self.rows_per_second:>12,.0f} rows/s  peak {self.peak_bytes / 2**20:7,.0f} MiB  "
            f"cpu {self.cpu_seconds:8.1f} s  {self.note}"
        )


@dataclass
class ScaleBench:
    users: int
    anime: int
    stages: list[StageFigures] = field(default_factory=list)
    limits: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    profile: list[str] = field(default_factory=list)  # the pipeline's timed log lines

    def ratios(self) -> dict[str, float]:
        """Achieved rate / machine limit, per stage that has a limit measured."""
        by_name = {stage.name: stage for stage in self.stages}
        out: dict[str, float] = {}
        if "dbt" in by_name and self.limits.get("duckdb_scan_rows_per_s"):
            out["dbt_vs_duckdb_scan"] = (
                by_name["dbt"].rows_per_second / self.limits["duckdb_scan_rows_per_s"]
            )
        if "serve" in by_name and self.limits.get("matmul_gflops"):
            out["serve_scoring_vs_matmul_peak"] = (
                self.limits.get("serve_scoring_gflops", 0.0) / self.limits["matmul_gflops"]
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
            "profile": self.profile,
            "total_seconds": sum(stage.seconds for stage in self.stages),
            "peak_bytes": max((stage.peak_bytes for stage in self.stages), default=0),
        }

    def report(self, as_json: bool = False) -> str:
        if as_json:
            return json.dumps(self.to_dict(), indent=2)
        lines = [f"scale bench: {self.users:,} users, {self.anime:,} anime"]
        lines.extend(f"  {stage.line()}" for stage in self.stages)
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
        if self.profile:
            lines.append("  profile (seconds since the stage began):")
            lines.extend(f"    {line}" for line in self.profile)
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
    started, cpu = time.perf_counter(), _cpu_seconds()
    with PeakMemory(os.getpid()) as memory:
        yield
    seconds = time.perf_counter() - started
    result.stages.append(
        StageFigures(name, seconds, rows(), memory.peak_bytes, note(), _cpu_seconds() - cpu)
    )


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


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
    # ~64 MB in one pipeline at most: a user's list (top 100 + planned, reasons) is a few KB,
    # and a GB-sized send times out on a loaded machine
    keys = max(1_000, min(keys, (64 << 20) // max(value_bytes, 1)))
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


def load_processed(warehouse: Path) -> dict[str, pd.DataFrame]:
    """The processed tables the model job reads (user_anime, anime, anime_anime). The texts of
    user_anime stay Arrow strings: at 1M users (~50M rows) Python str objects would take ~9 GB
    before the model sees a row."""
    from animerec_assets.lib.ml.data import USER_ANIME_COLUMNS

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return {
            "user_anime": connection.sql(
                f"SELECT {', '.join(USER_ANIME_COLUMNS)} FROM processed.user_anime"
            )
            .to_arrow_table()
            .to_pandas(types_mapper=_arrow_strings),
            "anime": connection.execute("SELECT * FROM processed.anime").df(),
            "anime_anime": connection.execute("SELECT * FROM processed.anime_anime").df(),
        }


def _arrow_strings(kind: Any) -> Any:
    """Arrow string columns as ``pd.ArrowDtype`` (compact), every other type as pandas'."""
    import pyarrow as pa

    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    return pd.ArrowDtype(kind) if text else None


def _similar(anime_vectors: np.ndarray, anime_ids: np.ndarray, n: int) -> pd.DataFrame:
    """Nearest anime by the cosine of the retrieval's anime vectors: the similar-anime lists
    the publish needs (the anime -> anime model is a job of its own, not measured here)."""
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


def bench_config(epochs: int) -> UserAnimeConfig:
    """The model job's configuration, with the retrieval trained for ``epochs`` (the job's
    default is 12) over histories of 64 anime."""
    from animerec_assets.lib.ml.user_anime import RetrievalConfig
    from animerec_assets.lib.ml.user_pipeline import UserAnimeConfig

    return UserAnimeConfig(retrieval=RetrievalConfig(epochs=epochs, history_length=64))


class StepLog:
    """The pipeline's log lines, each with the seconds since the stage began: the profile
    inside a stage (printed as they come with ``echo``)."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self.lines: list[str] = []
        self.started, self.cpu = time.perf_counter(), _cpu_seconds()

    def restart(self) -> None:
        self.started, self.cpu = time.perf_counter(), _cpu_seconds()

    def __call__(self, message: str) -> None:
        line = (
            f"{time.perf_counter() - self.started:8.1f} s  "
            f"(cpu {_cpu_seconds() - self.cpu:8.1f} s)  {message}"
        )
        self.lines.append(line)
        if self.echo:
            print(line, file=sys.stderr, flush=True)


def run_scale_bench(
    users: int,
    anime: int = 15_000,
    seed: int = 0,
    chunk_users: int = 50_000,
    epochs: int = 1,
    workdir: Path | None = None,
    progress: bool = True,
    mean_list_size: float | None = None,
    stop_after: str | None = None,
) -> ScaleBench:
    """Run every stage once; the warehouse and Redis live in a temporary ANIMEREC_HOME.

    Past dbt, the stages are the model job's own functions, in its order: ``fit_candidates``
    (retrieval + EASE/RP3beta blend, chosen on an inner split), ``fit_rankers``, the published
    lists block by block (``served_table``: features, the chosen ranker, reasons for the
    published rows), then ``prepare_payloads`` and ``publish_payloads``. ``stop_after`` ends
    the run after the named stage."""
    from tqdm import tqdm

    from mal_replica.landing import write_world_landing

    keep_folder = workdir is not None
    home = Path(workdir or tempfile.mkdtemp(prefix="animerec-bench-scale-"))
    home.mkdir(parents=True, exist_ok=True)
    warehouse = home / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)
    result = ScaleBench(users=users, anime=anime)
    overrides = {} if mean_list_size is None else {"mean_list_size": mean_list_size}
    bar = tqdm(total=len(STAGES), desc="bench scale", unit="stage", disable=not progress)
    log = StepLog(echo=progress)
    result.profile = log.lines

    def done(name: str) -> bool:
        bar.update()
        if progress and result.stages:  # each stage's figures as soon as it ends
            print(f"stage {result.stages[-1].line()}", file=sys.stderr, flush=True)
        return stop_after == name

    try:
        bar.set_postfix_str("landing")
        with _stage(result, "landing", lambda: sum(result.counts.values())):
            with duckdb.connect(str(warehouse)) as connection:
                summary = write_world_landing(
                    connection, users, anime, seed=seed, chunk_users=chunk_users, **overrides
                )
            result.counts.update({f"landing.{t}": n for t, n in summary.rows.items()})
        if done("landing"):
            return result

        bar.set_postfix_str("dbt build")
        landing_rows = sum(result.counts.values())
        dbt_note: list[str] = []
        with _stage(result, "dbt", lambda: landing_rows, lambda: dbt_note[0]):
            built = timed_dbt_build(warehouse, home / "target").summary()
            dbt_note.append(f"(rows = landing rows in) {built}")
        scan_rate, _ = duckdb_scan_rate(warehouse)
        result.limits["duckdb_scan_rows_per_s"] = scan_rate
        if done("dbt"):
            return result

        bar.set_postfix_str("load")
        from animerec_assets.lib.ml.data import clean_user_anime
        from animerec_assets.lib.ml.tf_env import import_tf

        import_tf()  # the one-off TensorFlow import is not training time
        tables: dict[str, pd.DataFrame] = {}
        with _stage(
            result, "load", lambda: len(tables["user_anime"]), lambda: "(rows = user_anime)"
        ):
            tables.update(load_processed(warehouse))
            tables["user_anime"] = clean_user_anime(tables["user_anime"])
        result.counts["user_anime"] = len(tables["user_anime"])
        if done("load"):
            return result

        _served_stages(result, tables, home, epochs, log, bar, done)
    finally:
        bar.close()
        # the bench's own server goes on every exit path, a busy or failed one included
        kill_embedded_redis(home / "redis")
        if not keep_folder:
            shutil.rmtree(home, ignore_errors=True)
    return result


def _served_stages(
    result: ScaleBench,
    tables: dict[str, pd.DataFrame],
    home: Path,
    epochs: int,
    log: StepLog,
    bar: Any,
    done: Callable[[str], bool],
) -> None:
    """candidates -> rankers -> serve -> publish (into the bench's own embedded Redis)."""
    from animerec_assets.lib.ml.serve import served_table
    from animerec_assets.lib.ml.user_pipeline import fit_candidates, fit_rankers
    from animerec_assets.lib.redis_conn import connect
    from animerec_assets.lib.serving.franchise import with_franchises
    from animerec_assets.lib.serving.payloads import (
        TOP_N_PLAN_TO_WATCH,
        TOP_N_USER,
        prepare_payloads,
    )
    from animerec_assets.lib.serving.publish import publish_payloads
    from bench.inference import matmul_gflops

    config = bench_config(epochs)
    user_anime = tables.pop("user_anime")
    lists = user_anime[["user_id", "anime_id", "status"]]
    n_rows = len(user_anime)
    bar.set_postfix_str("candidates")
    log.restart()
    with _stage(
        result,
        "candidates",
        lambda: n_rows,
        lambda: "(rows = user_anime; retrieval x2, EASE, blend chosen on an inner split)",
    ):
        stage = fit_candidates(
            user_anime, config, log, anime=tables["anime"], anime_anime=tables["anime_anime"]
        )
    del user_anime
    gc.collect()
    generator = stage.generator
    result.counts["positives"] = int(generator.encoded.positives.nnz)
    result.counts["ranker_lists"] = len(stage.lists.user_ids)
    if done("candidates"):
        return None

    bar.set_postfix_str("rankers")
    list_rows = int((stage.lists.candidates >= 0).sum())
    log.restart()
    with _stage(
        result,
        "rankers",
        lambda: list_rows * 2,
        lambda: "(rows = list rows x 2 losses)",
    ):
        rankers, chosen, _ = fit_rankers(stage.lists, generator.encoded.n_anime, config, log)
    ranker = None if chosen == "candidates" else rankers[chosen]
    log(f"chosen ranking: {chosen}")
    del stage
    gc.collect()
    if done("rankers"):
        return None

    bar.set_postfix_str("serve")
    log.restart()
    n_users = generator.encoded.n_users
    with _stage(
        result,
        "serve",
        lambda: n_users,
        lambda: f"(rows = users, {config.n_candidates} candidates, {chosen} ranker)",
    ):
        ranked = served_table(
            generator,
            ranker,
            config.n_candidates,
            TOP_N_USER,
            TOP_N_PLAN_TO_WATCH,
            log=log,
        )
    result.counts["published_rows"] = len(ranked)
    seconds = result.stages[-1].seconds
    result.limits["matmul_gflops"] = matmul_gflops()
    # the scoring products alone: TFRS dot products + EASE, RP3beta and item-kNN over the
    # users' rows, twice (candidates, then features), at the machine's matmul peak
    dim = generator.retrieval.anime_vectors.shape[1]
    n_anime = generator.encoded.n_anime
    nnz = generator.encoded.seen.nnz + generator.encoded.positives.nnz
    flops = 2 * 2 * n_anime * (n_users * dim + nnz)
    result.limits["serve_scoring_gflops"] = flops / seconds / 1e9
    if done("serve"):
        return None

    bar.set_postfix_str("publish")
    similar = _similar(generator.retrieval.anime_vectors, generator.encoded.anime_ids, TOP_SIMILAR)
    del generator, rankers, ranker
    gc.collect()
    client = connect(None, home / "redis")
    published: list = []
    timings: dict[str, float] = {}
    with _stage(
        result,
        "publish",
        lambda: published[0].keys_written,
        lambda: (
            f"(rows = keys; prepare {timings['prepare']:.1f} s + write {timings['write']:.1f} s)"
        ),
    ):
        started = time.perf_counter()
        anime = with_franchises(tables["anime"], tables["anime_anime"])
        payloads = prepare_payloads(
            ranked,
            similar,
            anime,
            user_anime=lists,
            top_n_user=TOP_N_USER,
            top_n_planned=TOP_N_PLAN_TO_WATCH,
        )
        timings["prepare"] = time.perf_counter() - started
        started = time.perf_counter()
        published.append(publish_payloads(client, payloads, model_version="scale"))
        timings["write"] = time.perf_counter() - started
    keys_written = published[0].keys_written
    result.limits["publish_keys_per_s"] = keys_written / result.stages[-1].seconds
    result.limits["publish_write_keys_per_s"] = keys_written / timings["write"]
    mean_value = int(np.mean([len(v) for v in payloads.user_values[:10_000]]))
    result.limits["redis_set_per_s"] = redis_set_rate(client, value_bytes=mean_value)
    done("publish")
