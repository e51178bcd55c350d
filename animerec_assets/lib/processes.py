"""Child processes that do not outlive the process that started them.

A child started in a session of its own (so a Ctrl-C in the terminal reaches only its parent,
which then stops it in order) is no longer signalled with its parent's group. If the parent is
killed with SIGKILL it gets no chance to clean up, so on Linux each child also asks the kernel
for a parent-death signal (``prctl(PR_SET_PDEATHSIG)``): the child is signalled as soon as its
parent thread dies, whatever the cause.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Resolved once, before any fork: the child only calls it (no dlopen between fork and exec).
_PRCTL = _prctl()


def die_with_parent(signum: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive ``signum`` when its parent dies.

    Returns None where the kernel offers no such signal (not Linux): callers pass it on as is.
    """
    if _PRCTL is None:
        return None
    parent = os.getpid()
    prctl = _PRCTL

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), signum)

    return arm


def stop_process_group(
    process: subprocess.Popen, timeout_s: float = 10.0, signum: int = signal.SIGTERM
) -> int | None:
    """Signal the group led by ``process``; SIGKILL the group after ``timeout_s``.

    The group is killed even when the leader already exited: what it started may still run.
    Returns the leader's exit code.
    """
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        return process.poll()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout_s)
    kill_process_group(process.pid)
    try:
        return process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return None


def kill_process_group(pgid: int) -> bool:
    """SIGKILL every process of group ``pgid``; False when the group is already gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def wait_until_gone(pids: list[int], timeout_s: float) -> list[int]:
    """Wait for processes to exit; returns those still alive after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _alive(pid)]
        if alive:
            time.sleep(0.1)
    return alive


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
