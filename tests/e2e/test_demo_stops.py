"""``animerec demo`` stops cleanly, and recovers from being killed.

- Ctrl-C (SIGINT) or SIGTERM while the crawl runs: the demo exits within seconds and leaves no
  process of its own behind (children, the embedded Redis).
- SIGKILL while the transform job holds the DuckDB pool's only slot, then the demo again on the
  same data folder: the second run frees the dead run's slot, says so, and completes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from animerec_cli.demo import DEMO_HOME_MARK
from app.launch import free_port

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]
USERS, ANIME, SEED = 30, 20, 5
STOP_WITHIN_S = 30.0


def _start_demo(home: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "ANIMEREC_ENV": "local",
        "ANIMEREC_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster_home"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("REDIS_URL", "ANIMEREC_SCHEDULER_DB_URL", "ANIMEREC_DUCKDB_PATH"):
        env.pop(name, None)
    command = [
        str(BIN / "animerec"), "demo", "--no-serve", "--users", str(USERS), "--anime",
        str(ANIME), "--seed", str(SEED), "--rounds", "2", "--replica-port", str(free_port()),
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _read_until(process: subprocess.Popen, pattern: str, timeout_s: float, seen: list[str]):
    """Collect output lines until one matches ``pattern`` (or the process ends)."""
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            seen.append(line)
            if re.search(pattern, line):
                return
            continue
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"demo never printed {pattern!r}; output:\n{''.join(seen)[-5000:]}")


def _drain(process: subprocess.Popen, seen: list[str], timeout_s: float = 5.0) -> None:
    """What is left in the pipe (without blocking: a grandchild may still hold it open)."""
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = process.stdout.readline()
        except TypeError:  # nothing to read on a non-blocking pipe
            line = None
        if line:
            seen.append(line)
        elif line == "":
            return
        else:
            time.sleep(0.1)


def demo_processes(home: Path) -> list[str]:
    """Processes started for the demo on ``home`` (its mark), and the embedded Redis there."""
    found = []
    redis_dir = str(home / "redis")
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            command = " ".join(process.info["cmdline"] or [])
            if (
                process.environ().get(DEMO_HOME_MARK) == str(home)
                or process.environ().get("ANIMEREC_HOME") == str(home)
                or redis_dir in command
            ) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{process.pid}: {command[:120]}")
        except psutil.Error:
            continue
    return found


def _wait_until_none_left(home: Path, timeout_s: float) -> list[str]:
    deadline = time.monotonic() + timeout_s
    left = demo_processes(home)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = demo_processes(home)
    return left


def _wait_for_run(home: Path, job_name: str, timeout_s: float) -> None:
    """Until the demo's instance records a started run of ``job_name``."""
    import dagster as dg

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
            runs = instance.get_runs(
                filters=dg.RunsFilter(job_name=job_name, statuses=[dg.DagsterRunStatus.STARTED])
            )
        if runs:
            return
        time.sleep(0.5)
    raise AssertionError(f"no {job_name} run started within {timeout_s}s")


@pytest.fixture
def demo_home():
    home = Path(f"/tmp/ar-stop-{os.getpid()}-{time.monotonic_ns() % 10**6}")
    yield home
    for line in demo_processes(home):
        psutil.Process(int(line.split(":")[0])).kill()
    subprocess.run(["rm", "-rf", str(home)], check=False)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_during_the_crawl_stops_the_demo_and_every_child(demo_home, signum):
    demo = _start_demo(demo_home)
    seen: list[str] = []
    try:
        _read_until(demo, r"crawl round 1 .* started", 300, seen)
        time.sleep(3)  # the crawl job is running its steps (and its spider subprocesses)
        assert demo_processes(demo_home), "nothing of the demo was running to stop"
        sent = time.monotonic()
        demo.send_signal(signum)  # the demo only, as a terminal's Ctrl-C or `kill` would
        demo.wait(timeout=STOP_WITHIN_S)
        took = time.monotonic() - sent
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    _drain(demo, seen)
    assert demo.returncode != 0
    assert took < STOP_WITHIN_S
    assert _wait_until_none_left(demo_home, 5) == [], "".join(seen)[-3000:]


def test_a_demo_killed_mid_transform_runs_again_to_completion(demo_home):
    first = _start_demo(demo_home)
    seen: list[str] = []
    try:
        _read_until(first, r"transform_job started", 900, seen)
        _wait_for_run(demo_home, "transform_job", 180)
        time.sleep(3)  # its first DuckDB step claims the pool's only slot
    finally:
        os.kill(first.pid, signal.SIGKILL)  # no cleanup of any kind
        first.wait()
    _drain(first, seen)
    # the kernel's parent-death signal takes its direct children down with it
    second = _start_demo(demo_home)
    again: list[str] = []
    try:
        _read_until(second, r"main job done", 1200, again)
        second.wait(timeout=120)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()
    _drain(second, again)
    output = "".join(again)
    assert second.returncode == 0, output[-5000:]
    assert re.search(r"marked run \S+ \(transform_job\) failed", output), output[-5000:]
    assert "transform_job done" in output or "transform_job FAILED" in output
    assert _wait_until_none_left(demo_home, 10) == []
