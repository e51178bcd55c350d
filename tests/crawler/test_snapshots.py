"""Snapshots of a parent's sets and gone pages: the bookkeeping rules, then real crawls of a
replica world (complete sets, a paging cut, a failed page, a private list, a deleted user)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from animerec_assets.contracts.landing import GONE_REASONS, PARENT_KINDS, SNAPSHOT_SETS
from crawler.parsers.router import PARSERS
from crawler.snapshots import (
    SETS_OF_PAGE_TYPE,
    SnapshotTracker,
    gone_item,
    gone_reason,
    new_snapshot_id,
    page_failed,
    snapshot_item,
    stamp,
)
from crawler.urls import malapi_anime_url, malapi_animelist_url, parse_url

REPO = Path(__file__).resolve().parents[2]
SCRAPY = Path(sys.executable).parent / "scrapy"
MAL = "https://myanimelist.net"


def test_page_types_name_contract_sets() -> None:
    assert {name for names in SETS_OF_PAGE_TYPE.values() for name in names} == set(SNAPSHOT_SETS)
    assert set(SETS_OF_PAGE_TYPE) <= set(PARSERS)


def test_a_set_closes_when_its_last_page_in_flight_finishes() -> None:
    tracker = SnapshotTracker()
    first = parse_url(f"{MAL}/animelist/Alice/load.json?status=7&offset=0")
    second = parse_url(f"{MAL}/animelist/Alice/load.json?status=7&offset=300")
    assert first is not None and second is not None
    tracker.page_requested("s1", first, "mal", f"{MAL}/profile/Alice")
    tracker.page_requested("s1", second, "mal", f"{MAL}/profile/Alice")  # asked for by page 1
    assert tracker.page_finished("s1", "animelist", {"user_anime": 300}, ok=True) == []
    (closed,) = tracker.page_finished("s1", "animelist", {"user_anime": 12}, ok=True)
    assert (closed.complete, closed.item_count) == (True, 312)
    assert (closed.parent_kind, closed.parent_id, closed.set_name) == (
        "user",
        "Alice",
        "user_anime",
    )
    assert tracker.open_sets == []
    assert tracker.page_finished("s1", "animelist", {"user_anime": 1}, ok=True) == []  # closed
    assert tracker.page_finished("s9", "history", {}, ok=True) == []  # not a set page

    item = snapshot_item(closed)
    assert item["item_type"] == "crawl_snapshot" and item["complete"] == 1
    assert item["item_count"] == 312 and item["snapshot_id"] == "s1"


@pytest.mark.parametrize(
    ("ok", "cut", "page_type", "complete"),
    [
        (False, False, "animelist", False),  # a page failed for good
        (True, True, "animelist", False),  # the next page was past ANIMEREC_MAX_PAGES
        (True, False, "jikan_user", False),  # Jikan shows recent updates, never the list
        (True, False, "profile_friends", True),
    ],
)
def test_partial_sets(ok: bool, cut: bool, page_type: str, complete: bool) -> None:
    url = {
        "animelist": f"{MAL}/animelist/Bob/load.json?offset=0",
        "jikan_user": "https://api.jikan.moe/v4/users/Bob/full",
        "profile_friends": f"{MAL}/profile/Bob/friends",
    }[page_type]
    tracker = SnapshotTracker()
    tracker.page_requested("s", parse_url(url), "mal", f"{MAL}/profile/Bob")  # type: ignore[arg-type]
    (closed,) = tracker.page_finished("s", page_type, {"user_anime": 3}, ok=ok, cut=cut)
    assert closed.complete is complete


def test_one_api_anime_page_closes_both_of_its_sets() -> None:
    """MAL's API lists an anime's related anime and recommendations in one body; its list
    pages are one set across the paging, as load.json's are."""
    tracker = SnapshotTracker()
    page = parse_url(malapi_anime_url(6))
    assert page is not None
    tracker.page_requested("s", page, "malapi", f"{MAL}/anime/6")
    counts = {"anime_relation": 2, "anime_recommendation": 7}
    closed = tracker.page_finished("s", "malapi_anime", counts, ok=True)
    assert {(c.set_name, c.parent_id, c.item_count, c.complete) for c in closed} == {
        ("anime_relation", "6", 2, True),
        ("anime_recommendation", "6", 7, True),
    }
    tracker.page_requested("t", page, "malapi", f"{MAL}/anime/6")
    gone = [{"item_type": "page_gone"}]  # a 404 from the API lists nothing
    failed = tracker.page_finished("t", "malapi_anime", {}, ok=not page_failed(gone))
    assert [c.complete for c in failed] == [False, False]

    first, second = malapi_animelist_url("Alice"), malapi_animelist_url("Alice", 1000)
    for url in (first, second):
        tracker.page_requested("u", parse_url(url), "malapi", f"{MAL}/profile/Alice")  # type: ignore[arg-type]
    assert tracker.page_finished("u", "malapi_animelist", {"user_anime": 1000}, ok=True) == []
    (whole,) = tracker.page_finished("u", "malapi_animelist", {"user_anime": 5}, ok=True)
    assert (whole.set_name, whole.item_count, whole.complete) == ("user_anime", 1005, True)


