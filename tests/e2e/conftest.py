"""Fixtures of the end-to-end files that start ``animerec demo``."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from demo_process import demo_processes


@pytest.fixture
def demo_home() -> Iterator[Path]:
    """A fresh data folder for one demo; whatever of the demo still runs there is killed after."""
    home = Path(f"/tmp/ar-stop-{os.getpid()}-{time.monotonic_ns() % 10**6}")
    yield home
    for line in demo_processes(home):
        psutil.Process(int(line.split(":")[0])).kill()
    subprocess.run(["rm", "-rf", str(home)], check=False)
