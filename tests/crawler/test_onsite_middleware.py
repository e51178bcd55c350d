"""The crawler stays on MAL: a real Scrapy crawl against two loopback servers.

The "MAL" server answers some pages with redirects to a second server (another port of
127.0.0.1, or the same port under another host name), redirects robots.txt there too, and
redirects one page to a page no parser reads. The second server counts every request it gets:
it must get none. Every page that was not read must leave a crawl_error naming the URL that was
asked for, so the worker never marks it crawled.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.http import Request
from scrapy.spiders import Spider
from scrapy.utils.test import get_crawler

from crawler.middlewares import OnSiteMiddleware, netloc_of
from crawler.worker import SinkSettings, crawl_batch

MAL = "https://myanimelist.net"
PROFILE_PAGE = """<html><head><title>{name}'s Profile - MyAnimeList.net</title></head><body>
<div id="contentWrapper"><h1><span class="di-ib po-r">{name}'s Profile</span></h1>
<div id="content"><ul class="user-status"><li><span class="user-status-title">Joined</span>
<span class="user-status-data">Jan 1, 2020</span></li></ul>
<div class="stats anime"><ul class="stats-status"><li>
<a class="circle anime completed num_completed">Completed</a><span>12</span></li></ul></div>
</div></div></body></html>"""


class Recorder:
    """Requests one server received (path and Host header), thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []

    def add(self, path: str, host: str) -> None:
        with self.lock:
            self.requests.append((path, host))


