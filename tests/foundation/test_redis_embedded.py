"""The embedded Redis default: a real redis-server that starts, answers and stops cleanly."""

from __future__ import annotations

import redis

from animerec_assets.lib.redis_conn import (
    RedisUnavailableError,
    connect,
    embedded_socket_path,
    ensure_embedded_redis,
    redis_client,
    stop_embedded_redis,
)


def test_embedded_redis_starts_answers_and_stops(animerec_home):
    client = redis_client()  # no REDIS_URL: starts the bundled server
    assert client.ping()
    client.set("animerec:test", "value")
    assert client.get("animerec:test") == b"value"
    socket_path = embedded_socket_path(animerec_home / "redis")
    assert socket_path.exists()
    # A second caller (e.g. the app in another process) reuses the running server.
    assert ensure_embedded_redis(animerec_home / "redis") == f"unix://{socket_path}"
    assert stop_embedded_redis(animerec_home / "redis") is True
    assert not socket_path.exists()
    assert stop_embedded_redis(animerec_home / "redis") is False


def test_embedded_redis_keeps_data_across_restart(animerec_home):
    client = redis_client()
    client.set("animerec:kept", "1")
    stop_embedded_redis(animerec_home / "redis")
    assert redis_client().get("animerec:kept") == b"1"


def test_redis_down_is_a_clear_error(animerec_home):
    try:
        connect("redis://127.0.0.1:1/0", animerec_home / "redis")
    except RedisUnavailableError as error:
        assert "does not answer" in str(error)
    else:
        raise AssertionError("a dead Redis must raise RedisUnavailableError")


def test_real_redis_server_url(monkeypatch, animerec_home, redis_server_url):
    monkeypatch.setenv("REDIS_URL", redis_server_url)
    client = redis_client()
    assert isinstance(client, redis.Redis)
    assert client.ping()


def test_queued_entries_survive_a_sigkill_of_the_embedded_server(animerec_home):
    """The crawl queue on the embedded server: append-only persistence, fsynced every second,
    so a server killed without a chance to save restarts with what was queued."""
    import os
    import signal
    import time

    from crawler.queue import CrawlQueue

    redis_dir = animerec_home / "redis"
    queue = CrawlQueue(redis_client(), stream="test:aof", group="workers")
    urls = [f"https://myanimelist.net/anime/{n}" for n in range(1, 51)]
    assert queue.enqueue("anime", urls) == 50
    held = queue.read("w-0", 10)  # delivered, not acknowledged: must stay pending
    time.sleep(1.5)  # appendfsync everysec
    pid = int((redis_dir / "redis.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the embedded redis-server did not die")

    restarted = CrawlQueue(redis_client(), stream="test:aof", group="workers")
    stats = restarted.stats()
    assert (stats.length, stats.pending) == (50, 10)
    reclaimed = restarted.reclaim_stale("w-1", 0, 100)
    assert sorted(m.url for m in reclaimed) == sorted(m.url for m in held)
