"""The crawl web service: validation (422 for hostile input, never echoed), enqueue, crawl and
seed jobs (seeding from listing pages served over real HTTP), stats and health. Auth, limits and
the body cap are in test_service_guards.py."""

from __future__ import annotations

import http.server
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import test_scheduler_fixtures as fixtures
import test_worker_stub_spider as stub
import uvicorn
from fastapi.testclient import TestClient
from redis.backoff import NoBackoff
from redis.retry import Retry

from crawler.queue import CrawlQueue, InMemoryCrawlQueue
from crawler.scheduler import CrawlScheduler
from crawler.scheduler.seed import links_in, listing_paths, seed_scheduler
from crawler.service import create_app
from crawler.worker import SinkSettings

JOB_TIMEOUT_S = 30

anime, profile = fixtures.anime, fixtures.profile

TOP_ANIME_HTML = """<html><body><table>
<tr><td><a href="https://myanimelist.net/anime/5114/Fullmetal_Alchemist__Brotherhood">FMA</a></td></tr>
<tr><td><a href="/anime/9253/Steins_Gate">S;G</a>
<a href="/anime/9253/Steins_Gate/stats">x</a></td></tr>
<tr><td><a href='/anime/0/Zero'>bad id</a><a href="/anime/abc">bad</a></td></tr>
<tr><td><a href="/profile/Xinil">by</a><a href="/profile/a%20b">hostile</a></td></tr>
</table></body></html>"""
USERS_HTML = """<div><a href="/profile/Alice">Alice</a> <a href="/profile/Bob_2">Bob</a>
<a href="https://myanimelist.net/profile/Alice">again</a></div>"""


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[CrawlScheduler]:
    with fixtures.make_sqlite_scheduler(tmp_path) as made:
        yield made


@pytest.fixture
def queue() -> InMemoryCrawlQueue:
    return InMemoryCrawlQueue()


