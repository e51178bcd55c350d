"""``animerec bench crawl``: crawl a whole replica world the way production does, and check it.

A replica of ``users`` users and ``anime`` anime is started; a seeding crawl of listing pages
fills a fresh SQLite scheduler; then scheduled crawling (schedule → ``crawl_batch`` per kind,
the spiders recording what they crawl and discover) runs until every anime and profile of the
world has been crawled. Seeding is repeated only when discovery runs dry (users nobody links
to are found on the random users listing, as on MAL). The figures: rounds, requests the
replica served, requests per user and per anime, pages/s, wall time, and the distinct items
crawled beside the replica's ground truth.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

# Replica page types that belong to one user / one anime (robots and listings are neither),
# whichever source fetched them: MAL's HTML pages, Jikan v4, MAL's API v2.
USER_PAGE_TYPES = (
    "profile",
    "friends",
    "history",
    "animelist_json",
    "animelist",
    "profile_clubs",
    *(f"jikan_user_{kind}" for kind in ("full", "profile", "statistics", "favorites")),
    *(f"jikan_user_{kind}" for kind in ("friends", "history")),
    "malapi_animelist",
)
ANIME_PAGE_TYPES = (
    "anime",
    "anime_stats",
    "anime_userrecs",
    "anime_reviews",
    "anime_pics",
    "anime_clubs",
    *(f"jikan_anime_{kind}" for kind in ("full", "statistics", "recommendations")),
    *(f"jikan_anime_{kind}" for kind in ("reviews", "pictures", "relations")),
    "malapi_anime",
)
SOURCES = ("mal", "jikan", "malapi")
LONG_LIST = 300  # load.json's page: longer lists cost the HTML source more than one request
BENCH_CLIENT_ID = "animerec-bench"  # the replica accepts any non-empty client id
# (label, item type, key columns, truth table, truth filter column)
COMPARED: tuple[tuple[str, str, tuple[str, ...], str, str | None], ...] = (
    ("anime", "anime", ("anime_id",), "anime", None),
    ("users", "user", ("user_id",), "user", None),
    ("user_anime rows", "user_anime", ("user_id", "anime_id"), "user_anime", None),
    ("relations", "anime_relation", ("animeA", "animeB"), "anime_anime", "related"),
    ("recommendations", "anime_recommendation", ("animeA", "animeB"), "anime_anime",
     "recommendation"),
    ("friendships", "user_user", ("userA", "userB"), "user_user", None),
    ("reviews", "review", ("review_id",), "reviews", None),
)  # fmt: skip


@dataclass
class CrawlBenchResult:
    source: str
    users: int
    anime: int
    rounds: int
    seed_pages: int
    requests: int
    requests_by_status: dict[str, int]
    requests_per_user: float
    requests_per_anime: float
    crawl_seconds: float
    wall_seconds: float
    pages_per_second: float
    counts: list[dict[str, Any]] = field(default_factory=list)
    crawl_errors: int = 0
    long_list_users: int = 0
    requests_per_long_list_user: float = 0.0
    requests_per_other_user: float = 0.0

    def report(self, as_json: bool = False) -> str:
        if as_json:
            return json.dumps(asdict(self), indent=2)
        lines = [
            f"crawl bench ({self.source}): replica world of {self.users:,} users, "
            f"{self.anime:,} anime",
            f"  rounds                    {self.rounds}",
            f"  seeding listing pages     {self.seed_pages}",
            f"  requests (replica)        {self.requests:,}  {self.requests_by_status}",
            f"  requests per user         {self.requests_per_user:.2f}",
            f"  requests per anime        {self.requests_per_anime:.2f}",
            f"  per user, list > {LONG_LIST}     {self.requests_per_long_list_user:.2f}"
            f"  ({self.long_list_users} users; others {self.requests_per_other_user:.2f})",
            f"  pages/s                   {self.pages_per_second:.1f}",
            f"  crawl time                {self.crawl_seconds:.1f} s",
            f"  wall time                 {self.wall_seconds:.1f} s",
            f"  crawl_error items         {self.crawl_errors}",
            "",
            f"  {'table':<18}{'crawled':>10}{'truth':>10}{'diff':>8}",
        ]
        for row in self.counts:
            lines.append(
                f"  {row['table']:<18}{row['crawled']:>10,}{row['truth']:>10,}"
                f"{row['crawled'] - row['truth']:>+8,}"
            )
        return "\n".join(lines)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for this process and its spider subprocesses; restore them after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def distinct_counts(items_dir: Path, truth: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Distinct keys per compared item type (DuckDB over the batch files) beside the truth."""
    import duckdb

    files = sorted(str(path) for path in items_dir.glob("*.jsonl"))
    rows = []
    with duckdb.connect() as connection:
        if files:
            connection.execute(
                "CREATE TABLE items AS SELECT * FROM read_json_auto(?, format='newline_delimited',"
                " union_by_name=true, sample_size=-1)",
                [files],
            )
        columns = (
            {r[0] for r in connection.execute("DESCRIBE items").fetchall()} if files else set()
        )
        for label, item_type, keys, truth_table, flag in COMPARED:
            if files and set(keys) <= columns:
                key_list = ", ".join(f'"{key}"' for key in keys)
                crawled = connection.execute(
                    f"SELECT count(*) FROM (SELECT DISTINCT {key_list} FROM items "
                    "WHERE item_type = ?)",
                    [item_type],
                ).fetchone()[0]
            else:
                crawled = 0
            expected = truth[truth_table]
            if flag is not None:
                expected = expected[expected[flag] == 1]
            rows.append({"table": label, "crawled": int(crawled), "truth": len(expected)})
    return rows


