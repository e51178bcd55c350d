"""Fault tolerance: a scheduled crawl of a small replica world that answers 429 (Retry-After),
5xx, slow, truncated and malformed pages and 404s, driven like the hourly crawl (schedule →
crawl_batch → repeat). It must not crash; every page that can be crawled is crawled and its
items equal the world's ground truth; what cannot be parsed leaves a crawl_error; a URL that
failed is not rescheduled within the rescheduling window, and is once the window has passed.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crawler.crawl_loop import CrawlLoopResult, crawl_until_done, scheduler_sink
from crawler.scheduler import CrawlScheduler
from crawler.scheduler.seed import seed_scheduler
from crawler.urls import anime_url, parse_url, profile_url
from crawler.worker import crawl_batch

server = pytest.importorskip("mal_replica.server")
export = pytest.importorskip("mal_replica.export")

FULL_SPEED = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "ANIMEREC_RETRY_BACKOFF_BASE": 0.05,  # 5xx without Retry-After: back off briefly
    "LOG_LEVEL": "INFO",
}
FAULT_RATES = {
    "rate_limit": 0.05,
    "server_error": 0.05,
    "slow": 0.03,
    "truncated": 0.03,
    "malformed": 0.03,
    "not_found": 0.02,
    "retry_after": 1,
    "slow_seconds": 0.3,
}


@dataclass
class Scenario:
    replica: Any
    truth: dict[str, pd.DataFrame]
    items: list[dict[str, Any]]
    first_pass: CrawlLoopResult
    scheduler: CrawlScheduler  # the production 24 h window
    gone_anime: str  # answers 404 forever
    gone_profile: str
    retried_after_window: dict[str, list[str]]
    skipped_within_window: dict[str, list[str]]
    damaged_stats_anime: int
    damaged_list_user: str


def read_items(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text().splitlines() if line]


def _pick_gone_profile(world: Any) -> str:
    """A user some other user lists as a friend, so the crawl discovers the 404ing profile."""
    friendships = world.friendships
    return str(world.users["username"].iloc[int(friendships["b"].iloc[0])])


# A whole crawl of a faulty replica (~45 s on this machine): every test using it is slow.
@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    home = tmp_path_factory.mktemp("faults")
    with (
        pytest.MonkeyPatch.context() as env,
        server.run_replica(n_users=40, n_anime=30, seed=3, fault_rates=FAULT_RATES) as replica,
    ):
        for name in ("REDIS_URL", "ANIMEREC_DUCKDB_PATH", "ANIMEREC_ENV"):
            env.delenv(name, raising=False)
        env.setenv("ANIMEREC_HOME", str(home))
        env.setenv("ANIMEREC_SCHEDULER_DB_URL", f"sqlite:///{home / 'scheduler.sqlite'}")
        env.setenv("ANIMEREC_MAL_BASE_URL", replica.base_url)
        env.setenv("ANIMEREC_JIKAN_BASE_URL", replica.jikan_base_url)
        env.setenv("ANIMEREC_SCRAPY_SETTINGS", json.dumps(FULL_SPEED))
        world = replica.world
        gone_anime_id = int(world.anime["anime_id"].iloc[0])
        gone_profile = _pick_gone_profile(world)
        damaged_stats_anime = int(world.anime["anime_id"].iloc[1])
        damaged_list_user = next(
            str(name) for name in world.users["username"].iloc[3:] if name != gone_profile
        )
        # the scheduler keys profiles in lower case (crawl keys), so that is what is fetched
        permanent = [
            (f"/anime/{gone_anime_id}", "not_found"),
            (f"/profile/{gone_profile.lower()}", "not_found"),
        ]
        for path, fault in permanent:
            replica.add_fault_rule(path, fault, remaining=None)
        # bodies cut short / garbled twice in a row: the spider fetches them again
        replica.add_fault_rule(f"/anime/{damaged_stats_anime}/*/stats", "truncated", remaining=2)
        list_path = f"/animelist/{damaged_list_user.lower()}/load.json"
        replica.add_fault_rule(list_path, "malformed", remaining=2)

        scheduler = CrawlScheduler(os.environ["ANIMEREC_SCHEDULER_DB_URL"])
        scheduler.create_tables()
        seed_scheduler(scheduler, "anime", 1, replica.base_url, delay_s=0, max_offset=0)
        seed_scheduler(scheduler, "profile", 3, replica.base_url, delay_s=0, rng=random.Random(0))
        sink = scheduler_sink(home / "items")
        first_pass = crawl_until_done(scheduler, sink, batch_size=100)

        # An hour later, the URLs that failed are still inside the 24 h window: skipped.
        an_hour_later = datetime.now(UTC) + timedelta(hours=1)
        skipped = {}
        for kind in ("anime", "profile"):
            failed = _failed_urls(scheduler, kind)
            due = set(scheduler.schedule(kind, 10_000, now=an_hour_later))
            skipped[kind] = [url for url in failed if url not in due]
        # Past the window (a scheduler with a 1 s window stands in for "a day later"), the
        # failed URLs come first again; the transient faults are gone, the 404s are not.
        replica.clear_faults()
        for path, fault in permanent:
            replica.add_fault_rule(path, fault, remaining=None)
        time.sleep(1.2)
        later = CrawlScheduler(os.environ["ANIMEREC_SCHEDULER_DB_URL"], timedelta(seconds=1))
        retried = {}
        outputs = list(first_pass.outputs)
        for kind in ("anime", "profile"):
            failed = _failed_urls(later, kind)
            retried[kind] = later.schedule(kind, len(failed))
            if retried[kind]:
                outputs.append(crawl_batch(kind, retried[kind], sink).output_path)
        yield Scenario(
            replica=replica,
            truth=export.processed_tables(world),
            items=read_items(outputs),
            first_pass=first_pass,
            scheduler=scheduler,
            gone_anime=anime_url(gone_anime_id),
            gone_profile=profile_url(gone_profile.lower()),
            retried_after_window=retried,
            skipped_within_window=skipped,
            damaged_stats_anime=damaged_stats_anime,
            damaged_list_user=damaged_list_user,
        )
        scheduler.dispose()
        later.dispose()


def _failed_urls(scheduler: CrawlScheduler, kind: str) -> list[str]:
    """Scheduled, never crawled since: what the policy treats as failed."""
    from sqlalchemy import select

    table = scheduler.table(kind)
    query = select(table.c.url).where(
        table.c.last_scheduled_date.is_not(None), table.c.last_crawled_date.is_(None)
    )
    with scheduler.engine.connect() as conn:
        return sorted(conn.execute(query).scalars())


def of_type(items: list[dict[str, Any]], item_type: str) -> list[dict[str, Any]]:
    return [item for item in items if item["item_type"] == item_type]


def errors_by_entity(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """crawl_error items keyed by the canonical URL of the anime/profile their page belongs to."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for error in of_type(items, "crawl_error"):
        info = parse_url(error["url"])
        grouped.setdefault(info.canonical if info else error["url"], []).append(error)  # type: ignore[arg-type]
    return grouped


