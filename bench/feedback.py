"""``animerec bench feedback``: the event rate the feedback stream sustains on this machine.

Every event goes through the real path: ``record_event`` (validation, the per-session cap and
the ``XADD`` in one Lua script) on a real Redis (this machine's server, or the embedded one with
``--embedded``), under a key root of its own that is deleted afterwards. Phases:

1. ``record_event`` from one process, ``--sessions`` sessions taking turns (each stays under the
   cap, so every event is appended);
2. the same events from ``--processes`` processes at once (sessions split between them);
3. one session flooding: the cap's refusals (what a hostile client costs the store);
4. ``POST /v1/feedback`` on the real API app (uvicorn, one process) from ``--api-concurrency``
   concurrent connections.

Events/s is events over the phase's wall time; p50/p99 are per call. The stream's length is
checked against the events recorded. Nothing here runs inside the test suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import shutil
import socket
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import redis

from animerec_assets.lib.feedback.events import FeedbackEvent, new_session_id, parse_event
from animerec_assets.lib.feedback.stream import FeedbackKeys, record_event
from animerec_assets.lib.redis_conn import connect

MODEL_VERSION = "bench-model-1"
API_RATE_LIMIT = "100000000/minute"  # the per-address limit is not what is measured here


@dataclass
class Phase:
    name: str
    events: int = 0
    wall_s: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.wall_s if self.wall_s else float("nan")

    def row(self) -> str:
        samples = np.array(self.latencies_ms or [float("nan")])
        p50, p99 = np.percentile(samples, [50, 99])
        outcome = ", ".join(f"{name}: {n:,}" for name, n in sorted(self.statuses.items()))
        return (
            f"{self.name:<34} {self.events:>7,} events in {self.wall_s:6.2f} s = "
            f"{self.rate:>8,.0f} events/s   p50 {p50:6.2f} ms  p99 {p99:6.2f} ms   ({outcome})"
        )


@dataclass
class FeedbackBenchResult:
    redis: str
    sessions: int
    per_session: int
    phases: list[Phase] = field(default_factory=list)
    stream_length: int = 0
    expected_length: int = 0

    def report(self) -> str:
        lines = [
            f"feedback bench on {self.redis}: {self.sessions} sessions x {self.per_session} "
            "events (each session under its cap), one Lua script (cap + XADD) per event",
            *(f"  {phase.row()}" for phase in self.phases),
            f"  stream entries after the run: {self.stream_length:,} "
            f"(recorded: {self.expected_length:,})",
        ]
        return "\n".join(lines)


def _event(session_id: str, index: int) -> FeedbackEvent:
    return parse_event(
        {
            "session_id": session_id,
            "model_version": MODEL_VERSION,
            "anime_id": 1 + index % 20_000,
            "position": index % 20,
            "reason_type": "similar_to",
            "reason_anime_id": 1 + (index * 7) % 20_000,
            "action": "shown",
            "origin": "app",
        }
    )


def _record_worker(  # type: ignore[no-untyped-def]
    redis_url: str, root: str, sessions: list[str], per_session: int, ready, start, results
) -> None:
    """One process: its sessions take turns, each sending ``per_session`` events."""
    client = redis.Redis.from_url(redis_url)
    keys = FeedbackKeys(root)
    events = [_event(s, i) for i in range(per_session) for s in sessions]
    client.ping()
    ready.set()
    start.wait()
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    for event in events:
        began = time.perf_counter()
        statuses[record_event(client, event, keys=keys).status] += 1
        latencies.append((time.perf_counter() - began) * 1000)
    results.send((statuses, latencies))


def _in_processes(
    name: str, redis_url: str, root: str, sessions: list[str], per_session: int, processes: int
) -> Phase:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = []
    for share in range(processes):
        ready = context.Event()
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=_record_worker,
            args=(redis_url, root, sessions[share::processes], per_session, ready, start, send),
            daemon=True,
        )
        workers.append((process, ready, receive))
    phase = Phase(name)
    try:
        for process, _, _ in workers:
            process.start()
        for process, ready, _ in workers:
            if not ready.wait(120):
                raise RuntimeError(f"a bench process did not start (exit {process.exitcode})")
        began = time.perf_counter()
        start.set()
        for _, _, receive in workers:
            statuses, latencies = receive.recv()
            phase.statuses.update(statuses)
            phase.latencies_ms.extend(latencies)
        phase.wall_s = time.perf_counter() - began
    finally:
        for process, _, _ in workers:
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join(5)
    phase.events = sum(phase.statuses.values())
    return phase


def _flood(client: redis.Redis, keys: FeedbackKeys, events: int) -> Phase:
    phase = Phase("one session flooding (capped)")
    flooder = new_session_id()
    batch = [_event(flooder, i) for i in range(events)]
    began = time.perf_counter()
    for event in batch:
        started = time.perf_counter()
        phase.statuses[record_event(client, event, keys=keys).status] += 1
        phase.latencies_ms.append((time.perf_counter() - started) * 1000)
    phase.wall_s = time.perf_counter() - began
    phase.events = events
    return phase


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve_api(port: int, redis_url: str, prefix: str) -> None:
    """The child process: the real API app over the bench's Redis and key prefix."""
    import uvicorn

    from api.server import ApiConfig, create_app

    config = ApiConfig(prefix=prefix, rate_limit=API_RATE_LIMIT)
    app = create_app(lambda: redis.Redis.from_url(redis_url), config)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@contextlib.contextmanager
