"""``animerec bench dbt``: time ``dbt build`` landing → processed on a MAL-sized warehouse.

The landing tables are the replica's world written straight to landing
(:func:`mal_replica.landing.write_world_landing`, the same generator ``bench scale`` uses):
``users`` profiles with ``mean_list_size`` list entries on average, the anime catalogue with
stats, pictures and clubs, reviews, relations, recommendations and friendships. The build runs
twice: once full, once incremental with nothing new. Peak memory counts dbt's process tree
(psutil), sampled every 50 ms.
"""

from __future__ import annotations

import contextlib
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


def timed_dbt_build(warehouse: Path, target_path: Path) -> tuple[float, int, str]:
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


def run_dbt_bench(
    users: int, anime: int, mean_list_size: float, workdir: Path | None, seed: int = 0
) -> str:
    from tqdm import tqdm

    from mal_replica.landing import write_world_landing

    folder = Path(workdir or tempfile.mkdtemp(prefix="animerec-bench-dbt-"))
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)
    lines: list[str] = []
    with tqdm(total=3, desc="bench dbt", unit="step") as progress:
        started = time.perf_counter()
        with duckdb.connect(str(warehouse)) as connection:
            summary = write_world_landing(
                connection, users, anime, seed=seed, mean_list_size=mean_list_size
            )
            counts = summary.rows
        generated = time.perf_counter() - started
        progress.update()
        first = timed_dbt_build(warehouse, folder / "target")
        progress.update()
        again = timed_dbt_build(warehouse, folder / "target")
        progress.update()
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        published = {
            table: connection.execute(f'select count(*) from processed."{table}"').fetchone()[0]
            for table in ("anime", "user", "user_anime", "anime_anime", "user_user")
        }
    lines.append(f"warehouse: {warehouse} ({warehouse.stat().st_size / 2**30:.2f} GiB)")
    lines.append(
        f"landing generated in {generated:.1f} s: "
        + ", ".join(f"{table}={count:,}" for table, count in counts.items() if count)
    )
    for label, (seconds, peak, done) in (
        ("first build (full)", first),
        ("second build (incremental, nothing new)", again),
    ):
        lines.append(
            f"{label}: wall {seconds:.1f} s, peak RSS (dbt + children) "
            f"{peak / 2**20:.0f} MiB — {done}"
        )
    lines.append("processed: " + ", ".join(f"{t}={n:,}" for t, n in published.items()))
    return "\n".join(lines)