def test_stamp_gone_reason_and_ids() -> None:
    items = [
        {"item_type": "user_anime", "snapshot_id": None},
        {"item_type": "user_history"},
        {"item_type": "user_anime", "snapshot_id": None},
    ]
    assert stamp(items, "user_anime", "sid") == 2
    assert [i.get("snapshot_id") for i in items] == ["sid", None, "sid"]
    private = [{"item_type": "crawl_error", "reason": "anime list unavailable (unknown ...)"}]
    assert gone_reason("profile", 404, []) == "not_found"
    assert gone_reason("jikan_anime", 404, []) == "not_found"
    assert gone_reason("animelist", 400, private) == "private"
    assert (
        gone_reason("animelist", 404, [{"item_type": "crawl_error", "reason": "HTTP 404"}]) is None
    )
    assert gone_reason("anime_stats", 404, []) is None  # a sub-page is not the anime
    assert gone_reason("profile", 503, []) is None
    a, b = new_snapshot_id(f"{MAL}/anime/1"), new_snapshot_id(f"{MAL}/anime/1")
    assert a != b and a.endswith(f"{MAL}/anime/1")
    info = parse_url(f"{MAL}/animelist/Carol/load.json")
    gone = gone_item(info, "private", 400, "mal")  # type: ignore[arg-type]
    assert gone is not None and gone["url"] == f"{MAL}/profile/Carol"
    assert (gone["parent_kind"], gone["parent_id"], gone["reason"]) == ("user", "Carol", "private")
    assert gone["parent_kind"] in PARENT_KINDS and gone["reason"] in GONE_REASONS


# ---- real crawls of a replica world ---------------------------------------------------------


def crawl(
    spider: str, urls: list[str], replica: Any, out: Path, *settings: str, source: str = "mal"
) -> list[dict]:
    env = {
        **os.environ,
        "ANIMEREC_HOME": str(out / "home"),
        "ANIMEREC_MAL_BASE_URL": replica.base_url,
        "ANIMEREC_JIKAN_BASE_URL": replica.jikan_base_url,
    }
    env.pop("ANIMEREC_SCRAPY_SETTINGS", None)
    feed = out / "items.jsonl"
    command = [
        str(SCRAPY), "crawl", spider, "-a", "urls=" + ",".join(urls), "-a", f"source={source}",
        "-O", f"{feed}:jsonlines",
        "-s", "ANIMEREC_SINKS=", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "ANIMEREC_RETRY_BACKOFF_BASE=0.01", "-s", "LOG_LEVEL=WARNING",
        *[part for setting in settings for part in ("-s", setting)],
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in feed.read_text().splitlines() if line]


def of_type(items: list[dict], item_type: str) -> list[dict]:
    return [i for i in items if i["item_type"] == item_type]


@pytest.mark.slow
def test_profile_crawls_close_their_sets(tmp_path: Path) -> None:
    server = pytest.importorskip("mal_replica.server")
    # long lists: two load.json pages (300 rows each) for most users
    big_lists = {"mean_list_size": 600.0, "list_size_sigma": 0.3, "n_groups": 2}
    with server.run_replica(n_users=8, n_anime=3000, seed=2, **big_lists) as replica:
        world = replica.world
        sizes = world.users["total_entries"].to_numpy()
        names = world.users["username"].tolist()
        paged = [n for n, s in zip(names, sizes, strict=True) if 300 < s < 600][:2]
        broken = next(n for n in names if n not in paged)
        assert len(paged) == 2
        replica.add_fault_rule(f"/animelist/{broken}/load.json", "not_found", remaining=None)
        urls = [f"{MAL}/profile/{n}" for n in [*paged, broken]]

        items = crawl("profile", urls, replica, tmp_path / "full")
        snapshots = {(s["parent_id"], s["set_name"]): s for s in of_type(items, "crawl_snapshot")}
        for name, size in ((n, int(sizes[names.index(n)])) for n in paged):
            snap = snapshots[(name, "user_anime")]
            rows = [r for r in of_type(items, "user_anime") if r["user_id"] == name]
            assert (snap["complete"], snap["item_count"], len(rows)) == (1, size, size)
            assert {r["snapshot_id"] for r in rows} == {snap["snapshot_id"]}  # both pages
            friends = snapshots[(name, "user_user")]
            assert friends["complete"] == 1
            assert friends["item_count"] == sum(
                r["userA"] == name for r in of_type(items, "user_user")
            )
            # one parent crawl, one id on every set
            assert friends["snapshot_id"] == snap["snapshot_id"]
        assert snapshots[(broken, "user_anime")]["complete"] == 0  # its list page failed
        assert snapshots[(broken, "user_user")]["complete"] == 1
        assert of_type(items, "page_gone") == []
        assert Counter(s["set_name"] for s in snapshots.values()) == {
            "user_anime": 3,
            "user_user": 3,
        }

        cut = crawl(
            "profile", urls[:1], replica, tmp_path / "cut", 'ANIMEREC_MAX_PAGES={"animelist": 1}'
        )
        snap = next(s for s in of_type(cut, "crawl_snapshot") if s["set_name"] == "user_anime")
        assert (snap["complete"], snap["item_count"]) == (0, 300)


