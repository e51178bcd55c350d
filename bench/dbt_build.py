"""``animerec bench dbt``: time ``dbt build`` landing → processed on a MAL-sized warehouse.

The landing tables are the replica's world written straight to landing
(:func:`mal_replica.landing.write_world_landing`, the same generator ``bench scale`` uses):
``users`` profiles with ``mean_list_size`` list entries on average, the anime catalogue with
stats, pictures and clubs, reviews, relations, recommendations and friendships, every crawl a
complete snapshot. Then:

1. the full build;
2. an incremental build with nothing new;
3. the incremental hour: 1 % of the users and 1 % of the anime crawled again after the world
   moved (:func:`mal_replica.landing.write_recrawl_landing`: lists lose, rescore and gain
   entries, friendships end, recommendations vanish, some pages are gone), written as a new
   crawl_hour partition, and an incremental build over it;
4. a full refresh over the same landing, whose processed tables must equal the incremental
   ones row for row (checked; the benchmark fails otherwise).

Targets (issue 11): the incremental hour under 60 s and under a tenth of the full build. Peak
memory counts dbt's process tree (psutil), sampled every 50 ms.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psutil


@dataclass
class PeakMemory:
    """Peak resident memory of a process and all its children, sampled in a thread."""

    pid: int
    peak_bytes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        root = psutil.Process(self.pid)
        while not self._stop.is_set():
            try:
                processes = [root, *root.children(recursive=True)]
                total = 0
                for process in processes:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += process.memory_info().rss
                self.peak_bytes = max(self.peak_bytes, total)
            except psutil.NoSuchProcess:
                return
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


PROCESSED_TABLES = ("anime", "user", "user_anime", "anime_anime", "user_user")
INCREMENTAL_TARGET_SECONDS = 60.0
INCREMENTAL_TARGET_SHARE = 0.1


@dataclass
class TimedBuild:
    """One transform run's dbt builds: wall seconds, peak RSS of the process tree, and per
    step its wall seconds and each node's execution time."""

    seconds: float
    peak_bytes: int
    parse_seconds: float
    steps: dict[str, dict]

    def summary(self) -> str:
        nodes = sum(len(step["nodes"]) for step in self.steps.values())
        return f"{len(self.steps)} dbt builds, {nodes} nodes"


