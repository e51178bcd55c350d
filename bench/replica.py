"""``animerec bench replica``: world generation time, time to serving, and pages/s on loopback.

The server runs in a child process (as ``animerec replica serve`` would) and the clients in
others, so nothing shares the server's interpreter lock. Each client process holds one
keep-alive connection (stdlib http.client: the cheapest client, so the figure measures the
server) and fetches a fixed, shuffled mix of page types for a fixed duration.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

PAGE_MIX = (
    "anime",
    "anime_stats",
    "anime_userrecs",
    "anime_reviews",
    "profile",
    "friends",
    "history",
    "load_json",
    "jikan_anime",
    "jikan_user",
)


def sample_paths(world, count: int = 2000, seed: int = 0) -> list[tuple[str, str]]:
    """(page type, path) pairs spread over the world, in a deterministic shuffled order."""
    rng = np.random.default_rng(seed)
    anime = world.anime
    users = world.users["username"].to_numpy()
    paths = []
    for i in range(count):
        kind = PAGE_MIX[i % len(PAGE_MIX)]
        a = int(rng.integers(len(anime)))
        u = str(users[int(rng.integers(len(users)))])
        base = f"/anime/{anime['anime_id'].iat[a]}/{anime['slug'].iat[a]}"
        path = {
            "anime": base,
            "anime_stats": f"{base}/stats",
            "anime_userrecs": f"{base}/userrecs",
            "anime_reviews": f"{base}/reviews",
            "profile": f"/profile/{u}",
            "friends": f"/profile/{u}/friends",
            "history": f"/history/{u}/anime",
            "load_json": f"/animelist/{u}/load.json?status=7&offset=0",
            "jikan_anime": f"/jikan/v4/anime/{anime['anime_id'].iat[a]}/full",
            "jikan_user": f"/jikan/v4/users/{u}/full",
        }[kind]
        paths.append((kind, path))
    order = rng.permutation(len(paths))
    return [paths[i] for i in order]


def _serve_child(n_users: int, n_anime: int, seed: int, queue, stop) -> None:
    from mal_replica.server import ReplicaApp, ReplicaServer
    from mal_replica.world import generate_world

    started = time.perf_counter()
    world = generate_world(n_users, n_anime, seed)
    generated = time.perf_counter()
    server = ReplicaServer(ReplicaApp(world), port=0)
    handle = server.start()
    ready = time.perf_counter()
    queue.put(
        {
            "generate_s": generated - started,
            "serve_s": ready - generated,
            "ready_s": ready - started,
            "base_url": handle.base_url,
            "summary": world.summary(),
            "paths": sample_paths(world),
        }
    )
    stop.wait()
    server.stop()


@dataclass
class ReplicaBench:
    n_users: int
    n_anime: int
    generate_s: float
    serve_s: float
    ready_s: float
    summary: dict
    duration_s: float = 0.0
    wall_s: float = 0.0
    concurrency: int = 0
    requests: int = 0
    errors: int = 0
    bytes_received: int = 0
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def report(self) -> str:
        lines = [
            f"world {self.n_users} users x {self.n_anime} anime: {self.summary}",
            f"world generation        {self.generate_s:8.2f} s",
            f"index + server start    {self.serve_s:8.2f} s",
            f"time until serving      {self.ready_s:8.2f} s (generation included)",
            f"mixed pages             {self.requests / self.duration_s:8.0f} pages/s "
            f"({self.requests} in {self.duration_s:.1f} s, {self.concurrency} concurrent, "
            f"{self.errors} errors, {self.bytes_received / self.duration_s / 1e6:.1f} MB/s)",
            "per page type           mean ms    p95 ms",
        ]
        for kind in PAGE_MIX:
            values = np.asarray(self.latency_ms.get(kind, [np.nan]))
            lines.append(
                f"  {kind:20s} {np.nanmean(values):9.2f} {np.nanpercentile(values, 95):9.2f}"
            )
        return "\n".join(lines)


def _client_worker(base_url: str, paths, seconds: float, offset: int, queue) -> None:
    """One keep-alive connection fetching pages back to back (stdlib: least client cost)."""
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(base_url)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    latency: dict[str, list[float]] = defaultdict(list)
    requests = errors = received = 0
    deadline = time.perf_counter() + seconds
    i = offset
    while time.perf_counter() < deadline:
        kind, path = paths[i % len(paths)]
        i += 1
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        latency[kind].append((time.perf_counter() - started) * 1000)
        requests += 1
        received += len(body)
        errors += response.status != 200
    connection.close()
    queue.put((requests, errors, received, dict(latency)))


def run_replica_bench(
    n_users: int = 2000,
    n_anime: int = 1000,
    seed: int = 0,
    seconds: float = 10.0,
    concurrency: int = 4,
) -> ReplicaBench:
    context = mp.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    child = context.Process(
        target=_serve_child, args=(n_users, n_anime, seed, queue, stop), daemon=True
    )
    child.start()
    try:
        info = queue.get(timeout=600)
        bench = ReplicaBench(
            n_users=n_users,
            n_anime=n_anime,
            generate_s=info["generate_s"],
            serve_s=info["serve_s"],
            ready_s=info["ready_s"],
            summary=info["summary"],
            concurrency=concurrency,
        )
        results = context.Queue()
        clients = [
            context.Process(
                target=_client_worker,
                args=(info["base_url"], info["paths"], seconds, k * 97, results),
                daemon=True,
            )
            for k in range(concurrency)
        ]
        started = time.perf_counter()
        for client in clients:
            client.start()
        for _ in clients:
            requests, errors, received, latency = results.get(timeout=seconds + 120)
            bench.requests += requests
            bench.errors += errors
            bench.bytes_received += received
            for kind, values in latency.items():
                bench.latency_ms[kind].extend(values)
        bench.duration_s = seconds
        for client in clients:
            client.join(10)
        bench.wall_s = time.perf_counter() - started
        return bench
    finally:
        stop.set()
        child.join(15)
        if child.is_alive():
            child.terminate()
