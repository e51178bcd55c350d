"""Named crash points for the crash tests: a process dies with SIGKILL exactly there.

Off unless ``ANIMEREC_CRASH_AT`` names a point (``name`` or ``name:n`` for its n-th pass in
this process). A crash test sets it for one worker or spider process to kill it between two
writes (after the items file is written but before it is renamed, after the rename but before
the ack, in the middle of a sink's batch) — moments an outside ``kill`` would only hit by luck.
"""

from __future__ import annotations

import os
import signal

CRASH_AT = "ANIMEREC_CRASH_AT"
_passes: dict[str, int] = {}


def crash_point(name: str) -> None:
    """SIGKILL this process if ``ANIMEREC_CRASH_AT`` names this point (and pass)."""
    wanted = os.environ.get(CRASH_AT)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
