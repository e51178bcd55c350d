"""The real Redis server for the API tests, under a key prefix of its own per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis


@pytest.fixture
def api_redis(redis_server_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server_url)
    yield client
    client.close()


@pytest.fixture
def api_prefix(api_redis: redis.Redis) -> Iterator[str]:
    prefix = f"tapi{uuid.uuid4().hex[:10]}"
    yield prefix
    keys = list(api_redis.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        api_redis.unlink(*keys)
