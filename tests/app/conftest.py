"""An ANIMEREC_HOME whose embedded Redis holds a published version, and local cover images."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import redis

from animerec_assets.lib.redis_conn import connect, stop_embedded_redis
from animerec_assets.lib.serving import publish
from animerec_assets.lib.serving.synthetic import (
    synthetic_anime,
    synthetic_similar,
    synthetic_user_recommendations,
)
from app.launch import free_port

N_USERS = 40
N_ANIME = 200
# crawled titles carrying Markdown and HTML (issue 12); User_1's top 20 are all such anime
HOSTILE_TITLES = (
    "Bebop\n\n![p](http://x/p.png) [Log in](http://x/login)",
    "<img src=x onerror=alert(1)>\n\n**bold** <a href='http://x/a'>link</a>",
)
HOSTILE_ANIME_IDS = tuple(range(150, 170))


@dataclass(frozen=True)
class SeededHome:
    home: Path
    client: redis.Redis
    anime: pd.DataFrame


class _CoverHandler(BaseHTTPRequestHandler):
    """Serves a generated PNG cover for /cover/{n}.png (the test machine has no internet)."""

    cache: dict[int, bytes] = {}  # noqa: RUF012

    def do_GET(self) -> None:
        from PIL import Image, ImageDraw, ImageOps

        name = self.path.rsplit("/", 1)[-1].removesuffix(".png")
        number = int(name) if name.isdigit() else 0
        if number not in self.cache:
            top = ((number * 67) % 200 + 30, (number * 29) % 120 + 40, (number * 13) % 90 + 110)
            gradient = Image.linear_gradient("L").resize((225, 320))
            image = ImageOps.colorize(gradient, black=top, white=(250, 240, 235))
            draw = ImageDraw.Draw(image)
            draw.ellipse((130, 40, 200, 110), fill=(255, 255, 255))
            draw.text((16, 290), f"cover #{number}", fill=(60, 60, 80))
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            self.cache[number] = buffer.getvalue()
        body = self.cache[number]
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def cover_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CoverHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def seeded_anime(cover_base_url: str) -> pd.DataFrame:
    anime = synthetic_anime(N_ANIME)
    # covers where the replica serves them: /images/ on the crawled site (ANIMEREC_MAL_BASE_URL)
    anime["main_pic"] = [f"{cover_base_url}/images/anime/{i}/{i}.png" for i in anime["anime_id"]]
    # hostile titles must show as text, never as markup
    anime.loc[0, "title"] = "<script>alert('x')</script> Evil & Co"
    anime.loc[1, "title"] = "Cowboy Bebop"
    for offset, anime_id in enumerate(HOSTILE_ANIME_IDS):
        row = anime.index[anime["anime_id"] == anime_id][0]
        anime.loc[row, "title"] = HOSTILE_TITLES[offset % 2] + f" {offset}"
        if offset % 2:  # a cover that is not on MAL's CDN nor the crawled site
            anime.loc[row, "main_pic"] = "http://x/p.png"
    return anime


@pytest.fixture(scope="session")
def seeded_home(cover_server: str) -> Iterator[SeededHome]:
    home = Path(tempfile.mkdtemp(prefix="arA-", dir="/tmp"))
    client = connect(None, home / "redis")
    anime = seeded_anime(cover_server)
    recs = synthetic_user_recommendations(N_USERS, N_ANIME)
    recs.loc[recs["user_id"] == "User_0", "anime_id"] = range(1, 21)  # shows the hostile title
    recs.loc[recs["user_id"] == "User_1", "anime_id"] = HOSTILE_ANIME_IDS
    publish(client, recs, synthetic_similar(N_ANIME), anime, model_version="browser-test")
    yield SeededHome(home, client, anime)
    try:
        client.shutdown(nosave=True)
    except redis.RedisError:
        stop_embedded_redis(home / "redis")
    shutil.rmtree(home, ignore_errors=True)


def app_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment the app subprocess runs with: only this home's Redis."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "ANIMEREC_ENV")}
    env.update(ANIMEREC_HOME=str(home), ANIMEREC_ENV="local", **extra)
    return env


@pytest.fixture(scope="session")
def app_env_for():
    """``app_env`` as a fixture, for test modules (they cannot import conftest)."""
    return app_env


@pytest.fixture
def serving_empty_client(seeded_home) -> redis.Redis:
    """A Redis client on a database where nothing was published (db 1 of the same server)."""
    socket_path = seeded_home.client.connection_pool.connection_kwargs["path"]
    client = redis.Redis(unix_socket_path=socket_path, db=1)
    client.flushdb()
    return client


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (Debian's), one per test module."""
    from app_browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page; JavaScript dialogs are collected (and dismissed)."""
    from app_browser import TIMEOUT_MS

    context = browser.new_context(viewport={"width": 1280, "height": 1500})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    yield page
    context.close()


@dataclass(frozen=True)
class AppWorld:
    home: Path
    client: redis.Redis
    version: str


def _published_world_home(cover_server: str, name: str) -> tuple[Path, redis.Redis, str]:
    from app_world import publish_app_world

    home = Path(tempfile.mkdtemp(prefix=name, dir="/tmp"))
    client = connect(None, home / "redis")
    return home, client, publish_app_world(client, cover_server)


def _stop_world(home: Path, client: redis.Redis) -> None:
    try:
        client.shutdown(nosave=True)
    except redis.RedisError:  # already stopped (a test took it down): make sure it is gone
        stop_embedded_redis(home / "redis")
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def app_world(cover_server: str) -> Iterator[AppWorld]:
    """A demo-sized world (tests/support/app_world.py) published into a real Redis server of
    its own (the embedded one, on a unix socket under a fresh ANIMEREC_HOME)."""
    home, client, version = _published_world_home(cover_server, "arW-")
    yield AppWorld(home, client, version)
    _stop_world(home, client)


@pytest.fixture
def own_world(cover_server: str) -> Iterator[AppWorld]:
    """Like ``app_world``, for one test that changes it (publishes again, stops its Redis)."""
    home, client, version = _published_world_home(cover_server, "arD-")
    yield AppWorld(home, client, version)
    _stop_world(home, client)


@dataclass(frozen=True)
class CrawlService:
    url: str
    queue: Any  # crawler.queue.InMemoryCrawlQueue
    scheduler: Any  # crawler.scheduler.CrawlScheduler
    token: str = "app-token-" + "z" * 22


@pytest.fixture
def crawl_service(tmp_path: Path) -> Iterator[CrawlService]:
    """The real crawl web service (uvicorn on a free port) over a SQLite scheduler."""
    import uvicorn

    from crawler.queue import InMemoryCrawlQueue
    from crawler.scheduler import CrawlScheduler
    from crawler.service import ServiceConfig, create_app
    from crawler.worker import SinkSettings

    scheduler = CrawlScheduler(f"sqlite:///{tmp_path / 'scheduler.sqlite'}")
    scheduler.create_tables()
    queue = InMemoryCrawlQueue()
    config = ServiceConfig(token=CrawlService.token)
    app = create_app(
        scheduler, queue, SinkSettings(tmp_path), seeder=lambda *a: None, config=config
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/docs", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield CrawlService(url, queue, scheduler)
    server.should_exit = True
    thread.join(timeout=10)