@pytest.mark.slow
def test_the_faults_really_happened(scenario: Scenario) -> None:
    statuses = scenario.replica.stats()["by_status"]
    assert {"429", "503", "404"} <= set(statuses)
    assert scenario.first_pass.rounds >= 2  # later rounds crawl what earlier ones discovered


@pytest.mark.slow
def test_every_crawlable_url_is_crawled(scenario: Scenario) -> None:
    world = scenario.replica.world
    crawled_anime = {item["anime_id"] for item in of_type(scenario.items, "anime")}
    # usernames compare case-insensitively (the scheduler fetches crawl keys, lower case)
    crawled_users = {item["user_id"].lower() for item in of_type(scenario.items, "user")}
    gone_anime = parse_url(scenario.gone_anime).anime_id  # type: ignore[union-attr]
    gone_user = parse_url(scenario.gone_profile).username  # type: ignore[union-attr]
    assert crawled_anime == set(world.anime["anime_id"]) - {gone_anime}
    assert crawled_users == {name.lower() for name in world.users["username"]} - {gone_user}
    for kind, total in (("anime", len(world.anime)), ("profile", len(world.users))):
        stats = scenario.scheduler.stats(kind)
        assert (stats.total, stats.crawled) == (total, total - 1)


@pytest.mark.slow
def test_what_cannot_be_crawled_leaves_an_error_record(scenario: Scenario) -> None:
    errors = errors_by_entity(scenario.items)
    for gone in (scenario.gone_anime, scenario.gone_profile):
        main_page = [e for e in errors[gone] if e["url"] == gone]
        # once in the first pass, once more when the window had passed
        assert [e["status_code"] for e in main_page] == [404, 404]
        assert all(e["reason"] == "HTTP 404" for e in main_page)
    for error in of_type(scenario.items, "crawl_error"):
        assert error["url"].startswith("https://myanimelist.net/") and error["reason"]


