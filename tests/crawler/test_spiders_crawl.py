"""Real Scrapy crawls (subprocess ``scrapy crawl``) against a local HTTP server that serves the
recorded MAL pages and Jikan responses under their real paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRAPY = Path(sys.executable).parent / "scrapy"
MAL = "https://myanimelist.net"

# path -> (status, file under mal_pages/, content type)
HTML, JSON = "text/html; charset=utf-8", "application/json"
ROUTES: dict[str, tuple[int, str, str]] = {
    "/anime/6": (200, "html/anime_6_trigun.html", HTML),
    "/anime/6/Trigun/stats": (200, "html/anime_1_cowboy_bebop_stats.html", HTML),
    "/anime/6/Trigun/userrecs": (200, "html/anime_21_one_piece_userrecs.html", HTML),
    "/anime/6/Trigun/reviews": (200, "html/anime_1_cowboy_bebop_reviews.html", HTML),
    "/anime/1/Cowboy_Bebop/reviews": (200, "html/anime_1_cowboy_bebop_reviews.html", HTML),
    "/anime/6/Trigun/pics": (200, "html/anime_22147_amagi_brilliant_park_pics.html", HTML),
    "/profile/sandshark": (200, "html/profile_sandshark.html", HTML),
    "/animelist/sandshark/load.json": (
        200,
        "html/animelist_Xinil_load_status7_offset0.rows.json",
        JSON,
    ),
    "/profile/sandshark/friends": (200, "html/profile_morshuwarrior_friends_2024.html", HTML),
    "/profile/morshuwarrior/friends": (
        404,
        "html/profile_morshuwarrior_friends_offset_10000_404_2018.html",
        HTML,
    ),
    "/history/sandshark/anime": (200, "html/history_morshuwarrior.html", HTML),
    "/v4/anime/6/full": (200, "jikan/aniprops_v4_anime_6_full.json", JSON),
    "/v4/anime/6/statistics": (200, "jikan/reactivejikan_v4_anime_getAnimeStatistics.json", JSON),
    "/v4/anime/6/recommendations": (
        200,
        "jikan/reactivejikan_v4_anime_getAnimeRecommendations.json",
        JSON,
    ),
    "/v4/anime/6/reviews": (500, "jikan/jikanpy_v4_reviews_anime.json", JSON),
    "/v4/anime/6/pictures": (200, "jikan/reactivejikan_v4_anime_getAnimePictures.json", JSON),
    "/topanime.php": (200, "html/club_1_cowboy_bebop.html", HTML),
}
THROTTLED_ONCE = {"/anime/6/Trigun/pics"}  # first answer: 429 with Retry-After: 1


class RecordedMal(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pages: Path) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.pages = pages
        self.hits: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: RecordedMal

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        self.server.hits[path] += 1
        self.server.times.setdefault(path, []).append(time.monotonic())
        if path in THROTTLED_ONCE and self.server.hits[path] == 1:
            self._send(429, b"slow down", "text/plain", {"Retry-After": "1"})
            return
        status, name, ctype = ROUTES.get(path, (404, "", "text/plain"))
        body = (self.server.pages / name).read_bytes() if name else b"not found"
        self._send(status, body, ctype)

    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def recorded_mal(mal_pages_dir: Path) -> Iterator[RecordedMal]:
    server = RecordedMal(mal_pages_dir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def crawl(
    spider: str, server: RecordedMal, out: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl`` in a subprocess with fast politeness settings for a local server."""
    command = [
        str(SCRAPY), "crawl", spider, *args,
        "-s", f"ANIMEREC_JSONL_DIR={out}",
        "-s", "DOWNLOAD_DELAY=0",
        "-s", "AUTOTHROTTLE_START_DELAY=0",
        "-s", "AUTOTHROTTLE_MAX_DELAY=2",
        "-s", "ANIMEREC_RETRY_BACKOFF_BASE=0.2",
        "-s", "LOG_LEVEL=INFO",
    ]  # fmt: skip
    full_env = {
        **os.environ,
        "ANIMEREC_HOME": str(out / "home"),
        "ANIMEREC_MAL_BASE_URL": server.base,
        "ANIMEREC_JIKAN_BASE_URL": f"{server.base}/v4",
        **(env or {}),
    }
    done = subprocess.run(
        command, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def read(out: Path, item_type: str) -> list[dict[str, Any]]:
    path = out / f"{item_type}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def hook_calls(out: Path) -> list[dict[str, Any]]:
    path = out / "scheduler_hooks.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_anime_crawl_over_http(recorded_mal: RecordedMal, tmp_path: Path) -> None:
    crawl(
        "anime",
        recorded_mal,
        tmp_path,
        "-a", f"urls={MAL}/anime/6,{MAL}/profile/not_an_anime",
        "-s", "SCHEDULER_HOOKS=jsonl",
        "-s", "SCHEDULER_FLUSH_EVERY=100000",
        "-s", 'ANIMEREC_MAX_PAGES={"anime_reviews": 2}',
    )  # fmt: skip
    (anime,) = read(tmp_path, "anime")
    assert anime["title"] == "Trigun" and anime["url"] == f"{MAL}/anime/6"
    assert {r["animeB"] for r in read(tmp_path, "anime_relation")} == {4106, 52093}
    assert read(tmp_path, "anime_stats")[0]["anime_id"] == 6
    # One Piece's userrecs served as Trigun's: 143 recommendations minus Trigun itself.
    recs = read(tmp_path, "anime_recommendation")
    assert len(recs) == 142 and all(r["animeA"] == 6 != r["animeB"] for r in recs)
    assert len(read(tmp_path, "review")) == 40  # page 1 and the followed page 2, then the cap
    assert recorded_mal.hits["/anime/1/Cowboy_Bebop/reviews"] == 1
    # 429 + Retry-After: retried after waiting, and the page still parsed.
    assert recorded_mal.hits["/anime/6/Trigun/pics"] == 2
    first, second = recorded_mal.times["/anime/6/Trigun/pics"]
    assert second - first >= 0.9
    assert len(read(tmp_path, "anime_pics")[0]["pics"]) == 7
    errors = read(tmp_path, "crawl_error")
    by_reason = {e["reason"]: e for e in errors}
    assert by_reason["HTTP 404"]["page_type"] == "anime_clubs"  # the unserved clubs page
    assert by_reason["HTTP 404"]["url"] == f"{MAL}/anime/6/Trigun/clubs"
    assert any(e["reason"] == "not a anime URL" for e in errors)
    calls = hook_calls(tmp_path)
    crawled = [c for c in calls if c["call"] == "mark_crawled"]
    assert crawled == [{"call": "mark_crawled", "kind": "anime", "urls": [f"{MAL}/anime/6"]}]
    inspected = {(c["kind"]) for c in calls if c["call"] == "mark_inspected"}
    assert inspected == {"anime", "profile"}
    assert len(calls) == 3  # one batched call per (event, kind) at close
    seen_anime = next(c for c in calls if c["call"] == "mark_inspected" and c["kind"] == "anime")
    assert {f"{MAL}/anime/4106", f"{MAL}/anime/6702"} <= set(seen_anime["urls"])


@pytest.mark.slow
def test_profile_crawl_over_http_updates_a_real_scheduler_db(
    recorded_mal: RecordedMal, tmp_path: Path
) -> None:
    db = tmp_path / "scheduler.sqlite"
    crawl(
        "profile",
        recorded_mal,
        tmp_path,
        "-a", f"urls={MAL}/profile/sandshark,{MAL}/profile/nobody_here",
        "-s", "SCHEDULER_HOOKS=scheduler",
        "-s", "SCHEDULER_FLUSH_EVERY=50",
        env={"ANIMEREC_SCHEDULER_DB_URL": f"sqlite:///{db}"},
    )  # fmt: skip
    users = read(tmp_path, "user")
    assert [u["user_id"] for u in users] == ["sandshark"]
    assert len(read(tmp_path, "user_anime")) == 7  # a short load.json page: no second request
    assert recorded_mal.hits["/animelist/sandshark/load.json"] == 1
    assert len(read(tmp_path, "user_user")) == 100  # page 2 is the 2018 "past the end" 404
    assert recorded_mal.hits["/profile/morshuwarrior/friends"] == 1
    assert len(read(tmp_path, "user_history")) == 130
    errors = read(tmp_path, "crawl_error")
    assert [(e["url"], e["status_code"]) for e in errors] == [(f"{MAL}/profile/nobody_here", 404)]
    from crawler.scheduler import CrawlScheduler

    scheduler = CrawlScheduler(f"sqlite:///{db}")
    assert scheduler.row("profile", f"{MAL}/profile/sandshark")["crawled_count"] == 1
    assert scheduler.row("profile", f"{MAL}/profile/database_animal")["inspected_count"] == 1
    assert scheduler.row("anime", f"{MAL}/anime/1676")["inspected_count"] == 1
    # a 404 profile is never marked crawled; it is recorded as gone, so it backs off
    gone = scheduler.row("profile", f"{MAL}/profile/nobody_here")
    assert gone is not None and gone["last_crawled_date"] is None and gone["gone_count"] == 1
    assert [g["parent_id"] for g in read(tmp_path, "page_gone")] == ["nobody_here"]
    scheduler.dispose()


@pytest.mark.slow
def test_jikan_source_produces_the_same_items(recorded_mal: RecordedMal, tmp_path: Path) -> None:
    crawl(
        "anime",
        recorded_mal,
        tmp_path,
        "-a", f"urls={MAL}/anime/6",
        "-a", "source=jikan",
        "-s", "RETRY_TIMES=2",
    )  # fmt: skip
    (anime,) = read(tmp_path, "anime")
    assert (anime["source"], anime["title"], anime["url"]) == ("jikan", "Trigun", f"{MAL}/anime/6")
    assert read(tmp_path, "anime_stats")[0]["total_count"] == 2668437
    assert read(tmp_path, "anime_recommendation")[0]["num_recommenders"] == 174
    assert len(read(tmp_path, "anime_pics")) == 1
    (error,) = read(tmp_path, "crawl_error")  # Jikan's 500, after the retries gave up
    assert error["status_code"] == 500 and "Unhandled Exception" in error["reason"]
    assert recorded_mal.hits["/v4/anime/6/reviews"] == 3  # 1 + RETRY_TIMES


@pytest.mark.slow
def test_seed_spider_only_reports_urls(recorded_mal: RecordedMal, tmp_path: Path) -> None:
    crawl("seed", recorded_mal, tmp_path, "-a", f"urls={MAL}/topanime.php")
    found = read(tmp_path, "discovered_url")
    assert {(d["kind"], d["url"]) for d in found} >= {
        ("anime", f"{MAL}/anime/1"),
        ("anime", f"{MAL}/anime/5"),
    }
    assert not (tmp_path / "anime.jsonl").exists()