def _api(redis_url: str, prefix: str) -> Iterator[str]:
    """The API in a child process, stopped on every exit path."""
    port = _free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_api, args=(port, redis_url, prefix), daemon=True
    )
    process.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if not process.is_alive():
                raise RuntimeError("the API process exited during start-up")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("the API did not answer within 120 s")
        yield base
    finally:
        process.terminate()
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join(5)


async def _post_all(base: str, bodies: list[dict], concurrency: int, phase: Phase) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                began = time.perf_counter()
                try:
                    response = await client.post("/v1/feedback", json=body)
                    status = f"HTTP {response.status_code}"
                except httpx.HTTPError:
                    status = "no answer"
                phase.latencies_ms.append((time.perf_counter() - began) * 1000)
                phase.statuses[status] += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        phase.wall_s = time.perf_counter() - began
    phase.events = len(bodies)


def _api_phase(redis_url: str, prefix: str, requests: int, concurrency: int) -> Phase:
    sessions = [new_session_id() for _ in range(max(1, requests // 100))]
    bodies = [
        {
            "session_id": sessions[i % len(sessions)],
            "model_version": MODEL_VERSION,
            "action": "shown",
            "anime_id": 1 + i,
            "position": i % 20,
            "reason_type": "popular",
        }
        for i in range(requests)
    ]
    phase = Phase(f"POST /v1/feedback, {concurrency} connections")
    with _api(redis_url, prefix) as base:
        asyncio.run(_post_all(base, bodies, concurrency, phase))
    return phase


@contextlib.contextmanager
def _redis(redis_url: str | None) -> Iterator[str]:
    """The Redis to bench: the given server, or a throw-away embedded one."""
    if redis_url:
        yield redis_url
        return
    home = Path(tempfile.mkdtemp(prefix="arFbB-", dir="/tmp"))
    client = connect(None, home / "redis")
    try:
        yield f"unix://{home / 'redis' / 'redis.sock'}"
    finally:
        with contextlib.suppress(redis.RedisError):
            client.shutdown(nosave=True)
        shutil.rmtree(home, ignore_errors=True)


def run_feedback_bench(
    redis_url: str | None,
    sessions: int,
    per_session: int,
    processes: int,
    flood: int,
    api_requests: int,
    api_concurrency: int,
) -> FeedbackBenchResult:
    prefix = f"animerecbench{uuid.uuid4().hex[:8]}"
    keys = FeedbackKeys.for_prefix(prefix)
    with _redis(redis_url) as url:
        client = redis.Redis.from_url(url)
        result = FeedbackBenchResult(url, sessions, per_session)
        try:
            ids = [new_session_id() for _ in range(sessions)]
            result.phases.append(
                _in_processes("record_event, 1 process", url, keys.root, ids, per_session, 1)
            )
            ids = [new_session_id() for _ in range(sessions)]
            result.phases.append(
                _in_processes(
                    f"record_event, {processes} processes",
                    url,
                    keys.root,
                    ids,
                    per_session,
                    processes,
                )
            )
            if flood:
                result.phases.append(_flood(client, keys, flood))
            if api_requests:
                result.phases.append(_api_phase(url, prefix, api_requests, api_concurrency))
            result.stream_length = int(client.xlen(keys.stream))
            result.expected_length = sum(
                p.statuses.get("recorded", 0) + p.statuses.get("HTTP 202", 0) for p in result.phases
            )
        finally:
            found = list(client.scan_iter(match=f"{keys.root}:*", count=1000))
            for start in range(0, len(found), 1000):
                client.unlink(*found[start : start + 1000])
            client.close()
    return result
