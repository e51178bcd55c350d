"""Workers wait out a Redis restart (with or without its data) and keep consuming; a worker whose
consumers all gave up exits non-zero, so Kubernetes restarts it. Real redis-server processes
of the test's own, killed with SIGKILL and started again on the same port."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import test_scheduler_fixtures as fixtures
import test_worker_stub_spider as stub

from crawler.queue import CrawlQueue
from crawler.worker import backoff_s

REPO_ROOT = Path(__file__).resolve().parents[2]
STREAM, GROUP = "test:resilience", "workers"
anime = fixtures.anime


def _crawled(out: Path) -> set[str]:
    return {
        json.loads(line)["url"]
        for path in out.glob("*.jsonl")
        for line in path.read_text().splitlines()
        if line
    }


def _worker(url: str, out: Path, give_up_after_s: float = 120) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "animerec_cli.main", "crawl", "worker", "--redis-url", url,
        "--stream", STREAM, "--group", GROUP, "--consumer-prefix", "survivor",
        "--batch-size", "4", "--block-ms", "200", "--no-mark-crawled", "--output-dir", str(out),
        "--spider-command", stub.command(), "--give-up-after-s", str(give_up_after_s),
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _enqueue(url: str, numbers: range) -> None:
    client = redis.Redis.from_url(url)
    CrawlQueue(client, STREAM, GROUP).enqueue("anime", [anime(i) for i in numbers])
    client.close()


def _drained(url: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return CrawlQueue(client, STREAM, GROUP).stats().length == 0
    finally:
        client.close()


def test_backoff_grows_and_is_capped() -> None:
    assert 0.25 <= backoff_s(1) <= 0.5
    assert 4.0 <= backoff_s(5) <= 8.0
    assert backoff_s(40) <= 30.0


@pytest.mark.slow
def test_a_worker_survives_redis_restarts_with_and_without_its_data(private_redis, tmp_path):
    out = tmp_path / "items"
    _enqueue(private_redis.url, range(1, 5))
    worker = _worker(private_redis.url, out)
    try:
        _wait_for(lambda: _crawled(out) == {anime(i) for i in range(1, 5)}, 60, "batch 1")
        _wait_for(lambda: _drained(private_redis.url), 10, "batch 1 acknowledged")
        time.sleep(1.2)  # appendfsync everysec: the group is on disk

        private_redis.kill()  # the server restarts with its data (append-only file)
        time.sleep(3)  # the worker's reads fail meanwhile
        assert worker.poll() is None
        private_redis.start()
        _enqueue(private_redis.url, range(5, 9))
        _wait_for(lambda: anime(8) in _crawled(out), 60, "batch 2 after a restart")

        private_redis.kill()  # the server comes back empty: no stream, no group
        shutil.rmtree(private_redis.directory)
        time.sleep(2)
        private_redis.start()
        _enqueue(private_redis.url, range(9, 13))
        _wait_for(lambda: anime(12) in _crawled(out), 60, "batch 3 after losing the group")
        _wait_for(lambda: _drained(private_redis.url), 10, "batch 3 acknowledged")
        assert _crawled(out) == {anime(i) for i in range(1, 13)}

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        report = worker.stderr.read() if worker.stderr else ""
        summary = re.findall(r"survivor-0: \{.*'errors': (\d+)", report)
        assert summary, report[-3000:]
        errors = int(summary[-1])
        assert errors >= 1, report[-3000:]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
            print(worker.stderr.read() if worker.stderr else "")


@pytest.mark.slow
def test_a_worker_whose_consumers_all_gave_up_exits_non_zero(private_redis, tmp_path):
    out = tmp_path / "items"
    _enqueue(private_redis.url, range(1, 2))
    worker = _worker(private_redis.url, out, give_up_after_s=2)
    try:
        _wait_for(lambda: _crawled(out) == {anime(1)}, 60, "the worker reading the queue")
        private_redis.kill()  # and never back
        assert worker.wait(timeout=60) == 1
        assert "every consumer died" in (worker.stderr.read() if worker.stderr else "")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
            print(worker.stderr.read() if worker.stderr else "")
