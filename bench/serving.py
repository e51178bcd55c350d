"""``animerec bench serving``: how fast the serving path answers.

1. Publish a realistic synthetic version (100k users, 15k anime; per user the ranked top 100
   not on their list plus the plan-to-watch titles the model ranked among them, and their MAL
   list of ~125 entries, packed) to a throw-away embedded Redis (or a Redis server given by
   URL, under its own key prefix). The users are built, prepared and written in parts
   (``--part-users``) into the one version behind the one switch, so a million users fit in
   a few GB. Publish time, peak memory of the publishing process and of redis-server, Redis
   memory, and Redis' own per-key memory of the ranked lists and the MAL lists (``MEMORY
   USAGE`` of a sample, times the users).
2. Lookup latency: N concurrent client threads read random users as the app does, the read-time
   filters included: the user's view without cards, the cards of the kept titles from the
   catalogue cached per version (``lib/serving/reads.py``), beside the former read of the view
   with its ~250 cards from Redis; and ``get_similar`` for random anime; p50/p99.
3. API: start ``animerec api serve`` (its own process) on that Redis and measure
   ``GET /v1/users/{u}/recommendations`` with N concurrent HTTP clients, once with every
   read-time filter off and once with the default filters plus a type, a genre and a
   members filter and hidden ids (target: filtered p99 within 2x of unfiltered), and how many
   filtered answers still hold 20 recommendations (what the longer lists are for).
4. Browser: start the Streamlit app on that Redis and measure, in headless Chromium, the time
   from navigation (then typing the username and submitting) until the fifth card is visible.

Nothing here runs inside the test suite.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
]  # fmt: skip
BENCH_PREFIX = "animerecbench"


@dataclass
class LatencyFigures:
    name: str
    samples_ms: np.ndarray
    wall_s: float
    server_usec_per_call: float = 0.0  # Redis' own time per script call (INFO commandstats)

    def row(self) -> str:
        p50, p90, p99 = np.percentile(self.samples_ms, [50, 90, 99])
        rate = len(self.samples_ms) / self.wall_s if self.wall_s else 0.0
        return (
            f"{self.name:<36} n={len(self.samples_ms):>6}  p50={p50:7.2f} ms  p90={p90:7.2f} ms  "
            f"p99={p99:7.2f} ms  max={self.samples_ms.max():7.2f} ms  {rate:6.0f} req/s"
            + (
                f"  (inside Redis {self.server_usec_per_call:.0f} us/call)"
                if self.server_usec_per_call
                else ""
            )
        )


@dataclass
class ServingBenchResult:
    users: int
    anime: int
    clients: int
    redis: str
    synthetic_s: float = 0.0  # building the model-shaped inputs (not part of a publish)
    prepare_s: float = 0.0
    write_s: float = 0.0
    publish_s: float = 0.0  # prepare + write + switch, without building the inputs
    part_users: int = 50_000  # users built, prepared and written at a time
    parts: int = 0
    used_memory_peak_mb: float = 0.0
    bench_peak_rss_mb: float = 0.0  # this process (inputs, payloads): ru_maxrss
    redis_peak_rss_mb: float = 0.0  # the redis-server process (VmHWM), when local
    keys_written: int = 0
    used_memory_mb: float = 0.0
    top_n: int = 100
    top_n_planned: int = 50
    list_size: int = 100
    ranked_per_user: int = 0
    user_payload_bytes: int = 0
    list_payload_bytes: int = 0
    list_entries: int = 0
    user_key_memory: float = 0.0  # Redis MEMORY USAGE per ranked-list key (sample mean)
    list_key_memory: float = 0.0  # Redis MEMORY USAGE per MAL-list key (sample mean)
    filtered_full_share: float = -1.0  # filtered API answers holding 20 recommendations
    latencies: list[LatencyFigures] = field(default_factory=list)
    api_latencies: list[LatencyFigures] = field(default_factory=list)
    api_note: str = ""
    browser_ms: list[float] = field(default_factory=list)
    browser_note: str = ""

    def report(self) -> str:
        return "\n".join([*self.publish_lines(), *self.serving_lines()])

    def publish_lines(self) -> list[str]:
        per_user = max(self.users, 1)
        return [
            f"serving bench: {self.users:,} users x top {self.top_n} + up to {self.top_n_planned} "
            f"plan-to-watch ({self.ranked_per_user} ranked rows each), MAL lists of "
            f"{self.list_entries / per_user:,.0f} entries, {self.anime:,} anime, "
            f"Redis {self.redis}",
            f"  publish in {self.parts} part(s) of {self.part_users:,} users: "
            f"{self.publish_s:.1f} s = prepare {self.prepare_s:.1f} s + write+switch "
            f"{self.write_s:.1f} s ({self.keys_written:,} keys, "
            f"{self.keys_written / max(self.write_s, 1e-9):,.0f} keys/s); synthetic inputs "
            f"built besides in {self.synthetic_s:.0f} s",
            f"  memory: Redis used_memory {self.used_memory_mb:,.0f} MB (peak "
            f"{self.used_memory_peak_mb:,.0f} MB, redis-server peak RSS "
            f"{self.redis_peak_rss_mb:,.0f} MB), publishing process peak RSS "
            f"{self.bench_peak_rss_mb:,.0f} MB",
            f"  ranked lists: {self.user_payload_bytes / per_user:,.0f} bytes of JSON per user, "
            f"{self.user_key_memory:,.0f} bytes in Redis per key (MEMORY USAGE)",
            f"  MAL lists: {self.list_payload_bytes / per_user:,.0f} bytes packed per user "
            f"({self.list_payload_bytes / max(self.list_entries, 1):.2f} per entry), "
            f"{self.list_key_memory:,.0f} bytes in Redis per key",
            f"  per 1M users in Redis: ranked lists "
            f"{self.user_key_memory * 1e6 / 1e9:,.2f} GB + MAL lists "
            f"{self.list_key_memory * 1e6 / 1e9:,.2f} GB",
        ]

    def serving_lines(self) -> list[str]:
        lines = [
            "  lookups (client-observed latency; Python threads share the GIL on this machine):",
            *(f"    {figures.row()}" for figures in self.latencies),
        ]
        if self.api_latencies:
            lines.append("  API over HTTP (uvicorn, one process; client threads in this process):")
            lines.extend(f"    {figures.row()}" for figures in self.api_latencies)
            if len(self.api_latencies) == 2:
                ratio = np.percentile(self.api_latencies[1].samples_ms, 99) / max(
                    np.percentile(self.api_latencies[0].samples_ms, 99), 1e-9
                )
                lines.append(f"    filtered p99 / unfiltered p99 = {ratio:.2f} (target <= 2)")
            if self.filtered_full_share >= 0:
                lines.append(
                    f"    filtered answers holding 20 recommendations: "
                    f"{self.filtered_full_share:.1%}"
                )
        elif self.api_note:
            lines.append(f"  API: {self.api_note}")
        if self.browser_ms:
            times = np.array(self.browser_ms)
            lines.append(
                f"  browser, navigation+submit -> 5th card visible: runs={len(times)} "
                f"p50={np.median(times):.0f} ms  min={times.min():.0f} ms  "
                f"max={times.max():.0f} ms"
            )
        elif self.browser_note:
            lines.append(f"  browser: {self.browser_note}")
        return lines


def _publish(client, users: int, anime: int, prefix: str | None, result: ServingBenchResult):
    """Publish the synthetic version in parts of ``result.part_users`` users: each part is
    built, prepared and written before the next is built (one version, one switch)."""
    from tqdm import tqdm

    from animerec_assets.lib.serving import prepare_catalogue, prepare_user_part, publish_payloads
    from animerec_assets.lib.serving.franchise import with_franchises
    from animerec_assets.lib.serving.synthetic import (
        PLANNED_EVERY,
        synthetic_anime,
        synthetic_similar,
        synthetic_user_parts,
    )

    # the model's ranking holds the user's plan-to-watch titles too (every PLANNED_EVERY-th):
    # enough rows that top_n of them are not on the list
    ranked = result.top_n + result.top_n // (PLANNED_EVERY - 1)
    result.ranked_per_user = ranked
    lengths = {"top_n_user": result.top_n, "top_n_planned": result.top_n_planned}
    parts = synthetic_user_parts(users, anime, ranked, result.list_size, result.part_users)

    def built() -> tuple[pd.DataFrame, pd.DataFrame] | None:
        started = time.perf_counter()
        part = next(parts, None)
        result.synthetic_s += time.perf_counter() - started
        return part

    def measured(payloads) -> None:
        result.user_payload_bytes += int(sum(len(v.encode()) for v in payloads.user_values))
        result.list_payload_bytes += int(
            payloads.list_values.nbytes - 4 * (len(payloads.list_keys) + 1)
        )
        result.list_entries += payloads.list_entries

    def more_users():
        while (part := built()) is not None:
            started = time.perf_counter()
            payloads = prepare_user_part(*part, **lengths)
            del part
            result.prepare_s += time.perf_counter() - started
            measured(payloads)
            yield payloads
            del payloads  # written: not held while the next part is built

    started = time.perf_counter()
    similar = synthetic_similar(anime)
    cards = with_franchises(synthetic_anime(anime), _synthetic_sequels(anime))
    result.synthetic_s += time.perf_counter() - started
    started = time.perf_counter()
    catalogue = prepare_catalogue(similar, cards)
    result.prepare_s += time.perf_counter() - started
    del similar, cards
    first_synthetic_s, first_prepare_s = result.synthetic_s, result.prepare_s
    sample_keys: list = []

    def sampled(parts):
        for part in parts:
            if not sample_keys:
                sample_keys.extend(part.user_keys.tolist())
            yield part
            del part  # written: not held while the next part is built

    with tqdm(desc="publishing", unit="item") as bar:
        done: dict[str, int] = {}

        def progress(stage: str, written: int, _total: int) -> None:
            bar.update(written - done.get(stage, 0))
            done[stage] = written

        started = time.perf_counter()
        published = publish_payloads(
            client, catalogue, model_version="bench", prefix=prefix, on_progress=progress,
            user_parts=sampled(more_users()),
        )  # fmt: skip
        publish_s = time.perf_counter() - started
    result.parts = -(-users // result.part_users)
    # the publish call also built and prepared the user parts: not writing time
    result.write_s = (
        publish_s - (result.synthetic_s - first_synthetic_s) - (result.prepare_s - first_prepare_s)
    )
    result.publish_s = result.prepare_s + result.write_s
    result.keys_written = published.keys_written
    memory = client.info("memory")
    result.used_memory_mb = memory["used_memory"] / 1e6
    result.used_memory_peak_mb = memory["used_memory_peak"] / 1e6
    result.bench_peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    result.redis_peak_rss_mb = _peak_rss_mb(client.info("server").get("process_id"))
    result.user_key_memory, result.list_key_memory = _key_memory(
        client, prefix, published.version, np.array(sample_keys, dtype=object)
    )


def _peak_rss_mb(pid: int | None) -> float:
    """A local process' peak resident memory (VmHWM), 0 when it is not on this machine."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, TypeError):
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e3
    return 0.0