def serve(routes: Any, recorder: Recorder) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorder.add(self.path, self.headers.get("Host", ""))
            status, headers, body = routes(self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def two_hosts() -> Iterator[tuple[str, str, Recorder, Recorder]]:
    """(MAL base URL, other base URL, MAL's recorder, the other host's recorder)."""
    mal_log, other_log = Recorder(), Recorder()
    other, other_thread = serve(lambda path: (200, {}, b"secret admin page"), other_log)
    other_base = f"http://127.0.0.1:{other.server_address[1]}"
    ports: dict[str, int] = {}
    damaged: dict[str, int] = {"count": 0}

    def mal_routes(path: str) -> tuple[int, dict[str, str], bytes]:
        here = f"127.0.0.1:{ports['mal']}"
        html = {"Content-Type": "text/html; charset=utf-8"}
        if path == "/robots.txt":
            return 302, {"Location": f"{other_base}/robots.txt"}, b""
        if path == "/profile/offhost":
            return 302, {"Location": f"{other_base}/internal/admin"}, b""
        if path == "/profile/schemeless":
            return 301, {"Location": f"//127.0.0.1:{other.server_address[1]}/x"}, b""
        if path == "/profile/hostname":  # same port, another host name: still another host
            return 302, {"Location": f"http://localhost:{ports['mal']}/profile/hostname2"}, b""
        if path == "/profile/chain":  # on-host hop first, then off-host
            return 302, {"Location": f"http://{here}/profile/chain_2"}, b""
        if path == "/profile/chain_2":
            return 307, {"Location": f"{other_base}/internal/chain"}, b""
        if path == "/profile/dupe":  # on-host, to a page this crawl also asked for
            return 302, {"Location": f"http://{here}/profile/Good_One"}, b""
        if path == "/profile/login":
            return 302, {"Location": "/login.php?from=profile"}, b""
        if path == "/login.php?from=profile":
            return 200, html, b"<html><body>Log in</body></html>"
        if path == "/profile/damaged":  # truncated once; the retry (dont_filter) redirects away
            damaged["count"] += 1
            if damaged["count"] == 1:
                return 200, html, b"<html><body><div id='content'>cut sh"
            return 302, {"Location": f"{other_base}/after-retry"}, b""
        if path.lower() == "/profile/good_one":  # MAL answers any case of a username
            return 200, html, PROFILE_PAGE.format(name="Good_One").encode()
        return 404, html, b"<html><body>not found</body></html>"

    mal, mal_thread = serve(mal_routes, mal_log)
    ports["mal"] = mal.server_address[1]
    try:
        yield f"http://127.0.0.1:{ports['mal']}", other_base, mal_log, other_log
    finally:
        for server, thread in ((mal, mal_thread), (other, other_thread)):
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


BAD = ["offhost", "schemeless", "hostname", "chain", "login", "damaged", "dupe"]


@pytest.mark.slow
def test_crawl_fetches_nothing_off_host(
    two_hosts: tuple[str, str, Recorder, Recorder],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mal_base, _, mal_log, other_log = two_hosts
    monkeypatch.setenv("ANIMEREC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ANIMEREC_MAL_BASE_URL", mal_base)
    monkeypatch.setenv("ANIMEREC_JIKAN_BASE_URL", mal_base + "/v4")
    urls = [f"{MAL}/profile/{name}" for name in [*BAD, "Good_One"]]
    sink = SinkSettings(
        output_dir=tmp_path / "out",
        scrapy_settings={
            "DOWNLOAD_DELAY": "0",
            "AUTOTHROTTLE_ENABLED": "False",
            "ANIMEREC_SINKS": "",
            "ANIMEREC_MAX_PAGES": json.dumps({"animelist": 1, "profile_friends": 1}),
            "RETRY_ENABLED": "False",
        },
        timeout_s=120,
    )
    result = crawl_batch("profile", urls, sink)
    items = [json.loads(line) for line in result.output_path.read_text().splitlines()]

    assert other_log.requests == []  # nothing off-host, not even robots.txt
    assert not any(host.startswith("localhost") for _, host in mal_log.requests)
    errors = {item["url"]: item["reason"] for item in items if item["item_type"] == "crawl_error"}
    for name in BAD:
        assert f"{MAL}/profile/{name}" in errors, name
    assert "off-host redirect (302)" in errors[f"{MAL}/profile/offhost"]
    assert "off-host redirect (301)" in errors[f"{MAL}/profile/schemeless"]
    assert "to localhost:" in errors[f"{MAL}/profile/hostname"]
    assert "off-host redirect (302,307)" in errors[f"{MAL}/profile/chain"]
    assert "unroutable page: redirected to" in errors[f"{MAL}/profile/login"]
    assert "redirected to another profile" in errors[f"{MAL}/profile/dupe"]
    assert "after-retry" not in json.dumps(items)  # the retry was refused before fetching
    # the requested URLs that were not read are failed, never "crawled"
    assert set(result.failed_urls) == {f"{MAL}/profile/{name}" for name in BAD}
    assert result.crawled_urls == [f"{MAL}/profile/good_one"]  # keyed in lower case
    users = [item for item in items if item["item_type"] == "user"]
    assert [(u["user_id"], u["num_completed"]) for u in users] == [("Good_One", 12)]


def _middleware(hosts: list[str]) -> OnSiteMiddleware:
    crawler = get_crawler(Spider, {"ANIMEREC_CRAWL_HOSTS": hosts})
    crawler.spider = Spider("t")
    return OnSiteMiddleware.from_crawler(crawler)


def test_scrapy_offsite_compares_host_names_only() -> None:
    """Why the project's middleware replaces Scrapy's: another port of the same host passes,
    and ``dont_filter`` requests pass whatever their host."""
    crawler = get_crawler(Spider)
    spider = Spider("t", allowed_domains=["127.0.0.1"])
    crawler.spider = spider
    scrapy_offsite = OffsiteMiddleware.from_crawler(crawler)
    scrapy_offsite.spider_opened(spider)
    assert scrapy_offsite.should_follow(Request("http://127.0.0.1:1/admin"), spider)
    ours = _middleware(["127.0.0.1:8900"])
    assert not ours.should_follow(Request("http://127.0.0.1:1/admin"))
    assert ours.should_follow(Request("http://127.0.0.1:8900/anime/1"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8901/anime/1",
        "http://localhost:8900/anime/1",
        "https://myanimelist.net.evil.example/anime/1",
        "https://evil.example/myanimelist.net/anime/1",
        "http://user@evil.example/",
        "https://cdn.myanimelist.net/images/x.jpg",
    ],
)
def test_refuses_every_other_host_even_dont_filter(url: str) -> None:
    middleware = _middleware(["127.0.0.1:8900", "myanimelist.net"])
    with pytest.raises(Exception, match="off-host request"):
        middleware.process_request(Request(url, dont_filter=True, meta={"allow_offsite": True}))


def test_allowed_hosts_default_ports() -> None:
    middleware = _middleware(["myanimelist.net", "127.0.0.1:8900"])
    assert middleware.process_request(Request("https://myanimelist.net:443/anime/1")) is None
    assert middleware.process_request(Request("https://MyAnimeList.net/anime/1")) is None
    assert netloc_of("http://127.0.0.1:80/x") == "127.0.0.1"
    assert netloc_of("http://[::1]:99999/") == ""  # an invalid port is no host at all
