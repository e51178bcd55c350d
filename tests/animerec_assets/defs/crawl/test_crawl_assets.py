"""The crawl stage end to end over HTTP: scheduler batch → Scrapy subprocess → landing tables."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest

from animerec_assets.defs.crawl.assets import crawled_items, landing_tables, scheduled_batch
from animerec_assets.resources import build_resources
from animerec_assets.settings import load_settings
from crawler.profiles import LOOPBACK_SCRAPY_SETTINGS
from crawler.scheduler import CrawlScheduler
from crawler.urls import anime_url, profile_url
from mal_replica.server import run_replica

# Each test serves a replica and runs the crawl's Scrapy subprocess over HTTP.
pytestmark = pytest.mark.slow

HOUR = "2026-11-20-05:00"
ASSETS = [scheduled_batch, crawled_items, landing_tables]


@pytest.fixture
def replica_env(animerec_home, monkeypatch):
    with run_replica(n_users=12, n_anime=20, seed=3) as replica:
        monkeypatch.setenv("ANIMEREC_MAL_BASE_URL", replica.base_url)
        monkeypatch.setenv("ANIMEREC_JIKAN_BASE_URL", replica.jikan_base_url)
        monkeypatch.setenv("ANIMEREC_SCRAPY_SETTINGS", json.dumps(LOOPBACK_SCRAPY_SETTINGS))
        yield replica


def _seed(world, n_anime: int, n_users: int) -> CrawlScheduler:
    scheduler = CrawlScheduler.from_settings()
    scheduler.create_tables()
    anime_ids = world.anime["anime_id"].head(n_anime).tolist()
    usernames = world.users["username"].head(n_users).tolist()
    scheduler.add_urls("anime", [anime_url(a) for a in anime_ids])
    scheduler.add_urls("profile", [profile_url(u) for u in usernames])
    return scheduler


def _run(run_config: dg.RunConfig | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ASSETS,
        partition_key=HOUR,
        resources=build_resources(load_settings()),
        run_config=run_config,
    )


def test_one_hour_lands_every_item_type_and_marks_the_scheduler(replica_env):
    scheduler = _seed(replica_env.world, n_anime=3, n_users=2)
    result = _run()
    assert result.success
    with duckdb.connect(str(load_settings().duckdb_path), read_only=True) as db:
        count = lambda table: db.execute(f"select count(*) from landing.{table}").fetchone()[0]  # noqa: E731
        assert count("anime") == 3
        assert count("user") == 2
        assert count("anime_stats") == 3
        assert count("user_anime") > 0
        assert db.execute("select distinct crawl_hour from landing.anime").fetchall() == [
            ("2026-11-20 05:00:00",)
        ]
    stats = scheduler.all_stats()
    assert stats["anime"].crawled == 3
    assert stats["profile"].crawled == 2
    # Pages mention other anime and users: the scheduler now knows them (inspected / added).
    assert stats["anime"].total > 3


def test_rematerializing_an_hour_replaces_it(replica_env):
    _seed(replica_env.world, n_anime=2, n_users=1)
    assert _run().success
    # Ask for the same URLs again in the same hour: the hour's rows are replaced, not appended.
    scheduler = CrawlScheduler.from_settings()
    with scheduler.engine.begin() as connection:
        connection.exec_driver_sql("update anime_schedule set last_scheduled_date = null")
        connection.exec_driver_sql("update profile_schedule set last_scheduled_date = null")
    config = dg.RunConfig(
        ops={"crawl__scheduled_batch": {"config": {"anime_per_hour": 2, "profiles_per_hour": 1}}}
    )
    assert _run(config).success
    with duckdb.connect(str(load_settings().duckdb_path), read_only=True) as db:
        rows, distinct = db.execute(
            "select count(*), count(distinct anime_id) from landing.anime"
        ).fetchone()
    assert rows == distinct == 2
