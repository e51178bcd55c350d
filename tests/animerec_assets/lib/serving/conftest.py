"""A real (embedded) redis-server for the serving tests, and a fresh key prefix per test."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from animerec_assets.lib.redis_conn import connect, stop_embedded_redis
from animerec_assets.lib.serving.synthetic import (
    synthetic_anime,
    synthetic_similar,
    synthetic_user_recommendations,
)


@pytest.fixture(scope="session")
def serving_redis_dir() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="arF-", dir="/tmp"))
    yield home / "redis"
    shutdown_quickly(home / "redis")
    shutil.rmtree(home, ignore_errors=True)


def shutdown_quickly(redis_dir: Path) -> None:
    """Stop the test server without saving its throwaway data to disk."""
    try:
        connect(None, redis_dir, check=False).shutdown(nosave=True)
    except redis.RedisError:
        stop_embedded_redis(redis_dir)


@pytest.fixture(scope="session")
def serving_redis(serving_redis_dir: Path) -> redis.Redis:
    return connect(None, serving_redis_dir)


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def small_model_output() -> tuple:
    """(user recs, similar, anime) for 200 users over 300 anime."""
    anime = synthetic_anime(300)
    return (
        synthetic_user_recommendations(200, 300),
        synthetic_similar(300),
        anime,
    )
