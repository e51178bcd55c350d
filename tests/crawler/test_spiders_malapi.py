"""Source malapi over HTTP: the replica's MAL API v2 beside its HTML pages, as one crawl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRAPY = Path(sys.executable).parent / "scrapy"
MAL = "https://myanimelist.net"


def read(out: Path, item_type: str) -> list[dict[str, Any]]:
    path = out / f"{item_type}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def crawl(
    spider: str,
    urls: list[str],
    replica: Any,
    out: Path,
    client_id: str = "test-client",
    *settings: str,
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ANIMEREC_HOME": str(out / "home"),
        "ANIMEREC_MAL_BASE_URL": replica.base_url,
        "ANIMEREC_MAL_API_BASE_URL": replica.malapi_base_url,
        "ANIMEREC_CRAWL_SOURCE": "malapi",
        "ANIMEREC_MAL_CLIENT_ID": client_id,
    }
    command = [
        str(SCRAPY), "crawl", spider, "-a", "urls=" + ",".join(urls),
        "-s", f"ANIMEREC_JSONL_DIR={out}", "-s", "DOWNLOAD_DELAY=0",
        "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=WARNING",
        *[part for setting in settings for part in ("-s", setting)],
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_malapi_crawl_equals_the_world(tmp_path: Path) -> None:
    server = pytest.importorskip("mal_replica.server")
    export = pytest.importorskip("mal_replica.export")
    with server.run_replica(n_users=80, n_anime=800, seed=3, long_list_share=0.1) as replica:
        world = replica.world
        truth = export.processed_tables(world)
        sizes = truth["user_anime"].groupby("user_id", observed=True).size()
        users = [str(sizes.idxmax()), str(sizes.idxmin())]
        anime = world.anime["anime_id"].head(4).tolist()
        crawl("anime", [f"{MAL}/anime/{i}" for i in anime], replica, tmp_path / "anime")
        crawl("profile", [f"{MAL}/profile/{u}" for u in users], replica, tmp_path / "profile")
        by_type = replica.stats()["by_page_type_status"]
    assert by_type["malapi_anime"] == {"200": len(anime)}
    assert "401" not in json.dumps(by_type), "every API request carries the client id"
    # the API replaces the main page, userrecs and pics; stats, reviews and clubs stay HTML
    assert "anime_userrecs" not in by_type and "anime_pics" not in by_type
    assert "animelist_json" not in by_type and by_type["malapi_animelist"] == {"200": 2}
    crawled = {a["anime_id"]: a for a in read(tmp_path / "anime", "anime")}
    assert set(crawled) == set(anime) and {a["source"] for a in crawled.values()} == {"malapi"}
    assert {s["anime_id"] for s in read(tmp_path / "anime", "anime_stats")} == set(anime)
    pairs = truth["anime_anime"]
    mine = pairs[pairs["animeA"].isin(anime)]
    relations = {(r["animeA"], r["animeB"]) for r in read(tmp_path / "anime", "anime_relation")}
    assert relations == set(
        mine.loc[mine["related"] == 1, ["animeA", "animeB"]].itertuples(index=False, name=None)
    )
    rows = read(tmp_path / "profile", "user_anime")
    assert len(rows) == int(sizes[users].sum()) and int(sizes[users[0]]) > 300
    profiles = {u["user_id"] for u in read(tmp_path / "profile", "user")}
    assert profiles == set(users)
    # a complete crawl replaces the sets it listed, as the HTML source's does
    snapshots = {
        (s["parent_id"], s["set_name"]): s
        for out in ("anime", "profile")
        for s in read(tmp_path / out, "crawl_snapshot")
    }
    for table, key, parents in (
        ("anime_relation", "animeA", [str(a) for a in anime]),
        ("anime_recommendation", "animeA", [str(a) for a in anime]),
        ("user_anime", "user_id", users),
        ("user_user", "userA", users),
    ):
        out = tmp_path / ("anime" if table.startswith("anime") else "profile")
        for parent in parents:
            snap = snapshots[(parent, table)]
            mine_rows = [r for r in read(out, table) if str(r[key]) == parent]
            assert (snap["complete"], snap["item_count"]) == (1, len(mine_rows)), (parent, table)
            # the friends pages are HTML pages: their set says so
            assert snap["source"] == ("mal" if table == "user_user" else "malapi")
            assert {r["snapshot_id"] for r in mine_rows} <= {snap["snapshot_id"]}
    assert len(snapshots) == 2 * len(anime) + 2 * len(users)


@pytest.mark.slow
def test_refused_client_id_stops_the_crawl(tmp_path: Path) -> None:
    server = pytest.importorskip("mal_replica.server")
    with server.run_replica(n_users=20, n_anime=60, seed=4) as replica:
        replica.app.malapi_client_ids = frozenset({"the-real-one"})
        anime = replica.world.anime["anime_id"].tolist()
        done = crawl("anime", [f"{MAL}/anime/{i}" for i in anime], replica, tmp_path, "wrong")
        refused = replica.stats()["by_page_type_status"].get("malapi_anime", {})
    assert "MAL API refused the crawl with HTTP 401" in done.stderr
    # stopped, not retried and not pressed on: far fewer requests than anime asked for
    assert sum(refused.values()) < len(anime) / 2


@pytest.mark.slow
def test_a_failed_api_anime_page_names_its_anime_and_replaces_nothing(tmp_path: Path) -> None:
    """``/v2/anime/{id}`` answering 500 after every retry: the crawl_error says which anime
    (not only the API URL), the worker counts that anime as failed, its sets stay partial."""
    from crawler.worker import summarize_items

    server = pytest.importorskip("mal_replica.server")
    with server.run_replica(n_users=10, n_anime=30, seed=6) as replica:
        anime = replica.world.anime["anime_id"].head(3).tolist()
        broken = anime[0]
        replica.add_fault_rule(f"/malapi/v2/anime/{broken}", "server_error", remaining=None)
        urls = [f"{MAL}/anime/{i}" for i in anime]
        crawl("anime", urls, replica, tmp_path, "test-client", "ANIMEREC_RETRY_BACKOFF_BASE=0.01")
    (error,) = [e for e in read(tmp_path, "crawl_error") if not e["reason"].startswith("bounded")]
    assert (error["parent_kind"], error["parent_id"], error["page_type"]) == (
        "anime",
        str(broken),
        "malapi_anime",
    )
    assert error["status_code"] >= 500 and "/v2/anime/" in error["url"]
    lines = [json.dumps(e) for e in read(tmp_path, "crawl_error")]
    assert summarize_items(lines, urls)[1] == [f"{MAL}/anime/{broken}"]
    snapshots = read(tmp_path, "crawl_snapshot")
    assert {(s["set_name"], s["complete"]) for s in snapshots if s["parent_id"] == str(broken)} == {
        ("anime_relation", 0),
        ("anime_recommendation", 0),
    }
    assert all(s["complete"] == 1 for s in snapshots if s["parent_id"] != str(broken))