def _key_memory(client, prefix: str | None, version: str, user_keys) -> tuple[float, float]:
    """Mean ``MEMORY USAGE`` of a sample of ranked-list keys and of MAL-list keys."""
    from animerec_assets.lib.serving import KeyLayout

    layout = KeyLayout(prefix) if prefix else KeyLayout()
    rng = np.random.default_rng(0)
    sample = user_keys[rng.choice(len(user_keys), size=min(1000, len(user_keys)), replace=False)]
    pipe = client.pipeline(transaction=False)
    for key in sample:
        pipe.memory_usage(layout.user(version, key), samples=0)
        pipe.memory_usage(layout.user_list(version, key), samples=0)
    sizes = np.array([size or 0 for size in pipe.execute()], dtype=float).reshape(-1, 2)
    return float(sizes[:, 0].mean()), float(sizes[:, 1].mean())


def _synthetic_sequels(anime: int) -> pd.DataFrame:
    """Franchises of three consecutive ids (1 -> 2 -> 3, 4 -> 5 -> 6, ...), so the franchise
    filter walks real prequel chains."""
    ids = np.arange(1, anime + 1)
    sequel = ids[(ids % 3) != 1]
    return pd.DataFrame({"animeA": sequel - 1, "animeB": sequel, "relation_type": "Sequel"})