@pytest.fixture
def listing_site() -> Iterator[str]:
    """A real HTTP server with MAL-shaped listing pages."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/topanime.php"):
                body = TOP_ANIME_HTML
            elif self.path.startswith("/users.php"):
                body = USERS_HTML
            else:
                self.send_error(404)
                return
            payload = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(
    scheduler: CrawlScheduler, queue: InMemoryCrawlQueue, tmp_path: Path, listing_site: str
) -> TestClient:
    sink = SinkSettings(tmp_path / "items", spider_command=stub.command(fail_marker="/666"))

    def seeder(s: CrawlScheduler, kind: str, pages: int):  # type: ignore[no-untyped-def]
        return seed_scheduler(s, kind, pages, listing_site, delay_s=0, rng=random.Random(7))

    return TestClient(create_app(scheduler, queue, sink, seeder=seeder))


def finished_job(client: TestClient, reply: httpx.Response) -> dict:
    """Poll ``GET /jobs/{id}`` of a 202 reply until the job is done."""
    assert reply.status_code == 202, reply.text
    assert reply.headers["location"] == f"/jobs/{reply.json()['id']}"
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job = client.get(reply.headers["location"]).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job still {job['status']} after {JOB_TIMEOUT_S}s")


def test_enqueue_accepts_urls_usernames_and_ids_in_canonical_form(
    client: TestClient, queue: InMemoryCrawlQueue, scheduler: CrawlScheduler
) -> None:
    response = client.post(
        "/enqueue",
        json={
            "urls": [
                "https://myanimelist.net/profile/Alice",
                "Bob_2",
                "http://www.myanimelist.net/anime/1/Cowboy_Bebop/",
                20,
                "myanimelist.net/profile/Alice?tab=list",  # duplicate of the first
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "enqueued": 4,
        "already_queued": 0,
        "urls": [anime(1), anime(20), profile("alice"), profile("bob_2")],
    }
    assert queue.stats().backlog == 4
    assert scheduler.stats("profile").total == 2 and scheduler.stats("anime").total == 2
    digits = client.post("/enqueue", json={"urls": ["5114"], "kind": "anime"})
    assert digits.json()["urls"] == [anime(5114)]


@pytest.mark.parametrize(
    "body",
    [
        {"urls": ["Robert'); DROP TABLE profile_schedule;--"]},
        {"urls": ["<script>alert(1)</script>"]},
        {"urls": ["https://evil.example/profile/Alice"]},
        {"urls": ["https://myanimelist.net/profile/../../etc/passwd"]},
        {"urls": ["a" * 300]},
        {"urls": [""]},
        {"urls": [-5]},
        {"urls": [True]},
        {"urls": [1.5]},
        {"urls": [{"url": "x"}]},
        {"urls": []},
        {"urls": ["Alice"] * 101},
        {"urls": [12345678901]},  # 11 digits: more than any canonical anime URL holds
        {"urls": ["12345678901"], "kind": "anime"},
        {"urls": ["https://myanimelist.net/anime/123456789012345678901234"]},
        {"urls": [10**30]},
        {"urls": ["https://myanimelist.net/anime/1"], "kind": "profile"},
        {"urls": ["Alice"], "kind": "manga"},
        {},
    ],
)
def test_hostile_or_malformed_input_gets_422_and_changes_nothing(
    client: TestClient, body: dict, queue: InMemoryCrawlQueue, scheduler: CrawlScheduler
) -> None:
    good_and_bad = {**body, "urls": ["Alice", *body["urls"]]} if body.get("urls") else body
    response = client.post("/enqueue", json=good_and_bad)
    assert response.status_code == 422, response.text
    for value in body.get("urls", []):  # errors say where, never echo what
        if isinstance(value, str) and len(value) > 3 and value != "Alice":
            assert value not in response.text
    assert '"input"' not in response.text
    assert queue.stats().length == 0
    assert scheduler.stats("profile").total == 0


def test_crawl_is_a_job_with_item_counts(client: TestClient, scheduler: CrawlScheduler) -> None:
    reply = client.post("/crawl", json={"urls": [1, 666, "Alice"]})
    assert reply.json()["status"] in ("queued", "running")
    job = finished_job(client, reply)
    assert job["status"] == "succeeded", job
    assert job["result"] == {
        "items": {"anime": 1, "crawl_error": 1, "user": 1},
        "failed": [anime(666)],
    }
    assert "/" + "tmp" not in str(job) and "output" not in str(job)  # no server paths
    assert scheduler.stats("anime").crawled == 1 and scheduler.stats("profile").crawled == 1
    too_many = client.post("/crawl", json={"urls": list(range(1, 60))})
    assert too_many.status_code == 422


def test_a_failing_crawl_is_a_failed_job_without_details(
    scheduler: CrawlScheduler, tmp_path: Path
) -> None:
    sink = SinkSettings(tmp_path / "items", spider_command=stub.command(exit_code=2))
    client = TestClient(create_app(scheduler, InMemoryCrawlQueue(), sink, seeder=lambda *a: None))  # type: ignore[arg-type, return-value]
    job = finished_job(client, client.post("/crawl", json={"urls": [1]}))
    assert job["status"] == "failed" and job["result"] is None
    assert job["error"] == "the crawl failed; see the service log"
    assert str(tmp_path) not in str(job)
    assert scheduler.stats("anime").crawled == 0
    assert client.get("/jobs/" + "0" * 32).status_code == 404
    assert client.get("/jobs/../../etc/passwd").status_code == 404
    assert client.get("/jobs/not-a-job-id").status_code == 422


def test_seed_is_a_job_inserting_listed_urls_only(
    client: TestClient, scheduler: CrawlScheduler
) -> None:
    job = finished_job(client, client.post("/seed", json={"kind": "anime", "pages": 2}))
    assert job["status"] == "succeeded", job
    assert job["result"]["found"] == {"anime": 2, "profile": 1}
    assert job["result"]["inserted"] == {"anime": 2, "profile": 1}
    assert scheduler.row("anime", anime(9253)) == {
        "url": anime(9253),
        "last_scheduled_date": None,
        "scheduled_count": None,
        "last_crawled_date": None,
        "crawled_count": None,
        "last_inspected_date": None,
        "inspected_count": None,
        "last_gone_date": None,
        "gone_count": None,
    }
    users = finished_job(client, client.post("/seed", json={"kind": "profile", "pages": 1}))
    assert users["result"]["inserted"] == {"profile": 2}
    assert client.post("/seed", json={"kind": "profile", "pages": 0}).status_code == 422
    assert client.post("/seed", json={"kind": "users", "pages": 1}).status_code == 422


def test_seed_helpers() -> None:
    assert links_in(USERS_HTML) == {"anime": [], "profile": [profile("Alice"), profile("Bob_2")]}
    paths = listing_paths("anime", 3, random.Random(1))
    assert len(set(paths)) == 3 and all(p.startswith("/topanime.php?limit=") for p in paths)
    with pytest.raises(ValueError):
        listing_paths("anime", 0, random.Random(1))


def test_stats_and_health(client: TestClient) -> None:
    client.post("/enqueue", json={"urls": ["Alice"]})
    stats = client.get("/stats").json()
    assert stats["scheduler"]["profile"]["total"] == 1
    assert stats["queue"]["backlog"] == 1
    assert client.get("/health").json() == {"status": "ok", "scheduler": "ok", "queue": "ok"}


def test_health_reports_a_dead_redis_as_503(scheduler: CrawlScheduler, tmp_path: Path) -> None:
    dead = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    queue = CrawlQueue.__new__(CrawlQueue)  # a queue whose server is gone after start-up
    queue.redis, queue.stream, queue.group = dead, "s", "g"
    queue.dead_letter_stream = "s:dead"
    app = create_app(scheduler, queue, SinkSettings(tmp_path), seeder=lambda *a: None)  # type: ignore[arg-type, return-value]
    response = TestClient(app).get("/health")
    assert response.status_code == 503
    assert response.json()["detail"]["queue"].startswith("error")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_over_real_http_with_the_redis_queue(
    scheduler: CrawlScheduler, redis_server_url: str, tmp_path: Path
) -> None:
    queue = CrawlQueue(
        redis.Redis.from_url(redis_server_url), stream=f"test:svc:{uuid.uuid4().hex[:8]}"
    )
    app = create_app(scheduler, queue, SinkSettings(tmp_path), seeder=lambda *a: None)  # type: ignore[arg-type, return-value]
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        reply = httpx.post(
            f"{base}/enqueue", json={"urls": ["https://myanimelist.net/profile/Zed"]}
        )
        assert reply.json() == {"enqueued": 1, "already_queued": 0, "urls": [profile("zed")]}
        again = httpx.post(f"{base}/enqueue", json={"urls": ["ZED", "zed"]})
        assert again.json() == {"enqueued": 0, "already_queued": 1, "urls": [profile("zed")]}
        assert [m.url for m in queue.read("w", count=5)] == [profile("zed")]
        assert httpx.post(f"{base}/enqueue", json={"urls": ["Zed Zed"]}).status_code == 422
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        queue.delete()


def test_profile_status_says_queued_then_crawled_and_hides_opt_outs(
    client: TestClient, scheduler: CrawlScheduler
) -> None:
    unknown = client.get("/profiles/Somebody")
    assert unknown.status_code == 200
    assert unknown.json()["known"] is False
    assert unknown.json()["url"] == "https://myanimelist.net/profile/somebody"
    assert (
        client.post("/enqueue", json={"urls": ["Somebody"], "kind": "profile"}).json()["enqueued"]
        == 1
    )
    queued = client.get("/profiles/SOMEBODY").json()
    assert queued["known"] is True and queued["last_crawled_at"] is None
    scheduler.mark_crawled("profile", ["https://myanimelist.net/profile/somebody"])
    crawled = client.get("/profiles/somebody").json()
    assert crawled["last_crawled_at"] is not None and crawled["crawled_count"] == 1
    # an opted-out user reads like one waiting for a crawl: no oracle of the opt-out
    scheduler.opt_out(["somebody"])
    assert client.get("/profiles/somebody").json() == {
        "url": "https://myanimelist.net/profile/somebody",
        "known": True,
        "last_scheduled_at": None,
        "last_crawled_at": None,
        "crawled_count": 0,
    }
    for hostile in ("a", "x" * 17, "bad name", "..%2F..%2Fadmin", "<script>"):
        reply = client.get(f"/profiles/{hostile}")
        assert reply.status_code in (404, 422), hostile
        assert "script" not in reply.text
