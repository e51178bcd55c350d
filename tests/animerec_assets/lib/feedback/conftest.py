"""Feedback tests run against both real Redis servers: this machine's server and the embedded
one the local environment starts, each under a key root of its own per test."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from animerec_assets.lib.feedback.stream import FeedbackKeys
from animerec_assets.lib.redis_conn import connect, stop_embedded_redis


@pytest.fixture(scope="session")
def embedded_feedback_redis() -> Iterator[redis.Redis]:
    home = Path(tempfile.mkdtemp(prefix="arFb-", dir="/tmp"))
    client = connect(None, home / "redis")
    yield client
    try:
        client.shutdown(nosave=True)
    except redis.RedisError:
        stop_embedded_redis(home / "redis")
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(params=["server", "embedded"])
def feedback_redis(request: pytest.FixtureRequest) -> Iterator[redis.Redis]:
    if request.param == "server":
        client = redis.Redis.from_url(request.getfixturevalue("redis_server_url"))
        yield client
        client.close()
    else:
        yield request.getfixturevalue("embedded_feedback_redis")


@pytest.fixture
def feedback_keys(feedback_redis: redis.Redis) -> Iterator[FeedbackKeys]:
    keys = FeedbackKeys(f"tfb{uuid.uuid4().hex[:10]}:feedback")
    yield keys
    found = list(feedback_redis.scan_iter(match=f"{keys.root}:*", count=1000))
    if found:
        feedback_redis.unlink(*found)
