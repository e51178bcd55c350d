"""``animerec demo`` recovers from being killed: SIGKILL while the transform job holds the DuckDB
pool's only slot, then the demo again on the same data folder: the second run frees the dead
run's slot, says so, and completes.

A file of its own (two demo runs, minutes): ``--dist loadfile`` can run it beside the rest.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from demo_process import drain, read_until, start_demo, wait_for_run, wait_until_none_left

pytestmark = pytest.mark.slow


def test_a_demo_killed_mid_transform_runs_again_to_completion(demo_home):
    first = start_demo(demo_home)
    seen: list[str] = []
    try:
        read_until(first, r"transform_job started", 900, seen)
        wait_for_run(demo_home, "transform_job", 180)
        time.sleep(3)  # its first DuckDB step claims the pool's only slot
    finally:
        os.kill(first.pid, signal.SIGKILL)  # no cleanup of any kind
        first.wait()
    drain(first, seen)
    # the kernel's parent-death signal takes its direct children down with it
    second = start_demo(demo_home)
    again: list[str] = []
    try:
        read_until(second, r"main job done", 1200, again)
        second.wait(timeout=120)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()
    drain(second, again)
    output = "".join(again)
    assert second.returncode == 0, output[-5000:]
    assert re.search(r"marked run \S+ \(transform_job\) failed", output), output[-5000:]
    assert "transform_job done" in output or "transform_job FAILED" in output
    assert wait_until_none_left(demo_home, 10) == []