def count_errors(items_dir: Path) -> int:
    total = 0
    for path in items_dir.glob("*.jsonl"):
        with path.open(encoding="utf-8") as lines:
            total += sum(1 for line in lines if '"item_type": "crawl_error"' in line)
    return total


def comparison(results: list[CrawlBenchResult]) -> str:
    """Requests per entity of each source, side by side (same world, same seeding)."""
    lines = [
        f"  {'source':<8}{'req/anime':>11}{'req/user':>10}{'list>300':>10}{'others':>8}"
        f"{'user_anime':>12}{'truth':>8}"
    ]
    for r in results:
        rows = {row["table"]: row for row in r.counts}
        ua = rows.get("user_anime rows", {"crawled": 0, "truth": 0})
        lines.append(
            f"  {r.source:<8}{r.requests_per_anime:>11.2f}{r.requests_per_user:>10.2f}"
            f"{r.requests_per_long_list_user:>10.2f}{r.requests_per_other_user:>8.2f}"
            f"{ua['crawled']:>12,}{ua['truth']:>8,}"
        )
    return "\n".join(lines)


def per_user_requests(
    by_entity: dict[tuple[str, str], int], list_sizes: pd.Series
) -> tuple[int, float, float]:
    """(users with lists > 300, requests per such user, per other user), from the replica's
    per-path counts; usernames match case-insensitively as on MAL."""
    per_user: dict[str, int] = {}
    for (kind, key), n in by_entity.items():
        if kind in USER_PAGE_TYPES:
            per_user[key.lower()] = per_user.get(key.lower(), 0) + n
    sizes = {str(name).lower(): int(n) for name, n in list_sizes.items()}
    long_users = [u for u in per_user if sizes.get(u, 0) > LONG_LIST]
    others = [u for u in per_user if sizes.get(u, 0) <= LONG_LIST]
    long_mean = sum(per_user[u] for u in long_users) / max(len(long_users), 1)
    other_mean = sum(per_user[u] for u in others) / max(len(others), 1)
    return len(long_users), long_mean, other_mean