def _api_lookups(home: Path, redis_url: str | None, users: int, clients: int, per_client: int):
    import httpx

    from api.launch import free_port, start_api, stop_api

    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "ANIMEREC_ENV")}
    env.update(ANIMEREC_HOME=str(home), ANIMEREC_ENV="local")
    if redis_url:
        env["REDIS_URL"] = redis_url
    port = free_port()
    process = start_api(port, env, "--rate-limit", "1000000/minute", log_path=home / "api.log")
    base = f"http://127.0.0.1:{port}"
    unfiltered = {
        "include_upcoming": "true", "include_adult": "true",
        "franchise_order": "false", "one_per_franchise": "false",
    }  # fmt: skip
    filtered = {
        "type": ["TV", "Movie", "ONA"], "exclude_genre": "Music", "min_members": 1000,
        "exclude": "1,2,3,4,5",
    }  # fmt: skip
    local = threading.local()
    answered: dict[str, list[int]] = {"full": [], "all": []}

    def http() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=30)
        return local.client

    def call(params: dict):
        def request(rng: np.random.Generator) -> None:
            user = f"User_{int(rng.integers(0, users))}"
            response = http().get(f"/v1/users/{user}/recommendations", params=params)
            assert response.status_code == 200, response.text
            if params is filtered:
                answered["all"].append(1)
                answered["full"].append(len(response.json()["recommendations"]) >= 20)

        return request

    try:
        call(filtered)(np.random.default_rng(0))  # warm-up: the catalogue cache
        figures = [
            _measure_plain(f"API unfiltered, {clients} clients", clients, per_client,
                           call(unfiltered)),
            _measure_plain(f"API filtered, {clients} clients", clients, per_client,
                           call(filtered)),
        ]  # fmt: skip
        return figures, sum(answered["full"]) / max(len(answered["all"]), 1)
    finally:
        stop_api(process)


