"""Crawl a small synthetic MAL world served by the replica and compare with its ground truth."""

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


def crawl(spider: str, urls: list[str], replica: Any, out: Path, *extra: str) -> None:
    env = {
        **os.environ,
        "ANIMEREC_HOME": str(out / "home"),
        "ANIMEREC_MAL_BASE_URL": replica.base_url,
        "ANIMEREC_JIKAN_BASE_URL": replica.jikan_base_url,
    }
    command = [
        str(SCRAPY), "crawl", spider, "-a", "urls=" + ",".join(urls), *extra,
        "-s", f"ANIMEREC_JSONL_DIR={out}", "-s", "DOWNLOAD_DELAY=0",
        "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "LOG_LEVEL=WARNING",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("source", ["mal", "jikan"])
def test_crawl_a_replica_world(tmp_path: Path, source: str) -> None:
    server = pytest.importorskip("mal_replica.server")
    with server.run_replica(n_users=30, n_anime=20, seed=1) as replica:
        world = replica.world
        anime = world.anime.head(3)
        users = world.users.head(2)
        crawl(
            "anime",
            [f"{MAL}/anime/{i}" for i in anime["anime_id"]],
            replica,
            tmp_path / "anime",
            "-a", f"source={source}",
        )  # fmt: skip
        crawl(
            "profile",
            [f"{MAL}/profile/{u}" for u in users["username"]],
            replica,
            tmp_path / "profile",
            "-a", f"source={source}",
        )  # fmt: skip
    crawled = {a["anime_id"]: a for a in read(tmp_path / "anime", "anime")}
    assert set(crawled) == set(anime["anime_id"])
    for row in anime.itertuples():
        assert crawled[row.anime_id]["title"] == row.title
        assert crawled[row.anime_id]["score_count"] == row.score_count
        assert crawled[row.anime_id]["source"] == source
    stats = {s["anime_id"]: s for s in read(tmp_path / "anime", "anime_stats")}
    assert {k: stats[k]["total_count"] for k in stats} == dict(
        zip(anime["anime_id"], anime["total_count"], strict=True)
    )
    profiles = {u["user_id"]: u for u in read(tmp_path / "profile", "user")}
    assert set(profiles) == set(users["username"])
    for row in users.itertuples():
        assert profiles[row.username]["num_completed"] == row.num_completed
    if source == "mal":  # Jikan v4 has no anime list endpoint
        rows = read(tmp_path / "profile", "user_anime")
        assert len(rows) == int(users["total_entries"].sum())
        for row in users.itertuples():
            completed = [
                r for r in rows if r["user_id"] == row.username and r["status"] == "completed"
            ]
            assert len(completed) == row.num_completed