def run_crawl_bench(
    users: int = 2000,
    anime: int = 1000,
    seed: int = 0,
    batch_size: int = 2000,
    workdir: Path | None = None,
    progress: bool = True,
    source: str = "mal",
    long_list_share: float = 0.0,
) -> CrawlBenchResult:
    from tqdm import tqdm

    from crawler.crawl_loop import crawl_until_done, scheduler_sink
    from crawler.profiles import LOOPBACK_SCRAPY_SETTINGS
    from crawler.scheduler import CrawlScheduler
    from crawler.scheduler.seed import seed_scheduler
    from mal_replica.export import processed_tables
    from mal_replica.server import run_replica

    started = time.monotonic()
    home = Path(workdir or tempfile.mkdtemp(prefix="animerec-crawl-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{home / 'scheduler.sqlite'}"
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    rng = random.Random(seed)
    overrides = {"long_list_share": long_list_share} if long_list_share else {}
    with run_replica(n_users=users, n_anime=anime, seed=seed, **overrides) as replica:
        world = replica.world
        env = {
            "ANIMEREC_HOME": str(home),
            "ANIMEREC_SCHEDULER_DB_URL": db_url,
            "ANIMEREC_CRAWL_SOURCE": source,
            "ANIMEREC_MAL_CLIENT_ID": BENCH_CLIENT_ID,
            "ANIMEREC_MAL_BASE_URL": replica.base_url,
            "ANIMEREC_JIKAN_BASE_URL": replica.jikan_base_url,
            "ANIMEREC_MAL_API_BASE_URL": replica.malapi_base_url,
            "ANIMEREC_SCRAPY_SETTINGS": json.dumps(LOOPBACK_SCRAPY_SETTINGS),
        }
        with _environment(env):
            scheduler = CrawlScheduler(db_url)
            scheduler.create_tables()
            seed_pages = 0

            def seed(anime_pages: int, user_pages: int) -> int:
                nonlocal seed_pages
                inserted = 0
                for kind, pages in (("anime", anime_pages), ("profile", user_pages)):
                    result = seed_scheduler(
                        scheduler, kind, pages, replica.base_url, delay_s=0, rng=rng,
                        max_offset=max(anime - 1, 0),
                    )  # fmt: skip
                    seed_pages += result.pages
                    inserted += sum(result.inserted.values())
                return inserted

            seed(anime_pages=2, user_pages=2)
            total = users + anime
            bar = tqdm(total=total, unit="url", desc="crawl", disable=not progress)

            def on_batch(round_number: int, result) -> None:  # type: ignore[no-untyped-def]
                bar.update(len(result.urls))
                bar.set_postfix(round=round_number, kind=result.kind)

            def reseed(_round: int) -> bool:
                """Discovery ran dry: seed again while part of the world is still unknown."""
                known = scheduler.stats("anime").total + scheduler.stats("profile").total
                if known >= total:
                    return False
                return seed(anime_pages=5, user_pages=20) > 0 or known < total

            crawl_started = time.monotonic()
            loop = crawl_until_done(
                scheduler,
                scheduler_sink(home / "items"),
                batch_size=batch_size,
                max_rounds=200,
                reseed=reseed,
                on_batch=on_batch,
            )
            crawl_seconds = time.monotonic() - crawl_started
            bar.close()
            scheduler.dispose()
        stats = replica.stats()
        by_entity = replica.app.requests_by_entity()
        truth = processed_tables(world)
    list_sizes = truth["user_anime"].groupby("user_id", observed=True).size()
    long_users, per_long_user, per_other_user = per_user_requests(by_entity, list_sizes)
    by_type = stats["by_page_type"]
    crawled_users = loop.scheduled["profile"] - loop.failed["profile"]
    crawled_anime = loop.scheduled["anime"] - loop.failed["anime"]
    user_requests = sum(by_type.get(kind, 0) for kind in USER_PAGE_TYPES)
    anime_requests = sum(by_type.get(kind, 0) for kind in ANIME_PAGE_TYPES)
    return CrawlBenchResult(
        source=source,
        users=users,
        anime=anime,
        rounds=loop.rounds,
        seed_pages=seed_pages,
        requests=stats["total"],
        requests_by_status=stats["by_status"],
        requests_per_user=user_requests / max(crawled_users, 1),
        requests_per_anime=anime_requests / max(crawled_anime, 1),
        crawl_seconds=crawl_seconds,
        wall_seconds=time.monotonic() - started,
        pages_per_second=stats["total"] / max(crawl_seconds, 1e-9),
        counts=distinct_counts(home / "items", truth),
        crawl_errors=count_errors(home / "items"),
        long_list_users=long_users,
        requests_per_long_list_user=per_long_user,
        requests_per_other_user=per_other_user,
    )