def _measure_plain(name: str, clients: int, per_client: int, call) -> LatencyFigures:
    """``_measure`` without Redis' own counters (the calls go through the API process)."""
    return _measure(None, name, clients, per_client, call)


def _server_usec_per_call(client) -> float:
    stats = client.info("commandstats")
    calls = sum(v["calls"] for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval"))
    usec = sum(v["usec"] for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval"))
    return usec / calls if calls else 0.0


def _measure(client, name: str, clients: int, per_client: int, call) -> LatencyFigures:
    """Run ``call(rng)`` ``per_client`` times in each of ``clients`` threads started together."""
    if client is not None:
        client.config_resetstat()
    barrier = threading.Barrier(clients + 1)
    samples = np.zeros((clients, per_client))
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        rng = np.random.default_rng(index)
        barrier.wait()
        try:
            for i in range(per_client):
                start = time.perf_counter()
                call(rng)
                samples[index, i] = (time.perf_counter() - start) * 1000
        except BaseException as error:  # reported after the run
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    usec = _server_usec_per_call(client) if client is not None else 0.0
    return LatencyFigures(name, samples.ravel(), wall, usec)


def _lookups(
    client, users: int, anime: int, clients: int, per_client: int, prefix, top_n: int = 100
) -> list:
    """The app's read of a user, as it was (the view with ~250 cards from Redis) and as it
    is (the view without cards, the cards of the kept ones from the cached catalogue), both
    with the default filters; and ``get_similar``."""
    from animerec_assets.lib.serving import get_recommendations, get_similar
    from animerec_assets.lib.serving.filters import Filters, apply_filters
    from animerec_assets.lib.serving.reads import CatalogueCache, read_user_view

    cache = CatalogueCache()
    cache.get(client, prefix)  # the app reads it once per version
    today = date.today()

    def user(rng: np.random.Generator) -> str:
        return f"User_{int(rng.integers(0, users))}"

    def with_cards(rng: np.random.Generator) -> None:
        recs = get_recommendations(client, user(rng), prefix)
        assert len(recs) >= top_n  # and the planned titles the model ranked among them
        assert apply_filters(recs, cache.get(client, prefix), Filters(), today=today)[:20]

    def without_cards(rng: np.random.Generator) -> None:
        catalogue = cache.get(client, prefix)
        view = read_user_view(client, user(rng), catalogue, prefix)
        assert len(view.recommendations) >= top_n
        kept = apply_filters(
            view.recommendations, catalogue, Filters(), today=today, user_list=view.user_list
        )[:20]
        assert kept and kept[0].anime is not None

    def similar(rng: np.random.Generator) -> None:
        assert get_similar(client, int(rng.integers(1, anime + 1)), prefix=prefix)

    return [
        _measure(client, "app read with cards, 1 client", 1, per_client * 5, with_cards),
        _measure(client, "app read, cached cards, 1 client", 1, per_client * 5, without_cards),
        _measure(client, f"app read with cards, {clients} clients", clients, per_client,
                 with_cards),
        _measure(client, f"app read, cached cards, {clients} clients", clients, per_client,
                 without_cards),
        _measure(client, f"get_similar, {clients} clients", clients, per_client, similar),
    ]  # fmt: skip


def _browser_runs(home: Path, users: int, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    from app.launch import free_port, start_app, stop_app

    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "ANIMEREC_ENV")}
    env.update(ANIMEREC_HOME=str(home), ANIMEREC_ENV="local")
    port = free_port()
    process = start_app(port, env)
    timings: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            rng = np.random.default_rng(0)
            for run in range(runs + 1):  # the first run warms the app up and is not counted
                page = browser.new_page()
                page.set_default_timeout(60_000)
                started = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}")
                page.get_by_label("MyAnimeList username or id").fill(
                    f"User_{int(rng.integers(0, users))}"
                )
                page.get_by_role("button", name="Recommend", exact=True).click()
                page.locator("[data-testid=anime-card]").nth(4).wait_for(state="visible")
                if run:
                    timings.append((time.perf_counter() - started) * 1000)
                page.close()
            browser.close()
    finally:
        stop_app(process)
    return timings


