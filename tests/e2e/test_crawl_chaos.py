"""Chaos on the production crawl path: crawler workers killed at random points, then recovery.

A small replica world (30 users, 20 anime) is crawled by ``animerec crawl worker`` processes
on a private Redis (append-only file). The URLs are enqueued by a process killed midway, then
enqueued again in full. At least 20 worker runs then die with SIGKILL at a random crash point
(before the crawl, between the spider's write and the rename, between the rename and the
manifest marker, between the marker and the ack, in the middle of the items-stream sink's
batch, or at a random moment from outside), some with the Redis server killed and restarted
under them. A clean worker then recovers (reclaims what the dead left pending) and landing
loads the batches the manifest names.

After recovery: every key of the world is in landing (0 lost), nothing that is not in the
world is (0 phantom), no item landed twice (0 exact duplicates), the latest crawl per key holds
the world's values, and the items stream holds no item twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import redis

from animerec_assets.lib.crawl_manifest import backlog, batches_for_hour, mark_loaded
from animerec_assets.lib.landing import items_to_landing_frames, read_jsonl_items
from animerec_assets.lib.landing_tables import append_landing
from crawler.profiles import LOOPBACK_SCRAPY_SETTINGS
from crawler.queue import CrawlQueue
from crawler.sinks import decode_entry
from mal_replica.export import processed_tables

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
MAL = "https://myanimelist.net"
USERS, ANIME, SEED = 30, 20, 13
RUNS = 22
STREAM, GROUP, ITEMS_STREAM = "chaos:crawl", "workers", "chaos:items"
HOUR = "2024-05-01 13:00:00"
# where a worker (or its spider) dies: named crash points, and "outside" (a kill at a random
# moment of the run)
CRASH_POINTS = [
    "worker.before_crawl",
    "worker.before_rename",
    "worker.before_manifest",
    "worker.before_ack",
    "sink.after_send",
    "outside",
]


@pytest.fixture
def replica():
    server = pytest.importorskip("mal_replica.server")
    with server.run_replica(n_users=USERS, n_anime=ANIME, seed=SEED) as running:
        yield running


def _worker_env(replica, private_redis, home: Path, crash_at: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "ANIMEREC_ENV": "local",
        "ANIMEREC_HOME": str(home),
        "ANIMEREC_MAL_BASE_URL": replica.base_url,
        "ANIMEREC_JIKAN_BASE_URL": replica.jikan_base_url,
        "ANIMEREC_SCRAPY_SETTINGS": json.dumps(LOOPBACK_SCRAPY_SETTINGS),
        "REDIS_URL": private_redis.url,
    }
    env.pop("ANIMEREC_CRASH_AT", None)
    if crash_at:
        env["ANIMEREC_CRASH_AT"] = crash_at
    return env


def _start_worker(
    env: dict[str, str], items: Path, name: str, batch_size: int = 6
) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "animerec_cli.main", "crawl", "worker",
        "--redis-url", env["REDIS_URL"], "--stream", STREAM, "--group", GROUP,
        "--consumer-prefix", name, "--batch-size", str(batch_size), "--block-ms", "200",
        "--reclaim-idle-ms", "1000", "--max-deliveries", "1000", "--no-mark-crawled",
        "--output-dir", str(items), "--give-up-after-s", "60",
        "-s", "ANIMEREC_SINKS=queue", "-s", f"ANIMEREC_ITEMS_STREAM={ITEMS_STREAM}",
        "-s", "ANIMEREC_QUEUE_BATCH=7", "-s", "LOG_LEVEL=WARNING",
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the test kills the worker with its spider
    )


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _queue(url: str) -> CrawlQueue:
    return CrawlQueue(redis.Redis.from_url(url, socket_timeout=5), STREAM, GROUP)


ENQUEUE_ONE_BY_ONE = """
import sys, redis
from crawler.queue import CrawlQueue
queue = CrawlQueue(redis.Redis.from_url(sys.argv[1]), sys.argv[2], sys.argv[3])
for line in sys.stdin:
    kind, url = line.split()
    queue.enqueue(kind, [url])
    print(url, flush=True)