@pytest.mark.slow
@pytest.mark.parametrize("source", ["mal", "jikan"])
def test_gone_profiles_and_anime_after_the_world_moved(tmp_path: Path, source: str) -> None:
    server = pytest.importorskip("mal_replica.server")
    with server.run_replica(n_users=150, n_anime=100, seed=4) as replica:
        start = replica.world
        replica.evolve(rounds=4)
        world = replica.world
        deleted = sorted(set(start.users["username"]) - set(world.users["username"]))[0]
        private = world.users.loc[world.users["private"], "username"].tolist()[0]
        gone_anime = sorted(set(start.anime["anime_id"]) - set(world.anime["anime_id"]))[0]
        alive_anime = int(world.anime["anime_id"].iloc[0])
        users = crawl(
            "profile", [f"{MAL}/profile/{deleted}", f"{MAL}/profile/{private}"], replica,
            tmp_path / "users", source=source,
        )  # fmt: skip
        anime = crawl(
            "anime", [f"{MAL}/anime/{gone_anime}", f"{MAL}/anime/{alive_anime}"], replica,
            tmp_path / "anime", source=source,
        )  # fmt: skip
    gone = {(g["parent_kind"], g["parent_id"]): g for g in of_type(users + anime, "page_gone")}
    expected = {
        ("user", deleted): ("not_found", 404),
        ("anime", str(gone_anime)): ("not_found", 404),
    }
    if source == "mal":  # Jikan has no anime list, so it cannot tell a hidden one
        expected[("user", private)] = ("private", 400)
    assert {k: (g["reason"], g["status_code"]) for k, g in gone.items()} == expected
    snapshots = of_type(anime, "crawl_snapshot")
    alive = {s["set_name"]: s for s in snapshots if s["parent_id"] == str(alive_anime)}
    assert alive["anime_relation"]["complete"] == 1
    assert alive["anime_recommendation"]["complete"] == 1
    relations = [r for r in of_type(anime, "anime_relation") if r["animeA"] == alive_anime]
    assert alive["anime_relation"]["item_count"] == len(relations)
    assert all(r["snapshot_id"] == alive["anime_relation"]["snapshot_id"] for r in relations)


def test_a_page_lost_on_the_network_closes_its_set_as_partial(tmp_path: Path) -> None:
    """The errback path: a connection that failed after every retry still ends the set."""
    from scrapy.utils.test import get_crawler
    from twisted.python.failure import Failure

    from crawler.spiders.profile import ProfileSpider

    settings = {"SCHEDULER_HOOKS": "jsonl", "ANIMEREC_JSONL_DIR": str(tmp_path)}
    crawler = get_crawler(ProfileSpider, settings)
    spider = ProfileSpider.from_crawler(crawler, urls=f"{MAL}/profile/Alice", source="mal")
    sid = new_snapshot_id(f"{MAL}/profile/Alice")
    request = spider.request_for(
        f"{MAL}/animelist/Alice/load.json?status=7&offset=0", f"{MAL}/profile/Alice", sid
    )
    failure = Failure(ConnectionRefusedError("no route"))
    failure.request = request  # type: ignore[attr-defined]
    items = list(spider.on_failure(failure))
    assert [i["item_type"] for i in items] == ["crawl_error", "crawl_snapshot"]
    assert (items[1]["complete"], items[1]["set_name"], items[1]["parent_id"]) == (
        0, "user_anime", "Alice",
    )  # fmt: skip
    assert spider.snapshots.open_sets == []