def run_serving_bench(
    users: int = 100_000,
    anime: int = 15_000,
    clients: int = 50,
    per_client: int = 200,
    browser_runs: int = 5,
    redis_url: str | None = None,
    api: bool = True,
    top_n: int = 100,
    top_n_planned: int = 50,
    list_size: int = 100,
    part_users: int = 50_000,
) -> ServingBenchResult:
    import redis

    from animerec_assets.lib.redis_conn import connect

    home = Path(tempfile.mkdtemp(prefix="arB-", dir="/tmp"))
    prefix = BENCH_PREFIX if redis_url else None
    try:
        client = connect(redis_url, home / "redis")
        if not redis_url:
            # a throw-away store: no RDB snapshot (its fork doubles memory under writes), no AOF
            client.config_set("save", "")
            client.config_set("appendonly", "no")
        client.connection_pool.max_connections = max(clients * 2, 64)
        result = ServingBenchResult(
            users, anime, clients, redis_url or f"embedded (unix socket under {home})"
        )
        result.top_n, result.top_n_planned, result.list_size = top_n, top_n_planned, list_size
        result.part_users = part_users
        _publish(client, users, anime, prefix, result)
        print("\n".join(result.publish_lines()), flush=True)  # the rest takes a while
        result.latencies = _lookups(client, users, anime, clients, per_client, prefix, top_n)
        if not api:
            result.api_note = "skipped (--no-api)"
        elif redis_url:
            result.api_note = "skipped (the API reads the default prefix; use embedded)"
        else:
            result.api_latencies, result.filtered_full_share = _api_lookups(
                home, None, users, clients, per_client
            )
        if redis_url:
            result.browser_note = "skipped (the app reads the default prefix; use embedded)"
        elif browser_runs <= 0:
            result.browser_note = "skipped (--browser-runs 0)"
        elif not CHROMIUM.exists():
            result.browser_note = f"skipped ({CHROMIUM} is not installed)"
        else:
            result.browser_ms = _browser_runs(home, users, browser_runs)
        return result
    finally:
        if redis_url:
            client = redis.Redis.from_url(redis_url)
            batch: list[bytes] = []
            for key in client.scan_iter(match=f"{BENCH_PREFIX}:*", count=5000):
                batch.append(key)
                if len(batch) >= 5000:
                    client.unlink(*batch)
                    batch = []
            if batch:
                client.unlink(*batch)
        else:
            with contextlib.suppress(redis.RedisError):
                connect(None, home / "redis", check=False).shutdown(nosave=True)
        shutil.rmtree(home, ignore_errors=True)