"""


def _enqueue_killed_midway(url: str, urls: list[tuple[str, str]]) -> int:
    """Enqueue in a process killed after a third of the URLs; returns how many it added."""
    process = subprocess.Popen(
        [sys.executable, "-c", ENQUEUE_ONE_BY_ONE, url, STREAM, GROUP],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("".join(f"{kind} {u}\n" for kind, u in urls))
    process.stdin.flush()
    done = 0
    while done < len(urls) // 3:
        if process.stdout.readline():
            done += 1
    process.kill()
    process.wait(timeout=10)
    return done


def _stream_length(url: str) -> int:
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return int(client.xlen(ITEMS_STREAM))
    except redis.RedisError:
        return 0
    finally:
        client.close()


def _wait_drained(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            stats = _queue(url).stats()
            if stats.length == 0 and stats.pending == 0:
                return
        except redis.RedisError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the queue did not drain within {timeout_s}s: {_queue(url).stats()}")


def _land(items: Path, warehouse: Path) -> int:
    """What production landing does (minus Dagster): load the batches the manifest names."""
    batches = batches_for_hour(items, HOUR)
    frames = items_to_landing_frames(read_jsonl_items([b.items_file for b in batches]), HOUR)
    with duckdb.connect(str(warehouse)) as connection:
        for item_type, frame in frames.items():
            append_landing(connection, item_type, frame)
    mark_loaded(items, HOUR, batches)
    return len(batches)


@pytest.mark.timeout(1500)
def test_workers_killed_at_random_points_lose_and_duplicate_nothing(
    replica, private_redis, tmp_path: Path
) -> None:
    rng = random.Random(20261129)
    world = replica.world
    usernames = sorted(processed_tables(world)["user"]["user_id"].astype(str))
    anime_ids = sorted(int(i) for i in world.anime["anime_id"])
    urls = [("anime", f"{MAL}/anime/{i}") for i in anime_ids]
    urls += [("profile", f"{MAL}/profile/{u}") for u in usernames]
    rng.shuffle(urls)
    items, home, warehouse = tmp_path / "items", tmp_path / "home", tmp_path / "wh.duckdb"

    # during enqueue: the enqueuing process dies after a third; the step is run again in full
    assert _enqueue_killed_midway(private_redis.url, urls) >= len(urls) // 3
    queue = _queue(private_redis.url)
    for kind in ("anime", "profile"):
        queue.enqueue(kind, [u for k, u in urls if k == kind])

    outcomes: list[tuple[str, str]] = []
    for run in range(RUNS):
        if _queue(private_redis.url).stats().backlog < 6:  # the next hour's batch
            for kind in ("anime", "profile"):
                queue.enqueue(kind, [u for k, u in urls if k == kind])
        point = CRASH_POINTS[run % len(CRASH_POINTS)] if run < 12 else rng.choice(CRASH_POINTS)
        nth = 1 if point == "sink.after_send" else rng.randint(1, 2)
        crash_at = None if point == "outside" else f"{point}:{nth}"
        streamed_before = _stream_length(private_redis.url)
        worker = _start_worker(
            _worker_env(replica, private_redis, home, crash_at), items, f"chaos{run}", 3
        )
        restart_redis = run % 7 == 3
        wait_s = rng.uniform(2.0, 8.0) if point == "outside" else 45.0
        deadline = time.monotonic() + wait_s
        while worker.poll() is None and time.monotonic() < deadline:
            if restart_redis and time.monotonic() > deadline - wait_s + 2.0:
                private_redis.kill()  # the queue's server dies under the worker...
                time.sleep(1.0)
                private_redis.start()  # ...and comes back with its append-only file
                restart_redis = False
            if point == "sink.after_send" and _stream_length(private_redis.url) > streamed_before:
                break  # a spider died right after its batch reached the stream
            time.sleep(0.2)
        died_at_its_point = worker.poll() == -signal.SIGKILL
        # a spider killed at its crash point fails only its batch: the worker goes on, so it
        # is killed from outside too (as is any worker whose crash point was not reached)
        _kill(worker)
        if point == "sink.after_send":  # the spider died after its batch reached the stream
            died_at_its_point = _stream_length(private_redis.url) > streamed_before
        outcomes.append((point, "crashed there" if died_at_its_point else "killed from outside"))
    assert len(outcomes) >= 20
    for point in CRASH_POINTS[:-1]:
        assert (point, "crashed there") in outcomes, f"{point} was never reached: {outcomes}"

    # recovery: one clean worker takes over whatever the dead ones left pending
    rescuer = _start_worker(
        _worker_env(replica, private_redis, home, None), items, "rescuer", batch_size=25
    )
    try:
        _wait_drained(private_redis.url, 300)
        time.sleep(0.5)
    finally:
        os.killpg(rescuer.pid, signal.SIGTERM)
        try:
            rescuer.wait(timeout=60)
        except subprocess.TimeoutExpired:
            _kill(rescuer)
    assert _land(items, warehouse) > 0 and backlog(items) == 0
    orphans = {p.stem for p in items.glob("*.jsonl")} - {
        p.stem for p in (items / ".loaded").rglob("*.json")
    }
    print(f"chaos outcomes: {outcomes}; orphan batch files (never loaded): {len(orphans)}")

    with duckdb.connect(str(warehouse), read_only=True) as db:
        for table in ("anime", "anime_stats", "user", "user_anime", "user_user"):
            rows, distinct, nulls = db.execute(
                f"SELECT count(*), count(DISTINCT item_id), count(*) - count(item_id) "
                f'FROM landing."{table}"'
            ).fetchone()
            assert nulls == 0 and rows == distinct, f"{table}: exact repeats landed"
        landed_anime = {
            r[0] for r in db.execute("SELECT DISTINCT anime_id FROM landing.anime").fetchall()
        }
        landed_users = {
            r[0] for r in db.execute('SELECT DISTINCT user_id FROM landing."user"').fetchall()
        }
        latest_lists = db.execute(
            """SELECT user_id, anime_id, score, progress FROM landing.user_anime
               QUALIFY row_number() OVER (
                   PARTITION BY lower(user_id), anime_id
                   ORDER BY crawl_date DESC, item_id) = 1"""
        ).df()
    assert landed_anime == set(anime_ids)  # 0 lost, 0 phantom
    assert landed_users == set(usernames)

    truth = processed_tables(world)["user_anime"]
    # user names are case-insensitive keys (staging keys on lower(user_id))
    truth_keys = {
        (str(u).lower(), int(a)) for u, a in zip(truth["user_id"], truth["anime_id"], strict=True)
    }
    landed_keys = {
        (str(u).lower(), int(a))
        for u, a in zip(latest_lists["user_id"], latest_lists["anime_id"], strict=True)
    }
    assert landed_keys == truth_keys
    assert len(latest_lists) == len(truth_keys)  # one latest row per key: 0 duplicates

    stream = redis.Redis.from_url(private_redis.url)
    streamed = [decode_entry(fields) for _, fields in stream.xrange(ITEMS_STREAM)]
    ids = [item["item_id"] for item in streamed]
    assert len(ids) == len(set(ids)), "the items stream holds an item twice"
    assert {i["anime_id"] for i in streamed if i["item_type"] == "anime"} == set(anime_ids)
