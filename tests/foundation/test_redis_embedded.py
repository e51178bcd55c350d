"""The embedded Redis default: a real redis-server that starts, answers and stops cleanly."""

from __future__ import annotations

from pathlib import Path

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


def test_a_running_server_that_does_not_answer_is_waited_for_never_replaced(
    animerec_home, monkeypatch
):
    """A stalled embedded server (loading its data, a slow fsync, a loaded machine) keeps its
    socket: a second server on the same files would take every client that comes after, while
    the first keeps the connections it has (a publish could land where nobody reads)."""
    import os
    import signal

    import pytest

    from animerec_assets.lib import redis_conn

    redis_dir = animerec_home / "redis"
    redis_client().set("animerec:stalled", "1")
    pid = int((redis_dir / "redis.pid").read_text())
    monkeypatch.setattr(redis_conn, "PROBE_TIMEOUT_S", 0.2)
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(RedisUnavailableError, match="did not answer"):
            ensure_embedded_redis(redis_dir, wait_s=0.5)
        assert int((redis_dir / "redis.pid").read_text()) == pid
        assert embedded_socket_path(redis_dir).exists()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert redis_client().get("animerec:stalled") == b"1"
    assert int((redis_dir / "redis.pid").read_text()) == pid


def test_a_throwaway_server_too_stalled_to_answer_is_still_stopped(animerec_home):
    """Benchmarks stop their own server on every exit path, even when it cannot answer a
    SHUTDOWN (stopped here with SIGSTOP, which SIGTERM cannot reach: SIGKILL must follow)."""
    import os
    import signal

    from animerec_assets.lib.redis_conn import kill_embedded_redis

    redis_dir = animerec_home / "redis"
    redis_client().set("animerec:throwaway", "1")
    pid = int((redis_dir / "redis.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        assert kill_embedded_redis(redis_dir, wait_s=1.0)
        assert not Path(f"/proc/{pid}").exists() or b"Z" in _state(pid)
    finally:
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
    assert not kill_embedded_redis(redis_dir)  # nothing left to stop


def _state(pid: int) -> bytes:
    return Path(f"/proc/{pid}/stat").read_bytes().split(b") ")[1][:1]
