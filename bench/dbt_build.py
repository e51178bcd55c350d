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
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psutil

from animerec_assets.lib.dbt_paths import DBT_PROJECT_DIR, dbt_executable


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


def timed_dbt_build(warehouse: Path, target_path: Path, *extra: str) -> tuple[float, int, str]:
    """Run dbt build; returns (wall seconds, peak RSS bytes of dbt's tree, last output line)."""
    env = {
        "ANIMEREC_DUCKDB_MEMORY_LIMIT": "8GB",
        **os.environ,
        "DO_NOT_TRACK": "1",
        "ANIMEREC_DUCKDB_PATH": str(warehouse),
    }
    command = [
        dbt_executable(),
        "build",
        "--exclude-resource-type", "unit_test",
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", "local",
        "--target-path", str(target_path),
        "--log-path", str(target_path / "logs"),
        *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    with PeakMemory(process.pid) as memory:
        output, _ = process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{output[-5000:]}")
    done = [line for line in output.splitlines() if "Done." in line]
    return elapsed, memory.peak_bytes, done[-1].strip() if done else ""


def slowest_nodes(target_path: Path, top: int = 6) -> str:
    """The dbt nodes that took longest in the last run (from run_results.json)."""
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    ranked = sorted(results, key=lambda result: result["execution_time"], reverse=True)
    return ", ".join(
        f"{result['unique_id'].split('.')[-1]} {result['execution_time']:.1f} s"
        for result in ranked[:top]
    )


def run_breakdown(target_path: Path, wall_seconds: float) -> str:
    """Where the last run's wall time went: dbt's start-up and parse (wall minus the node
    runner's elapsed time), then the models' and data tests' summed node times."""
    run = json.loads((target_path / "run_results.json").read_text())
    node_seconds: dict[str, float] = {"model": 0.0, "test": 0.0}
    counts: dict[str, int] = {"model": 0, "test": 0}
    for result in run["results"]:
        kind = result["unique_id"].split(".")[0]
        if kind in node_seconds:
            node_seconds[kind] += result["execution_time"]
            counts[kind] += 1
    elapsed = run["elapsed_time"]
    return (
        f"start-up and parse {wall_seconds - elapsed:.1f} s, nodes {elapsed:.1f} s"
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
        hour_slowest = slowest_nodes(target)
        hour_breakdown = run_breakdown(target, hour[0])
        with duckdb.connect(str(warehouse)) as connection:
            keep_processed(connection, "bench_incremental")
        progress.update()
        refresh = timed_dbt_build(warehouse, target, "--full-refresh")
        refresh_slowest = slowest_nodes(target)
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
    for label, (seconds, peak, done), rows in (
        ("full build", first, landing_rows),
        ("incremental build, nothing new", again, 0),
        ("incremental hour", hour, hour_rows),
        ("full refresh (same landing)", refresh, landing_rows + hour_rows),
    ):
        rate = f", {rows / seconds:,.0f} landing rows/s" if rows else ""
        lines.append(
            f"{label}: wall {seconds:.1f} s{rate}, peak RSS (dbt + children) "
            f"{peak / 2**20:.0f} MiB — {done}"
        )
    lines.append(f"incremental hour: {hour_breakdown}")
    lines.append(f"slowest in the incremental hour: {hour_slowest}")
    lines.append(f"slowest in the full refresh: {refresh_slowest}")
    lines.append("processed: " + ", ".join(f"{t}={n:,}" for t, n in published.items()))
    share = hour[0] / first[0]
    share_verdict = "met" if share < INCREMENTAL_TARGET_SHARE else "MISSED"
    seconds_verdict = "met" if hour[0] < INCREMENTAL_TARGET_SECONDS else "MISSED"
    identical = not any(differences.values())
    lines.append(
        f"incremental hour / full build: {share:.1%} (target < "
        f"{INCREMENTAL_TARGET_SHARE:.0%}: {share_verdict}); {hour[0]:.1f} s "
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
