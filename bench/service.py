"""``animerec bench service``: the crawl service under a flood from one client.

The service runs in a process of its own (uvicorn, the real app from ``create_app`` with its
default limits and a token) on the real Redis, a throw-away stream, and a throw-away SQLite
scheduler. Then, from one client address:

1. idle: ``/health`` polled alone (the baseline);
2. enqueue flood: ``--flood`` concurrent ``POST /enqueue`` calls (distinct usernames) while
   ``/health`` is polled; how many were refused (429) and ``/health`` p50/p99 meanwhile;
3. crawl flood: ``--crawl-flood`` concurrent ``POST /crawl`` calls whose crawl holds for a few
   seconds (a stand-in for the spider subprocess, as the 41 parallel ``/seed`` calls of issue 12
   did), again with ``/health`` polled: accepted as jobs vs refused, and ``/health`` p50/p99.

Nothing here runs inside the test suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import secrets
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

HEALTH_INTERVAL_S = 0.01
CRAWL_HOLD_S = 3.0


@dataclass
class Phase:
    name: str
    statuses: Counter[int] = field(default_factory=Counter)
    health_ms: list[float] = field(default_factory=list)
    health_failures: int = 0
    wall_s: float = 0.0

    def row(self) -> str:
        samples = np.array(self.health_ms or [float("nan")])
        p50, p99 = np.percentile(samples, [50, 99])
        calls = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        flood = f"  flood {sum(self.statuses.values())} calls in {self.wall_s:.2f} s -> {calls}"
        return (
            f"{self.name:<14} /health n={len(self.health_ms):>4} p50={p50:7.2f} ms "
            f"p99={p99:7.2f} ms max={np.nanmax(samples):7.2f} ms "
            f"failed={self.health_failures}" + (flood if self.statuses else "")
        )


@dataclass
class ServiceBenchResult:
    flood: int
    crawl_flood: int
    enqueue_rate: str
    phases: list[Phase] = field(default_factory=list)

    def report(self) -> str:
        lines = [
            f"service bench: one client, {self.flood} concurrent /enqueue, "
            f"{self.crawl_flood} concurrent /crawl (each crawl holds {CRAWL_HOLD_S:.0f} s); "
            f"enqueue limit {self.enqueue_rate} per client",
            *(f"  {phase.row()}" for phase in self.phases),
        ]
        enqueue = next((p for p in self.phases if p.name == "enqueue flood"), None)
        if enqueue is not None:
            lines.append(
                f"  refused of the enqueue flood: {enqueue.statuses.get(429, 0)} "
                f"of {sum(enqueue.statuses.values())} (HTTP 429)"
            )
        return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(port: int, redis_url: str, stream: str, db_url: str, token: str, items: str) -> None:
    """The child process: the real app over Redis and SQLite; crawls only hold for a while."""
    import redis
    import uvicorn

    from crawler.queue import CrawlQueue
    from crawler.scheduler import CrawlScheduler
    from crawler.service import ServiceConfig, create_app
    from crawler.worker import BatchResult, SinkSettings

    def holding_crawl(kind, urls, sink):  # type: ignore[no-untyped-def]
        time.sleep(CRAWL_HOLD_S)
        return BatchResult(kind, list(urls), sink.output_dir / "none.jsonl", {}, [])

    scheduler = CrawlScheduler(db_url)
    scheduler.create_tables()
    queue = CrawlQueue(redis.Redis.from_url(redis_url), stream=stream)
    app = create_app(
        scheduler,
        queue,
        SinkSettings(Path(items)),
        crawl=holding_crawl,
        seeder=lambda *_: None,  # type: ignore[arg-type, return-value]
        config=ServiceConfig(token=token),
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@contextlib.contextmanager
def _service(redis_url: str, token: str) -> Iterator[tuple[str, str]]:
    """The service in a child process; stopped (and its stream deleted) on every exit path."""
    import redis

    stream = f"animerecbench:crawl:{uuid.uuid4().hex[:8]}"
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="animerec-service-bench-") as scratch:
        db_url = f"sqlite:///{Path(scratch) / 'scheduler.sqlite'}"
        context = multiprocessing.get_context("spawn")
        process = context.Process(
            target=_serve,
            args=(port, redis_url, stream, db_url, token, str(Path(scratch) / "items")),
            daemon=True,
        )
        process.start()
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if not process.is_alive():
                    raise RuntimeError("the service process exited during start-up")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
            else:
                raise RuntimeError("the service did not become healthy within 60 s")
            yield base, stream
        finally:
            process.terminate()
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)
            client = redis.Redis.from_url(redis_url)
            client.delete(stream, f"{stream}:dead", f"{stream}:queued")
            client.close()


def _poll_health(base: str, ready, stop, results) -> None:  # type: ignore[no-untyped-def]
    """The poller process: ``/health`` on its own connection until ``stop``; sends the
    latencies (ms) and the number of failed polls back."""
    samples: list[float] = []
    failures = 0
    with httpx.Client(base_url=base) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                if client.get("/health", timeout=5).status_code != 200:
                    failures += 1
            except httpx.HTTPError:
                failures += 1
            samples.append((time.perf_counter() - started) * 1000)
            ready.set()
            time.sleep(HEALTH_INTERVAL_S)
    results.send((samples, failures))


class _HealthPoller:
    """Polls ``/health`` from a process of its own, so neither the flooding client's event
    loop nor its share of the GIL can delay the samples: what is measured is the server."""

    def __init__(self, base: str, phase: Phase) -> None:
        context = multiprocessing.get_context("spawn")
        self.phase = phase
        self.stop = context.Event()
        self.ready = context.Event()
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_poll_health, args=(base, self.ready, self.stop, send), daemon=True
        )

    def __enter__(self) -> _HealthPoller:
        self.process.start()
        if not self.ready.wait(60):
            self.__exit__()
            raise RuntimeError("the /health poller did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        try:
            if self.receive.poll(30):
                self.phase.health_ms, self.phase.health_failures = self.receive.recv()
        finally:
            self.process.join(10)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)


async def _flood(base: str, token: str, calls: list[tuple[str, dict]], phase: Phase) -> None:
    """Fire ``calls`` all at once from one client."""
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=len(calls) + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers) as flood:

        async def one(path: str, body: dict) -> int:
            try:
                return (await flood.post(path, json=body, timeout=30)).status_code
            except httpx.HTTPError:
                return 0  # no answer at all

        started = time.perf_counter()
        codes = await asyncio.gather(*(one(path, body) for path, body in calls))
        phase.wall_s = time.perf_counter() - started
        phase.statuses.update(codes)


def _phase(
    base: str, token: str, name: str, calls: list[tuple[str, dict]], linger_s: float
) -> Phase:
    """The flood while /health is polled, and ``linger_s`` more (jobs may still be running)."""
    phase = Phase(name)
    with _HealthPoller(base, phase):
        time.sleep(0.3)  # a few samples before the flood
        if calls:
            asyncio.run(_flood(base, token, calls, phase))
        time.sleep(linger_s)
    return phase


def run_service_bench(redis_url: str, flood: int, crawl_flood: int) -> ServiceBenchResult:
    from crawler.service import ServiceConfig

    token = secrets.token_urlsafe(32)
    result = ServiceBenchResult(flood, crawl_flood, ServiceConfig().enqueue_rate)
    with _service(redis_url, token) as (base, _stream):
        result.phases.append(_phase(base, token, "idle", [], 2.0))
        enqueue_calls = [("/enqueue", {"urls": [f"flood_{i:05d}"]}) for i in range(flood)]
        result.phases.append(_phase(base, token, "enqueue flood", enqueue_calls, 0.3))
        crawl_calls = [("/crawl", {"urls": [i + 1]}) for i in range(crawl_flood)]
        if crawl_calls:  # polled until the accepted crawls are done
            linger = CRAWL_HOLD_S * 5 + 1
            result.phases.append(_phase(base, token, "crawl flood", crawl_calls, linger))
    return result