@pytest.mark.slow
def test_failed_urls_wait_for_the_rescheduling_window(scenario: Scenario) -> None:
    for kind, gone in (("anime", scenario.gone_anime), ("profile", scenario.gone_profile)):
        assert gone in scenario.skipped_within_window[kind]
        assert gone in scenario.retried_after_window[kind]
        # it failed again just now: the next hour skips it again
        assert gone not in scenario.scheduler.schedule(kind, 10_000)


@pytest.mark.slow
def test_damaged_bodies_are_fetched_again_not_recorded_as_errors(scenario: Scenario) -> None:
    errors = errors_by_entity(scenario.items)
    stats_anime = anime_url(scenario.damaged_stats_anime)
    assert not [e for e in errors.get(stats_anime, []) if e["page_type"] == "anime_stats"]
    stats = [s for s in of_type(scenario.items, "anime_stats")
             if s["anime_id"] == scenario.damaged_stats_anime]  # fmt: skip
    truth = scenario.truth["anime"].set_index("anime_id").loc[scenario.damaged_stats_anime]
    assert [s["total_count"] for s in stats] == [truth["total_count"]]
    user = profile_url(scenario.damaged_list_user.lower())
    assert not [e for e in errors.get(user, []) if e["page_type"] == "animelist"]


@pytest.mark.slow
def test_items_of_parsed_pages_equal_ground_truth(scenario: Scenario) -> None:
    truth, items = scenario.truth, scenario.items
    errors = errors_by_entity(items)

    anime_truth = truth["anime"].set_index("anime_id")
    for item in of_type(items, "anime"):
        row = anime_truth.loc[item["anime_id"]]
        assert (item["title"], item["members_count"]) == (row["title"], row["members_count"])
        # an anime nobody scored shows no count on its page (None), the truth says 0
        assert (item["score_count"] or 0) == row["score_count"]
    user_truth = truth["user"].set_index("user_id")
    for item in of_type(items, "user"):
        row = user_truth.loc[item["user_id"]]
        assert (item["num_completed"], item["num_watching"]) == (
            row["num_completed"], row["num_watching"],
        )  # fmt: skip

    def compare(crawled: set[tuple], expected: set[tuple], owner: str, page_type: str) -> None:
        assert crawled <= expected, f"{owner}: items not in the ground truth"
        page_failed = any(e["page_type"] == page_type for e in errors.get(owner, []))
        if not page_failed:
            assert crawled == expected, f"{owner}: {page_type} parsed but items differ"

    lists = truth["user_anime"]
    # users are matched case-insensitively, as staging does (user_key = lower(user_id)): a
    # list fetched by its crawl key names its owner in lower case
    list_truth = {
        (str(r.user_id).lower(), int(r.anime_id), int(r.score), str(r.status), int(r.progress))
        for r in lists.itertuples()
    }
    crawled_lists = {
        (i["user_id"].lower(), i["anime_id"], i["score"], i["status"], i["progress"])
        for i in of_type(items, "user_anime")
    }
    friends_truth = {
        (str(r.userA).lower(), str(r.userB).lower()) for r in truth["user_user"].itertuples()
    }
    crawled_friends = {
        (i["userA"].lower(), i["userB"].lower()) for i in of_type(items, "user_user")
    }
    for username in {i["user_id"].lower() for i in of_type(items, "user")}:
        owner = profile_url(username)
        compare(
            {r for r in crawled_lists if r[0] == username},
            {r for r in list_truth if r[0] == username},
            owner,
            "animelist",
        )
        compare(
            {r for r in crawled_friends if r[0] == username},
            {r for r in friends_truth if r[0] == username},
            owner,
            "profile_friends",
        )

    pairs = truth["anime_anime"]
    related = {
        (int(r.animeA), int(r.animeB), str(r.relation_type))
        for r in pairs[pairs["related"] == 1].itertuples()
    }
    recommended = {
        (int(r.animeA), int(r.animeB), int(r.num_recommenders))
        for r in pairs[pairs["recommendation"] == 1].itertuples()
    }
    crawled_related = {
        (i["animeA"], i["animeB"], i["relation_type"]) for i in of_type(items, "anime_relation")
    }
    crawled_recs = {
        (i["animeA"], i["animeB"], i["num_recommenders"])
        for i in of_type(items, "anime_recommendation")
    }
    for anime_id in {i["anime_id"] for i in of_type(items, "anime")}:
        owner = anime_url(anime_id)
        compare(
            {r for r in crawled_related if r[0] == anime_id},
            {r for r in related if r[0] == anime_id},
            owner,
            "anime",
        )
        compare(
            {r for r in crawled_recs if r[0] == anime_id},
            {r for r in recommended if r[0] == anime_id},
            owner,
            "anime_userrecs",
        )