def timed_dbt_build(warehouse: Path, target_path: Path, *extra: str) -> TimedBuild:
    """The transform's dbt steps (staging, processed, feedback) as the transform job runs them:
    in one fresh process that imports dbt and parses the project once
    (``python -m animerec_assets.lib.dbt_invoke``)."""
    env = {
        "ANIMEREC_DUCKDB_MEMORY_LIMIT": "8GB",
        **os.environ,
        "DO_NOT_TRACK": "1",
        "ANIMEREC_DUCKDB_PATH": str(warehouse),
    }
    command = [
        sys.executable, "-m", "animerec_assets.lib.dbt_invoke",
        "--target", "local",
        "--target-path", str(target_path),
        *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with PeakMemory(process.pid) as memory:
        output, errors = process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{output[-3000:]}\n{errors[-5000:]}")
    timings = json.loads(output.strip().splitlines()[-1])
    return TimedBuild(elapsed, memory.peak_bytes, timings["parse_seconds"], timings["steps"])


def slowest_nodes(build: TimedBuild, top: int = 6) -> str:
    """The dbt nodes that took longest in a run."""
    nodes = {
        unique_id: seconds
        for step in build.steps.values()
        for unique_id, seconds in step["nodes"].items()
    }
    ranked = sorted(nodes.items(), key=lambda item: item[1], reverse=True)
    return ", ".join(
        f"{unique_id.split('.')[-1]} {seconds:.1f} s" for unique_id, seconds in ranked[:top]
    )


def run_breakdown(build: TimedBuild) -> str:
    """Where a run's wall time went: the process start, dbt's import and parse, each step's
    build, and the models' and data tests' summed node times."""
    node_seconds: dict[str, float] = {"model": 0.0, "test": 0.0}
    counts: dict[str, int] = {"model": 0, "test": 0}
    for step in build.steps.values():
        for unique_id, seconds in step["nodes"].items():
            kind = unique_id.split(".")[0]
            if kind in node_seconds:
                node_seconds[kind] += seconds
                counts[kind] += 1
    builds = sum(step["seconds"] for step in build.steps.values())
    per_step = ", ".join(f"{name} {step['seconds']:.1f} s" for name, step in build.steps.items())
    return (
        f"process start {build.seconds - builds - build.parse_seconds:.1f} s, dbt import and"
        f" parse {build.parse_seconds:.1f} s; builds {per_step}"
        f" ({counts['model']} models {node_seconds['model']:.1f} s, {counts['test']} data tests"
        f" {node_seconds['test']:.1f} s, summed over dbt's threads)"
    )


def keep_processed(connection: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Copy the five processed tables aside (to compare with a later build)."""
    connection.execute(f"CREATE OR REPLACE SCHEMA {schema}")
    for table in PROCESSED_TABLES:
        connection.execute(f'CREATE TABLE {schema}."{table}" AS SELECT * FROM processed."{table}"')


def processed_differences(connection: duckdb.DuckDBPyConnection, schema: str) -> dict[str, int]:
    """Rows in one version of each processed table and not in the other (multiset)."""
    differences = {}
    for table in PROCESSED_TABLES:
        left, right = f'{schema}."{table}"', f'processed."{table}"'
        differences[table] = connection.execute(
            f"SELECT (SELECT count(*) FROM (SELECT * FROM {left} EXCEPT ALL SELECT * FROM {right}))"
            f" + (SELECT count(*) FROM (SELECT * FROM {right} EXCEPT ALL SELECT * FROM {left}))"
        ).fetchall()[0][0]
    return differences


def run_dbt_bench(
    users: int,
    anime: int,
    mean_list_size: float,
    workdir: Path | None,
    seed: int = 0,
    recrawl_fraction: float = 0.01,
) -> str:
    from tqdm import tqdm

    from mal_replica.landing import write_recrawl_landing, write_world_landing

    folder = Path(workdir or tempfile.mkdtemp(prefix="animerec-bench-dbt-"))
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)
    target = folder / "target"
    lines: list[str] = []
    with tqdm(total=6, desc="bench dbt", unit="step") as progress:
        started = time.perf_counter()
        with duckdb.connect(str(warehouse)) as connection:
            summary = write_world_landing(
                connection, users, anime, seed=seed, mean_list_size=mean_list_size
            )
            counts = summary.rows
        generated = time.perf_counter() - started
        progress.update()
        first = timed_dbt_build(warehouse, target)
        progress.update()
        again = timed_dbt_build(warehouse, target)
        progress.update()
        started = time.perf_counter()
        with duckdb.connect(str(warehouse)) as connection:
            recrawl = write_recrawl_landing(
                connection, recrawl_fraction, recrawl_fraction, seed=seed + 1
            )
        recrawl_seconds = time.perf_counter() - started
        progress.update()
        hour = timed_dbt_build(warehouse, target)
        with duckdb.connect(str(warehouse)) as connection:
            keep_processed(connection, "bench_incremental")
        progress.update()
        refresh = timed_dbt_build(warehouse, target, "--full-refresh")
        with duckdb.connect(str(warehouse)) as connection:
            differences = processed_differences(connection, "bench_incremental")
            published = {
                table: connection.execute(f'select count(*) from processed."{table}"').fetchall()[
                    0
                ][0]
                for table in PROCESSED_TABLES
            }
            connection.execute("DROP SCHEMA bench_incremental CASCADE")
        progress.update()
    landing_rows = summary.total_rows
    hour_rows = sum(recrawl.rows.values())
    lines.append(f"warehouse: {warehouse} ({warehouse.stat().st_size / 2**30:.2f} GiB)")
    lines.append(
        f"landing generated in {generated:.1f} s: "
        + ", ".join(f"{table}={count:,}" for table, count in counts.items() if count)
    )
    lines.append(
        f"incremental hour {recrawl.crawl_hour}: {recrawl.users:,} users and {recrawl.anime:,}"
        f" anime re-crawled, written in {recrawl_seconds:.1f} s: "
        + ", ".join(f"{table}={count:,}" for table, count in recrawl.rows.items() if count)
    )
    for label, build, rows in (
        ("full build", first, landing_rows),
        ("incremental build, nothing new", again, 0),
        ("incremental hour", hour, hour_rows),
        ("full refresh (same landing)", refresh, landing_rows + hour_rows),
    ):
        rate = f", {rows / build.seconds:,.0f} landing rows/s" if rows else ""
        lines.append(
            f"{label}: wall {build.seconds:.1f} s{rate}, peak RSS (dbt process) "
            f"{build.peak_bytes / 2**20:.0f} MiB — {build.summary()}"
        )
    lines.append(f"full build: {run_breakdown(first)}")
    lines.append(f"incremental hour: {run_breakdown(hour)}")
    lines.append(f"slowest in the incremental hour: {slowest_nodes(hour)}")
    lines.append(f"slowest in the full refresh: {slowest_nodes(refresh)}")
    lines.append("processed: " + ", ".join(f"{t}={n:,}" for t, n in published.items()))
    share = hour.seconds / first.seconds
    share_verdict = "met" if share < INCREMENTAL_TARGET_SHARE else "MISSED"
    seconds_verdict = "met" if hour.seconds < INCREMENTAL_TARGET_SECONDS else "MISSED"
    identical = not any(differences.values())
    lines.append(
        f"incremental hour / full build: {share:.1%} (target < "
        f"{INCREMENTAL_TARGET_SHARE:.0%}: {share_verdict}); {hour.seconds:.1f} s "
        f"(target < {INCREMENTAL_TARGET_SECONDS:.0f} s: {seconds_verdict})"
    )
    lines.append(
        "processed after the incremental hour == full refresh: "
        + ("identical" if identical else f"DIFFERENT rows per table {differences}")
    )
    report = "\n".join(lines)
    if not identical:
        raise RuntimeError(report)
    return report
