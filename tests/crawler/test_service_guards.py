"""What stands between the crawl service and an anonymous caller: bearer auth, per-client rate
limits, the body cap, the bound on crawl jobs, and a /health that answers while crawls run.
Over real HTTP (uvicorn on loopback) with the real Redis queue where the transport matters."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis
import test_scheduler_fixtures as fixtures
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from animerec_assets.settings import load_settings
from crawler.queue import CrawlQueue, InMemoryCrawlQueue
from crawler.scheduler import CrawlScheduler
from crawler.service import ServiceConfig, ServiceError, config_from_settings, create_app
from crawler.worker import BatchResult, SinkSettings

TOKEN = "t0ken-" + "x" * 26
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[CrawlScheduler]:
    with fixtures.make_sqlite_scheduler(tmp_path) as made:
        yield made


def no_seeder(*_args: object) -> None:
    raise AssertionError("not used here")


def make_app(
    scheduler: CrawlScheduler, tmp_path: Path, config: ServiceConfig, crawl=None, queue=None
) -> FastAPI:  # type: ignore[no-untyped-def]
    extra = {"crawl": crawl} if crawl else {}
    return create_app(
        scheduler,
        queue or InMemoryCrawlQueue(),
        SinkSettings(tmp_path / "items"),
        seeder=no_seeder,  # type: ignore[arg-type]
        config=config,
        **extra,
    )


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn on a free loopback port; stopped on every exit path."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_every_endpoint_but_health_wants_the_token(
    scheduler: CrawlScheduler, tmp_path: Path
) -> None:
    client = TestClient(make_app(scheduler, tmp_path, ServiceConfig(token=TOKEN)))
    calls = [
        ("GET", "/stats", None),
        ("POST", "/enqueue", {"urls": ["Alice"]}),
        ("POST", "/crawl", {"urls": [1]}),
        ("POST", "/seed", {"kind": "anime", "pages": 1}),
        ("GET", "/jobs/" + "0" * 32, None),
    ]
    for method, path, body in calls:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (path, headers, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
    assert scheduler.stats("profile").total == 0 and scheduler.stats("anime").total == 0
    assert client.get("/health").status_code == 200
    assert client.post("/enqueue", json={"urls": ["Alice"]}, headers=AUTH).status_code == 200
    assert client.get("/stats", headers=AUTH).json()["scheduler"]["profile"]["total"] == 1
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_production_refuses_to_start_without_a_token(
    monkeypatch: pytest.MonkeyPatch, prod_env: dict[str, str]
) -> None:
    for name, value in prod_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ANIMEREC_SERVICE_TOKEN", raising=False)
    with pytest.raises(ServiceError, match="ANIMEREC_SERVICE_TOKEN"):
        config_from_settings(load_settings())
    monkeypatch.setenv("ANIMEREC_SERVICE_TOKEN", "short")
    with pytest.raises(ServiceError, match="at least"):
        config_from_settings(load_settings())
    monkeypatch.setenv("ANIMEREC_SERVICE_TOKEN", TOKEN)
    assert config_from_settings(load_settings()).token == TOKEN
    assert TOKEN not in repr(load_settings()) and TOKEN not in repr(ServiceConfig(token=TOKEN))


def test_rate_limits_are_per_client_and_say_when_to_retry(
    scheduler: CrawlScheduler, tmp_path: Path
) -> None:
    config = ServiceConfig(enqueue_rate="3/minute", read_rate="2/minute")
    client = TestClient(make_app(scheduler, tmp_path, config))
    codes = [client.post("/enqueue", json={"urls": [f"user{i}"]}).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    refused = client.post("/enqueue", json={"urls": ["user9"]})
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert scheduler.stats("profile").total == 3  # refused calls changed nothing
    assert [client.get("/stats").status_code for _ in range(3)] == [200, 200, 429]
    other = TestClient(make_app(scheduler, tmp_path, config), client=("10.0.0.2", 5000))
    assert other.post("/enqueue", json={"urls": ["user9"]}).status_code == 200
    assert all(client.get("/health").status_code == 200 for _ in range(10))  # never limited


def test_a_large_body_is_refused_before_it_is_read(
    scheduler: CrawlScheduler, tmp_path: Path
) -> None:
    app = make_app(scheduler, tmp_path, ServiceConfig(max_body_bytes=4096))
    hostile = '{"urls": ["' + "A" * 10_000_000 + '"]}'
    with served(app) as base:
        declared = httpx.post(
            f"{base}/enqueue", content=hostile, headers={"Content-Type": "application/json"}
        )
        assert declared.status_code == 413
        assert len(declared.content) < 200 and "AAAA" not in declared.text

        def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts received bytes
            data = hostile.encode()
            for start in range(0, len(data), 65536):
                yield data[start : start + 65536]

        chunked = httpx.post(
            f"{base}/enqueue", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert chunked.status_code == 413
        fine = httpx.post(f"{base}/enqueue", json={"urls": ["Alice"]})
        assert fine.status_code == 200
    assert scheduler.stats("profile").total == 1


def test_crawl_jobs_are_bounded_and_health_answers_while_they_run(
    scheduler: CrawlScheduler, tmp_path: Path, redis_server_url: str
) -> None:
    release = threading.Event()
    running = threading.Semaphore(0)

    def slow_crawl(kind, urls, sink):  # type: ignore[no-untyped-def]
        running.release()
        release.wait(30)
        return BatchResult(kind, urls, tmp_path / "out.jsonl", {"anime": len(urls)}, [])

    client_redis = redis.Redis.from_url(redis_server_url)
    queue = CrawlQueue(client_redis, stream=f"test:svc:{uuid.uuid4().hex[:8]}")
    config = ServiceConfig(max_concurrent_jobs=1, max_waiting_jobs=1, job_rate="100/minute")
    app = make_app(scheduler, tmp_path, config, crawl=slow_crawl, queue=queue)
    try:
        with served(app) as base:
            first = httpx.post(f"{base}/crawl", json={"urls": [1]})
            second = httpx.post(f"{base}/crawl", json={"urls": [2]})
            third = httpx.post(f"{base}/crawl", json={"urls": [3]})
            assert [first.status_code, second.status_code, third.status_code] == [202, 202, 429]
            assert running.acquire(timeout=10)
            assert httpx.get(f"{base}{second.headers['location']}").json()["status"] == "queued"
            assert httpx.get(f"{base}{first.headers['location']}").json()["status"] == "running"
            started = time.monotonic()
            for _ in range(20):
                assert httpx.get(f"{base}/health", timeout=2).json()["status"] == "ok"
            assert time.monotonic() - started < 5
            release.set()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                job = httpx.get(f"{base}{second.headers['location']}").json()
                if job["status"] == "succeeded":
                    break
                time.sleep(0.05)
            assert job["result"] == {"items": {"anime": 1}, "failed": []}
            assert httpx.post(f"{base}/crawl", json={"urls": [4]}).status_code == 202
    finally:
        release.set()
        queue.delete()
        client_redis.close()


def test_a_full_queue_is_a_503_and_nothing_is_dropped(
    scheduler: CrawlScheduler, tmp_path: Path
) -> None:
    queue = InMemoryCrawlQueue(max_length=2)
    client = TestClient(make_app(scheduler, tmp_path, ServiceConfig(), queue=queue))
    assert client.post("/enqueue", json={"urls": ["a1", "a2"]}).json()["enqueued"] == 2
    full = client.post("/enqueue", json={"urls": ["a3"]})
    assert full.status_code == 503 and full.headers["retry-after"] == "60"
    assert client.post("/enqueue", json={"urls": ["A1"]}).json() == {
        "enqueued": 0,
        "already_queued": 1,
        "urls": [fixtures.profile("a1")],
    }
    assert queue.stats().length == 2


def test_token_guessing_is_rate_limited_too(scheduler: CrawlScheduler, tmp_path: Path) -> None:
    config = ServiceConfig(token=TOKEN, enqueue_rate="3/minute")
    client = TestClient(make_app(scheduler, tmp_path, config))
    guesses = [
        client.post("/enqueue", json={"urls": ["Alice"]}, headers={"Authorization": f"Bearer {g}"})
        for g in ("a", "b", "c", "d")
    ]
    assert [r.status_code for r in guesses] == [401, 401, 401, 429]
    garbage = client.post("/crawl", content=b"\xff{not json", headers={"Authorization": "x"})
    assert garbage.status_code == 401  # refused from the headers: the body is never parsed