@pytest.mark.slow
def test_retries_wait_as_long_as_retry_after_says(scenario: Scenario, tmp_path: Path) -> None:
    """One 429 saying "retry after 3 s" (and a fallback backoff of 60 s that must not be used):
    the page is fetched again after 3 s, not at once and not after the backoff."""
    replica = scenario.replica
    anime_id = int(replica.world.anime["anime_id"].iloc[3])
    replica.clear_faults()
    replica.reset_stats()
    replica.add_fault_rule(f"/anime/{anime_id}", "rate_limit", remaining=1, retry_after=3)
    sink = scheduler_sink(tmp_path, ANIMEREC_RETRY_BACKOFF_BASE="60", SCHEDULER_HOOKS="none")
    started = time.monotonic()
    result = crawl_batch("anime", [anime_url(anime_id)], sink)
    elapsed = time.monotonic() - started
    assert 3.0 <= elapsed < 30.0
    assert replica.stats()["by_page_type_status"]["anime"] == {"429": 1, "200": 1}
    assert result.failed_urls == [] and result.item_counts["anime"] == 1


def test_seeding_reads_listings_with_the_spiders_parser_and_keeps_links_of_a_cut_page() -> None:
    from crawler import urls as mal_urls
    from crawler.parsers import build_response, parse_response
    from crawler.scheduler.seed import listing_links
    from crawler.scheduler.urls import InvalidUrlError, canonicalize

    page = (
        '<html><body><div id="content"><a href="/profile/Alice">Alice</a>'
        '<a href="/anime/5/Slug">A</a><a href="/profile/no%20way">x</a></div></body></html>'
    )
    url = "http://127.0.0.1:8900/users.php"
    spider_view = parse_response(build_response(url, page.encode())).seen
    expected = {"anime": [anime_url(5)], "profile": [profile_url("Alice")]}
    assert listing_links(url, page) == expected == {k: sorted(v) for k, v in spider_view.items()}
    cut = page[: page.index('<a href="/profile/no')]  # the connection dropped mid-page
    assert listing_links(url, cut) == expected
    with pytest.raises(ValueError, match="not a listing page"):
        listing_links("https://myanimelist.net/anime/5", page)
    # the scheduler's URL errors are the crawler's (one definition of a valid MAL URL)
    assert issubclass(InvalidUrlError, mal_urls.InvalidUrlError)
    assert canonicalize("www.myanimelist.net/anime/5/Slug/stats") == ("anime", anime_url(5))
    with pytest.raises(ValueError, match=r"not a myanimelist\.net link"):
        canonicalize("http://127.0.0.1:8900/profile/Alice")
