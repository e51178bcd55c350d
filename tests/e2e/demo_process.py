"""Running ``animerec demo`` from a test: start it, read its output, find what it left running.

Shared by the end-to-end files that stop or kill the demo.
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

from animerec_cli.demo import DEMO_HOME_MARK
from app.launch import free_port

BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]
USERS, ANIME, SEED = 30, 20, 5


def default_ctrl_c() -> None:
    """Ctrl-C's default action in the demo, as from a terminal: a test run started in the
    background ignores SIGINT, and its children would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def demo_env(home: Path) -> dict[str, str]:
    """The environment of a demo on its embedded defaults under ``home`` (no server URLs
    inherited from the test machine)."""
    env = {
        **os.environ,
        "ANIMEREC_ENV": "local",
        "ANIMEREC_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster_home"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("REDIS_URL", "ANIMEREC_SCHEDULER_DB_URL", "ANIMEREC_DUCKDB_PATH"):
        env.pop(name, None)
    return env


def start_demo(home: Path) -> subprocess.Popen:
    """The demo without servers, on a tiny world, in its own session (killable as a group)."""
    env = demo_env(home)
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
        preexec_fn=default_ctrl_c,
    )


def read_until(process: subprocess.Popen, pattern: str, timeout_s: float, seen: list[str]):
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


def drain(process: subprocess.Popen, seen: list[str], timeout_s: float = 5.0) -> None:
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


def wait_until_none_left(home: Path, timeout_s: float) -> list[str]:
    deadline = time.monotonic() + timeout_s
    left = demo_processes(home)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = demo_processes(home)
    return left


def wait_for_run(home: Path, job_name: str, timeout_s: float) -> None:
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
