"""``animerec bench dbt``: time ``dbt build`` landing → processed on a MAL-sized warehouse.

The landing world is generated inside DuckDB (vectorized SQL over ``range()``; no Python row
loops): ``users`` profiles with ``entries_per_user`` list entries each (100k users → 10M
user_anime rows), a catalogue of anime with stats, pictures and clubs, reviews, relations,
recommendations and friendships, plus a second, later crawl of every 30th user (duplicates for
staging to resolve). Peak memory counts dbt's process tree (psutil), sampled every 50 ms.
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

from animerec_assets.defs.transform.landing_tables import LANDING_SCHEMA, landing_ddl
from animerec_assets.defs.transform.project import DBT_PROJECT_DIR, dbt_executable
from crawler.items import LANDING_COLUMNS

TIMESTAMP = "'%Y-%m-%dT%H:%M:%S+00:00'"


def _random_timestamp(seed_expression: str, start: str = "2015-01-01") -> str:
    """A deterministic pseudo-random ISO timestamp string in the ~9 years after ``start``."""
    offset = f"to_seconds((({seed_expression}) % 280000000)::bigint)"
    return f"strftime(timestamp '{start}' + {offset}, {TIMESTAMP})"


def generate_landing(
    connection: duckdb.DuckDBPyConnection, users: int, anime: int, entries_per_user: int
) -> dict[str, int]:
    """Fill every landing table; returns row counts per table."""
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {LANDING_SCHEMA}")
    for item_type in LANDING_COLUMNS:
        connection.execute(landing_ddl(item_type))
    crawl = (
        "strftime(timestamp '2024-05-01' + to_seconds(i % 86400), "
        f"{TIMESTAMP}) as crawl_date, 'mal' as source, "
        "strftime(timestamp '2024-05-01' + to_hours((i % 86400) // 3600), '%Y-%m-%d-%H:00') "
        "as crawl_hour"
    )
    statements = {
        "anime": f"""
            select {crawl}, 'https://myanimelist.net/anime/' || (i + 1) as url, i + 1 as anime_id,
                'https://myanimelist.net/anime/' || (i + 1) as anime_url,
                'Anime ' || (i + 1) as title, 'A story.' as synopsis,
                'https://cdn.example/' || (i + 1) || '.jpg' as main_pic,
                ['TV', 'Movie', 'OVA', 'ONA', 'Special'][(1 + hash(i, 1) % 5)::bigint] as type,
                'Manga' as source_type, 1 + hash(i, 2) % 50 as num_episodes,
                'Finished Airing' as status,
                strftime(date '1970-01-01' + to_days((hash(i, 3) % 19000)::int), '%Y-%m-%d')
                    as start_date,
                null as end_date, null as premiered, ['Studio ' || (i % 300)] as studios,
                ['Action', 'Drama'] as genres, round(5 + (hash(i, 4) % 500) / 100.0, 2) as score,
                hash(i, 5) % 100000 as score_count, i + 1 as score_rank,
                i + 1 as popularity_rank, hash(i, 6) % 1000000 as members_count,
                hash(i, 7) % 10000 as favorites_count
            from range({anime}) t(i)""",
        "anime_stats": f"""
            select {crawl}, 'https://myanimelist.net/anime/' || (i + 1) as url,
                i + 1 as anime_id, 10 as watching_count, 50 as completed_count,
                5 as on_hold_count, 5 as dropped_count, 30 as plan_to_watch_count,
                100 as total_count,
                {", ".join(f"{n} as score_{n:02d}_count" for n in range(10, 0, -1))}
            from range({anime}) t(i)""",
        "anime_pics": f"""
            select {crawl}, null as url, i + 1 as anime_id,
                ['https://cdn.example/' || (i + 1) || '/a.jpg'] as pics
            from range({anime}) t(i)""",
        "anime_clubs": f"""
            select {crawl}, null as url, i + 1 as anime_id, ['Club ' || (i % 500)] as clubs
            from range({anime}) t(i)""",
        "anime_relation": f"""
            select {crawl}, null as url, i + 1 as animeA, (i + 1) % {anime} + 1 as animeB,
                'Sequel' as relation_type
            from range({anime} * 2) t(i) where i < {anime}""",
        "anime_recommendation": f"""
            select {crawl}, null as url, i % {anime} + 1 as animeA,
                (i % {anime} + 1 + 1 + i // {anime}) % {anime} + 1 as animeB,
                null as recommendation_url, 1 + hash(i) % 50 as num_recommenders
            from range({anime} * 4) t(i)""",
        "user": f"""
            select {crawl}, 'https://myanimelist.net/profile/user_' || u as url,
                'user_' || u as user_id, 'https://myanimelist.net/profile/user_' || u as user_url,
                {_random_timestamp("hash(u, 1)", "2015-01-01")} as last_online_date,
                {_random_timestamp("hash(u, 2)", "2008-01-01")} as join_date,
                10 as num_watching, 50 as num_completed, 5 as num_on_hold, 5 as num_dropped,
                30 as num_plan_to_watch, 42.5 as num_days, 7.5 as mean_score,
                ['Club ' || (u % 500)] as clubs,
                [1 + hash(u, 3) % {anime}, 1 + hash(u, 4) % {anime}] as favorite_anime_ids
            from (select i as u, i from range({users}) t(i))""",
        "user_anime": f"""
            select {crawl}, 'https://myanimelist.net/profile/user_' || u as url,
                'user_' || u as user_id,
                (u * 7919 + j * 104729) % {anime} + 1 as anime_id,
                case when hash(i, 1) % 10 < 3 then 0 else 1 + hash(i, 2) % 10 end as score,
                ['watching', 'completed', 'on_hold', 'dropped', 'plan_to_watch']
                    [(1 + hash(i, 3) % 5)::bigint] as status,
                hash(i, 4) % 30 as progress,
                {_random_timestamp("hash(i, 5)", "2015-01-01")} as last_interaction_date
            from (
                select i, i // {entries_per_user} as u, i % {entries_per_user} as j
                from range({users} * {entries_per_user}) t(i)
            )""",
        "review": f"""
            select {crawl}, null as url, i + 1 as review_id, (i * 31) % {anime} + 1 as anime_id,
                'user_' || (i * 17) % {users} as user_id,
                {_random_timestamp("hash(i, 1)", "2010-01-01")} as review_date,
                hash(i, 2) % 500 as review_num_useful, 1 + hash(i, 3) % 10 as review_score,
                null as review_story_score, null as review_animation_score,
                null as review_sound_score, null as review_character_score,
                null as review_enjoyment_score, ['Recommended'] as review_tags
            from range({users} * 2) t(i)""",
        "user_user": f"""
            select {crawl}, null as url, 'user_' || (i // 3) as userA,
                'user_' || ((i // 3) + 1 + hash(i) % 1000) % {users} as userB,
                {_random_timestamp("hash(i, 1)", "2010-01-01")} as friendship_date
            from range({users} * 3) t(i)""",
    }
    counts: dict[str, int] = {}
    for item_type, select in statements.items():
        connection.execute(f'INSERT INTO {LANDING_SCHEMA}."{item_type}" BY NAME {select}')
    # A later second crawl of every 30th user: staging must keep these rows, not the first ones.
    for item_type in ("user", "user_anime"):
        connection.execute(
            f"""INSERT INTO {LANDING_SCHEMA}."{item_type}" BY NAME
            SELECT * REPLACE (
                strftime(crawl_date::timestamp + interval 2 day, {TIMESTAMP}) AS crawl_date,
                strftime(crawl_date::timestamp + interval 2 day, '%Y-%m-%d-%H:00') AS crawl_hour
            )
            FROM {LANDING_SCHEMA}."{item_type}"
            WHERE hash(user_id) % 30 = 0"""
        )
    for item_type in LANDING_COLUMNS:
        counts[item_type] = connection.execute(
            f'select count(*) from {LANDING_SCHEMA}."{item_type}"'
        ).fetchone()[0]
    return counts


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


def run_dbt_bench(users: int, anime: int, entries_per_user: int, workdir: Path | None) -> str:
    from tqdm import tqdm

    folder = Path(workdir or tempfile.mkdtemp(prefix="animerec-bench-dbt-"))
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)
    lines: list[str] = []
    with tqdm(total=3, desc="bench dbt", unit="step") as progress:
        started = time.perf_counter()
        with duckdb.connect(str(warehouse)) as connection:
            counts = generate_landing(connection, users, anime, entries_per_user)
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
