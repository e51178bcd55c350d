"""How to start the Streamlit app: one command line, headless and without usage statistics.

Used by ``python -m app``, the browser test and the serving benchmark, so they all run the
app the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_SCRIPT = Path(__file__).resolve().parent / "streamlit_app.py"


def streamlit_command(port: int = 8501, address: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", address,
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_app(port: int, env: dict[str, str], log_path: Path | None = None):  # -> Popen
    """Start the app in a subprocess (own process group) and return once it answers."""
    import subprocess

    from animerec_assets.lib.processes import die_with_parent

    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        streamlit_command(port),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: stop_app stops what it started too
        preexec_fn=die_with_parent(),  # Linux: gone if the caller dies
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
    except BaseException:
        stop_app(process)
        raise
    return process


def wait_until_healthy(base_url: str, process, timeout_s: float = 60.0) -> None:
    import time

    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode}")
        try:
            if httpx.get(f"{base_url}/_stcore/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the app did not answer at {base_url} within {timeout_s}s")


def stop_app(process) -> None:
    """Stop the app's process group (the app and anything it started)."""
    from animerec_assets.lib.processes import stop_process_group

    stop_process_group(process, timeout_s=10)
