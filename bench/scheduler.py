"""``animerec bench scheduler``: the crawl scheduler at production size.

Fills ``anime_schedule`` with a synthetic mix of URL histories inside the database itself
(``generate_series`` on PostgreSQL, a recursive CTE on SQLite: no rows travel from Python), then
times the three hot paths: picking and marking a batch (``schedule``), recording the crawl of that
batch (``mark_crawled``) and the inspected-upsert a spider sends for every page it parses.
The target is well under one second for 10,000 URLs out of 1,000,000.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text

from crawler.scheduler import CrawlScheduler, naive_utc

BENCH_SCHEMA = "animerec_bench"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# one row in NEVER_SCHEDULED_EVERY was never scheduled; one in FAILED_EVERY failed recently
NEVER_SCHEDULED_EVERY = 200
FAILED_EVERY = 20

_POSTGRES_FILL = """
INSERT INTO {table} (url, last_scheduled_date, scheduled_count, last_crawled_date,
                     crawled_count, last_inspected_date, inspected_count)
SELECT 'https://myanimelist.net/anime/' || g,
       CASE WHEN g % :never = 0 THEN NULL
            WHEN g % :failed = 0 THEN CAST(:now AS timestamp) - interval '1 hour'
            ELSE CAST(:now AS timestamp) - (g % 2000) * interval '1 hour' END,
       CASE WHEN g % :never = 0 THEN NULL ELSE 1 + g % 7 END,
       CASE WHEN g % :never = 0 OR g % :failed = 0 THEN NULL
            ELSE CAST(:now AS timestamp) - (g % 2000) * interval '1 hour' + interval '10 minutes'
       END,
       CASE WHEN g % :never = 0 OR g % :failed = 0 THEN NULL ELSE 1 + g % 5 END,
       CAST(:now AS timestamp) - (g % 977) * interval '1 hour',
       1 + g % 11
FROM generate_series(1, :rows) AS g
"""

_SQLITE_FILL = """
WITH RECURSIVE series(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM series WHERE g < :rows)
INSERT INTO {table} (url, last_scheduled_date, scheduled_count, last_crawled_date,
                     crawled_count, last_inspected_date, inspected_count)
SELECT 'https://myanimelist.net/anime/' || g,
       CASE WHEN g % :never = 0 THEN NULL
            WHEN g % :failed = 0 THEN strftime('%Y-%m-%d %H:%M:%S.000000', :now, '-1 hours')
            ELSE strftime('%Y-%m-%d %H:%M:%S.000000', :now, '-' || (g % 2000) || ' hours') END,
       CASE WHEN g % :never = 0 THEN NULL ELSE 1 + g % 7 END,
       CASE WHEN g % :never = 0 OR g % :failed = 0 THEN NULL
            ELSE strftime('%Y-%m-%d %H:%M:%S.000000', :now, '-' || (g % 2000) || ' hours',
                          '+10 minutes') END,
       CASE WHEN g % :never = 0 OR g % :failed = 0 THEN NULL ELSE 1 + g % 5 END,
       strftime('%Y-%m-%d %H:%M:%S.000000', :now, '-' || (g % 977) || ' hours'),
       1 + g % 11
FROM series WHERE true
"""


@dataclass(frozen=True)
class SchedulerBenchResult:
    dialect: str
    rows: int
    n: int
    fill_s: float
    schedule_s: list[float]
    mark_crawled_s: list[float]
    inspected_rows_per_s: float

    def report(self) -> str:
        schedule = statistics.median(self.schedule_s)
        crawled = statistics.median(self.mark_crawled_s)
        return "\n".join(
            [
                f"scheduler bench on {self.dialect}: {self.rows:,} rows, batches of {self.n:,}",
                f"  fill (in-database)            {self.fill_s:8.2f} s",
                f"  schedule {self.n:,} (pick+mark)   {schedule:8.3f} s median "
                f"(runs: {', '.join(f'{t:.3f}' for t in self.schedule_s)})",
                f"  mark_crawled {self.n:,}          {crawled:8.3f} s median",
                f"  schedule + mark_crawled       {schedule + crawled:8.3f} s "
                f"({'OK' if schedule + crawled < 1.0 else 'OVER'} vs 1 s target)",
                f"  inspected upsert              {self.inspected_rows_per_s:8,.0f} rows/s "
                f"(batch of {self.n:,}, half new, half existing)",
            ]
        )


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def run_scheduler_bench(
    db_url: str = DEFAULT_POSTGRES_URL, rows: int = 1_000_000, n: int = 10_000, rounds: int = 3
) -> SchedulerBenchResult:
    """Build the table in a scratch schema (PostgreSQL) or file (SQLite), time, clean up."""
    if rows < 1 or n < 1:
        raise ValueError("rows and n must be positive")
    probe = CrawlScheduler(db_url)
    schema = BENCH_SCHEMA if probe.dialect == "postgresql" else None
    probe.dispose()
    scheduler = CrawlScheduler(db_url, rescheduling_window=timedelta(hours=24), schema=schema)
    table = scheduler.table("anime")
    qualified = f"{schema}.{table.name}" if schema else table.name
    now = naive_utc(None).replace(microsecond=0)
    try:
        with scheduler.engine.begin() as conn:
            if schema:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            else:
                conn.execute(text(f"DROP TABLE IF EXISTS {qualified}"))
        scheduler.create_tables()
        fill_sql = _POSTGRES_FILL if schema else _SQLITE_FILL
        params = {"rows": rows, "never": NEVER_SCHEDULED_EVERY, "failed": FAILED_EVERY}
        params["now"] = now if schema else now.strftime("%Y-%m-%d %H:%M:%S")

        def fill() -> None:
            with scheduler.engine.begin() as conn:
                conn.execute(text(fill_sql.format(table=qualified)), params)
                if schema:
                    conn.execute(text(f"ANALYZE {qualified}"))
                else:
                    conn.execute(text("ANALYZE"))

        fill_s, _ = _timed(fill)
        schedule_s: list[float] = []
        crawled_s: list[float] = []
        for round_index in range(rounds):
            moment = now + timedelta(minutes=1 + round_index)
            elapsed, picked = _timed(lambda m=moment: scheduler.schedule("anime", n, now=m))
            if len(picked) != n:  # type: ignore[arg-type]
                raise RuntimeError(f"schedule returned {len(picked)} URLs, expected {n}")  # type: ignore[arg-type]
            schedule_s.append(elapsed)
            elapsed, _ = _timed(
                lambda p=picked, m=moment: scheduler.mark_crawled("anime", p, now=m)  # type: ignore[misc]
            )
            crawled_s.append(elapsed)
        half = n // 2
        inspected = [f"https://myanimelist.net/anime/{i}" for i in range(1, half + 1)]
        inspected += [f"https://myanimelist.net/anime/{rows + i}" for i in range(1, n - half + 1)]
        elapsed, _ = _timed(lambda: scheduler.mark_inspected("anime", inspected, now=now))
        return SchedulerBenchResult(
            dialect=scheduler.dialect,
            rows=rows,
            n=n,
            fill_s=fill_s,
            schedule_s=schedule_s,
            mark_crawled_s=crawled_s,
            inspected_rows_per_s=len(inspected) / elapsed,
        )
    finally:
        with scheduler.engine.begin() as conn:
            if schema:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            else:
                conn.execute(text(f"DROP TABLE IF EXISTS {qualified}"))
        scheduler.dispose()
