"""``animerec demo`` stops cleanly: Ctrl-C (SIGINT) or SIGTERM while the crawl runs, and the demo
exits within seconds and leaves no process of its own behind (children, the embedded Redis).

Killed with SIGKILL instead, it recovers on its next run: test_demo_killed_mid_transform.py.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from demo_process import (
    demo_processes,
    drain,
    read_until,
    start_demo,
    wait_until_none_left,
)

pytestmark = pytest.mark.slow

STOP_WITHIN_S = 30.0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_during_the_crawl_stops_the_demo_and_every_child(demo_home, signum):
    demo = start_demo(demo_home)
    seen: list[str] = []
    try:
        read_until(demo, r"crawl round 1 .* started", 300, seen)
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
    drain(demo, seen)
    assert demo.returncode != 0
    assert took < STOP_WITHIN_S
    assert wait_until_none_left(demo_home, 5) == [], "".join(seen)[-3000:]
