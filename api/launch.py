"""Start and stop ``animerec api serve`` as a subprocess (for the demo, tests and benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

READY_PATH = "/openapi.json"  # answers without Redis: the server is up, whatever the store says


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api_command(port: int, *extra: str) -> list[str]:
    code = "from animerec_cli.main import app; app()"
    return [sys.executable, "-c", code, "api", "serve", "--port", str(port), *extra]


def start_api(
    port: int, env: dict[str, str], *extra: str, log_path: Path | None = None
) -> subprocess.Popen:
    """Start the API in its own process group and return once it answers."""
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        api_command(port, *extra),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", process)
    except BaseException:
        stop_api(process)
        raise
    return process


def wait_until_ready(base_url: str, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(base_url + READY_PATH, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise TimeoutError(f"the API did not answer at {base_url} within {timeout_s:.0f} s")


def stop_api(process: subprocess.Popen) -> None:
    """Stop the API's process group: TERM, then KILL if it does not exit."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
