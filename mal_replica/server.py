"""The replica web server: MAL's URL paths and a Jikan-v4 API over one world, on loopback.

A bare ASGI application (regex routing, no framework middleware) served by uvicorn, chosen
for throughput: pages render synchronously from the pre-built index in well under a
millisecond, so the server's own per-request overhead is what bounds pages/s. Faults are
decided before routing (see faults.py); every request is counted per page type and status
so tests can check what a crawler fetched. Admin endpoints live under ``/_replica/`` and are
never faulted or counted.

``run_replica(...)`` starts it in a background thread and yields a handle with the base URLs,
the world and fault controls; leaving the ``with`` block shuts it down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import numpy as np

from mal_replica import hostile, images, jikan
from mal_replica.evolve import evolve_world
from mal_replica.faults import HOSTILE_KINDS, Fault, FaultInjector, FaultRates
from mal_replica.index import WorldIndex
from mal_replica.pages import anime as anime_pages
from mal_replica.pages import animelist as animelist_pages
from mal_replica.pages import layout, listings, urls
from mal_replica.pages import profile as profile_pages
from mal_replica.params import EvolveParams
from mal_replica.world import World, generate_world

HTML = "text/html; charset=UTF-8"
JSON = "application/json"
Send = Callable[[dict], Awaitable[None]]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    base: str
    groups: tuple[str, ...]

    def int_arg(self, name: str, default: int = 0) -> int:
        try:
            return int(self.query.get(name, default))
        except ValueError:
            return default


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = HTML
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def html(body: str, status: int = 200) -> Response:
    return Response(status, body.encode())


def as_json(payload: object, status: int = 200) -> Response:
    return Response(status, json.dumps(payload, separators=(",", ":")).encode(), JSON)


def redirect(location: str) -> Response:
    return Response(301, b"", HTML, [(b"location", location.encode())])


# ----------------------------------------------------------------------------------------------
# handlers: (app, request) -> Response


def _anime(app: ReplicaApp, req: Request) -> tuple[int | None, Response | None]:
    pos = app.index.anime_pos(int(req.groups[0]))
    if pos is None:
        return None, html(layout.not_found_page(req.base), 404)
    return pos, None


def _user(app: ReplicaApp, req: Request) -> tuple[int | None, Response | None]:
    pos = app.index.user_pos(req.groups[0])
    if pos is None:
        return None, html(layout.not_found_page(req.base), 404)
    return pos, None


def anime_handler(section: str) -> Callable[[ReplicaApp, Request], Response]:
    def handle(app: ReplicaApp, req: Request) -> Response:
        pos, missing = _anime(app, req)
        if missing is not None:
            return missing
        ix, base = app.index, req.base
        if section == "":
            return html(anime_pages.anime_page(base, ix, pos))
        if section == "stats":
            return html(anime_pages.anime_stats_page(base, ix, pos, req.int_arg("show")))
        if section == "userrecs":
            return html(anime_pages.anime_userrecs_page(base, ix, pos))
        if section == "reviews":
            return html(anime_pages.anime_reviews_page(base, ix, pos, req.int_arg("p", 1)))
        if section == "pics":
            return html(anime_pages.anime_pics_page(base, ix, pos))
        return html(anime_pages.anime_clubs_page(base, ix, pos))

    return handle


def anime_php(app: ReplicaApp, req: Request) -> Response:
    pos = app.index.anime_pos(req.int_arg("id", -1))
    if pos is None:
        return html(layout.not_found_page(req.base), 404)
    return redirect(urls.anime_url(req.base, app.index, pos))


def profile(app: ReplicaApp, req: Request) -> Response:
    pos, missing = _user(app, req)
    return missing or html(profile_pages.profile_page(req.base, app.index, pos))


def friends(app: ReplicaApp, req: Request) -> Response:
    pos, missing = _user(app, req)
    if missing is not None:
        return missing
    if "offset" in req.query:
        start = req.int_arg("offset")
    else:
        start = (max(req.int_arg("p", 1), 1) - 1) * profile_pages.FRIENDS_PER_PAGE
    status, body = profile_pages.friends_page(req.base, app.index, pos, start)
    return html(body, status)


def profile_clubs(app: ReplicaApp, req: Request) -> Response:
    pos, missing = _user(app, req)
    return missing or html(profile_pages.profile_clubs_page(req.base, app.index, pos))


def history(app: ReplicaApp, req: Request) -> Response:
    pos, missing = _user(app, req)
    return missing or html(profile_pages.history_page(req.base, app.index, pos))


def load_json(app: ReplicaApp, req: Request) -> Response:
    pos = app.index.user_pos(req.groups[0])
    if pos is None or app.index.private[pos]:  # MAL answers a hidden list as an unknown user
        return as_json({"errors": [{"message": "invalid request"}]}, 400)
    rows = animelist_pages.load_json(
        req.base, app.index, pos, req.int_arg("offset"), req.int_arg("status", 7)
    )
    return as_json(rows)


def animelist(app: ReplicaApp, req: Request) -> Response:
    pos, missing = _user(app, req)
    status = req.int_arg("status", 7)
    return missing or html(animelist_pages.animelist_page(req.base, app.index, pos, status))


def topanime(app: ReplicaApp, req: Request) -> Response:
    kind = req.query.get("type", "")
    return html(listings.topanime_page(req.base, app.index, req.int_arg("limit"), kind))


def users_php(app: ReplicaApp, req: Request) -> Response:
    return html(listings.users_page(req.base, app.index, app.next_random_users()))


def home(app: ReplicaApp, req: Request) -> Response:
    return html(layout.home_page(req.base))


def robots(app: ReplicaApp, req: Request) -> Response:
    return Response(200, layout.robots_txt(req.base).encode(), "text/plain; charset=UTF-8")


def anime_image(app: ReplicaApp, req: Request) -> Response:
    pic_id = int(req.groups[1])
    pics = app.index.t.pictures["pic_id"]
    pos = int(np.searchsorted(pics, pic_id))
    if pos >= len(pics) or pics[pos] != pic_id:
        return html(layout.not_found_page(req.base), 404)
    return Response(200, images.jpeg("anime", pic_id, bool(req.groups[2])), "image/jpeg")


def user_image(app: ReplicaApp, req: Request) -> Response:
    return Response(200, images.jpeg("user", int(req.groups[0])), "image/jpeg")


def spacer(app: ReplicaApp, req: Request) -> Response:
    return Response(200, images.SPACER_GIF, "image/gif")


def jikan_anime(kind: str) -> Callable[[ReplicaApp, Request], Response]:
    def handle(app: ReplicaApp, req: Request) -> Response:
        pos = app.index.anime_pos(int(req.groups[0]))
        if pos is None:
            return as_json(jikan.not_found(f"https://myanimelist.net/anime/{req.groups[0]}/"), 404)
        ix, base = app.index, req.base
        if kind == "full":
            return as_json({"data": jikan.anime_full(base, ix, pos)})
        if kind == "statistics":
            return as_json({"data": jikan.anime_statistics(ix, pos)})
        if kind == "recommendations":
            return as_json({"data": jikan.anime_recommendations(base, ix, pos)})
        if kind == "reviews":
            return as_json(jikan.anime_reviews(base, ix, pos, req.int_arg("page", 1)))
        if kind == "pictures":
            return as_json({"data": jikan.anime_pictures(base, ix, pos)})
        return as_json({"data": jikan.relations(base, ix, pos)})

    return handle


def jikan_user(kind: str) -> Callable[[ReplicaApp, Request], Response]:
    def handle(app: ReplicaApp, req: Request) -> Response:
        pos = app.index.user_pos(req.groups[0])
        if pos is None:
            url = f"https://myanimelist.net/profile/{req.groups[0]}"
            return as_json(jikan.not_found(url), 404)
        ix, base = app.index, req.base
        if kind == "full":
            return as_json({"data": jikan.user_full(base, ix, pos)})
        if kind == "profile":
            return as_json({"data": jikan.user_profile(base, ix, pos)})
        if kind == "statistics":
            return as_json({"data": jikan.user_statistics(ix, pos)})
        if kind == "favorites":
            return as_json({"data": jikan.user_favorites(base, ix, pos)})
        if kind == "friends":
            return as_json(jikan.user_friends(base, ix, pos, req.int_arg("page", 1)))
        return as_json({"data": jikan.user_history(base, ix, pos)})

    return handle


# (pattern, page type, handler, faults by rate apply?)
USER = r"([A-Za-z0-9_\-]{2,16})"
ROUTES: list[tuple[re.Pattern[str], str, Callable[[ReplicaApp, Request], Response], bool]] = [
    (re.compile(r"^/$"), "home", home, True),
    (re.compile(r"^/robots\.txt$"), "robots", robots, False),
    (re.compile(r"^/anime/(\d+)(?:/[^/]*)?/?$"), "anime", anime_handler(""), True),
    *[
        (
            re.compile(rf"^/anime/(\d+)/[^/]*/{section}/?$"),
            f"anime_{section}",
            anime_handler(section),
            True,
        )
        for section in anime_pages.ANIME_SECTIONS
    ],
    (re.compile(r"^/anime\.php$"), "anime_redirect", anime_php, True),
    (re.compile(rf"^/profile/{USER}/?$"), "profile", profile, True),
    (re.compile(rf"^/profile/{USER}/friends/?$"), "friends", friends, True),
    (re.compile(rf"^/profile/{USER}/clubs/?$"), "profile_clubs", profile_clubs, True),
    (re.compile(rf"^/history/{USER}(?:/anime)?/?$"), "history", history, True),
    (re.compile(rf"^/animelist/{USER}/load\.json$"), "animelist_json", load_json, True),
    (re.compile(rf"^/animelist/{USER}/?$"), "animelist", animelist, True),
    (re.compile(r"^/topanime\.php$"), "topanime", topanime, True),
    (re.compile(r"^/users\.php$"), "users", users_php, True),
    (re.compile(r"^/images/anime/(\d+)/(\d+)(l?)\.jpg$"), "image", anime_image, False),
    (re.compile(r"^/images/userimages/(\d+)\.jpg$"), "image", user_image, False),
    (re.compile(r"^/images/(?:spacer|qm_50)\.gif$"), "image", spacer, False),
    *[
        (
            re.compile(rf"^/jikan/v4/anime/(\d+){suffix}/?$"),
            f"jikan_anime_{kind}",
            jikan_anime(kind),
            True,
        )
        for suffix, kind in (
            ("/full", "full"),
            ("", "full"),
            ("/statistics", "statistics"),
            ("/recommendations", "recommendations"),
            ("/reviews", "reviews"),
            ("/pictures", "pictures"),
            ("/relations", "relations"),
        )
    ],
    *[
        (
            re.compile(rf"^/jikan/v4/users/{USER}{suffix}/?$"),
            f"jikan_user_{kind}",
            jikan_user(kind),
            True,
        )
        for suffix, kind in (
            ("/full", "full"),
            ("", "profile"),
            ("/statistics", "statistics"),
            ("/favorites", "favorites"),
            ("/friends", "friends"),
            ("/history(?:/anime)?", "history"),
        )
    ],
]


def _mangle(body: bytes, fault: Fault, is_json: bool) -> bytes:
    """Truncated: cut the body short. Malformed: keep a prefix, then broken markup/JSON."""
    cut = max(1, int(len(body) * (0.25 + 0.5 * fault.draw)))
    if fault.kind == "truncated":
        return body[:cut]
    junk = b'{"data": [{"mal_id": ,, ' if is_json else b'<div class="<<span <td></table></p'
    return body[: cut // 2] + junk + b"\x00\xff"


# Pages that count as one crawl of a profile or an anime (``evolve_every``).
ENTRY_PAGE_KINDS = frozenset({"profile", "anime", "jikan_user_full", "jikan_anime_full"})


class ReplicaApp:
    """The ASGI application: routing, faults, counters, admin endpoints.

    The world can move (``evolve``): on ``POST /_replica/evolve``, or by itself after every
    ``evolve_every`` profile/anime pages served. Both run on the server's event loop, between
    two requests, so a page is always rendered from one world and its one index.
    """

    def __init__(
        self,
        world: World,
        faults: FaultInjector | None = None,
        log_size: int = 2000,
        fault_control: bool = False,
        evolve_every: int | None = None,
        evolve_params: EvolveParams | None = None,
    ) -> None:
        if evolve_every is not None and evolve_every < 1:
            raise ValueError(f"evolve_every must be >= 1, got {evolve_every}")
        self.world = world
        # /_replica/faults over HTTP: only when started with faults enabled (anyone who can
        # reach the port could otherwise make the replica lie to a crawl)
        self.fault_control = fault_control
        self.index = WorldIndex(world)
        self.evolve_every = evolve_every
        self.evolve_params = evolve_params or EvolveParams()
        self.evolve_params.validate()
        self.entry_pages_served = 0
        self.faults = faults or FaultInjector(FaultRates(seed=world.params.seed))
        self.counts: Counter[tuple[str, int]] = Counter()
        self.log: deque[dict] = deque(maxlen=log_size)
        self._users_draws = 0
        self._lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------------
    @property
    def round(self) -> int:
        return int(self.world.meta.get("round", 0))

    def evolve(self, rounds: int = 1) -> dict:
        """Move the world ``rounds`` rounds on; the index is rebuilt before the switch."""
        world = self.world
        for _ in range(rounds):
            world = evolve_world(world, int(world.meta.get("round", 0)) + 1, self.evolve_params)
        index = WorldIndex(world)
        self.world, self.index = world, index
        return {"round": self.round, "world": world.summary()}

    def _count_entry_page(self, kind: str, status: int) -> None:
        if self.evolve_every is None or kind not in ENTRY_PAGE_KINDS or status != 200:
            return
        self.entry_pages_served += 1
        if self.entry_pages_served % self.evolve_every == 0:
            self.evolve()

    def next_random_users(self, count: int = 20) -> np.ndarray:
        """users.php: a fresh random sample per call, deterministic in call order."""
        with self._lock:
            draw = self._users_draws
            self._users_draws += 1
        rng = np.random.default_rng([self.world.params.seed, draw])
        n = len(self.index.usernames)
        return rng.choice(n, size=min(count, n), replace=False)

    def stats(self) -> dict:
        with self._lock:
            items = list(self.counts.items())
        by_type: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        detail: dict[str, dict[str, int]] = {}
        for (kind, status), n in items:
            by_type[kind] += n
            by_status[str(status)] += n
            detail.setdefault(kind, {})[str(status)] = n
        return {
            "total": sum(by_type.values()),
            "by_page_type": dict(by_type),
            "by_status": dict(by_status),
            "by_page_type_status": detail,
        }

    def reset_stats(self) -> None:
        with self._lock:
            self.counts.clear()
            self.log.clear()

    def route(self, path: str) -> tuple[str, Callable, bool, tuple[str, ...]]:
        for pattern, kind, handler, rates_apply in ROUTES:
            match = pattern.match(path)
            if match:
                return kind, handler, rates_apply, match.groups()
        return "not_found", None, True, ()

    # -- ASGI --------------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Callable, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope["path"]
        raw_query = scope.get("query_string", b"").decode("latin-1")
        host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode("latin-1")
        base = f"{scope.get('scheme', 'http')}://{host}"
        if path.startswith("/_replica/"):
            body = await _read_body(receive)
            await _send(send, self.admin(scope["method"], path, raw_query, body))
            return
        query = {k: v[0] for k, v in parse_qs(raw_query).items()}
        kind, handler, rates_apply, groups = self.route(path)
        is_json = kind.startswith("jikan") or kind == "animelist_json"
        url = f"{path}?{raw_query}" if raw_query else path
        fault = self.faults.decide(url, path, rates_apply)
        started = time.perf_counter()
        response = self.faulted(fault, base, is_json)
        if response is None:
            if fault is not None and fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            if handler is None:
                response = html(layout.not_found_page(base), 404)
            else:
                request = Request(scope["method"], path, query, base, groups)
                try:
                    response = handler(self, request)
                except Exception as error:  # a bug must answer 500, not kill the server
                    response = html(f"<h1>500 Internal Server Error</h1><p>{error!r}</p>", 500)
            if fault is not None and fault.kind in ("truncated", "malformed"):
                response.body = _mangle(response.body, fault, is_json)
            elif fault is not None and fault.kind in HOSTILE_KINDS and response.status == 200:
                response.body = hostile.rewrite_body(fault.kind, response.body, is_json)
        if scope["method"] == "HEAD":
            response.body = b""
        self._count_entry_page(kind, response.status)
        with self._lock:
            self.counts[(kind, response.status)] += 1
            self.log.append(
                {
                    "path": url,
                    "page_type": kind,
                    "status": response.status,
                    "fault": fault.kind if fault else None,
                    "ms": round((time.perf_counter() - started) * 1000, 3),
                }
            )
        await _send(send, response)

    def faulted(self, fault: Fault | None, base: str, is_json: bool) -> Response | None:
        """The response a status-changing fault answers with (None for body/latency faults)."""
        if fault is not None and fault.kind == "offhost_redirect":
            return Response(302, b"", HTML, [(b"location", (fault.location or "").encode())])
        if fault is None or fault.kind in ("slow", "truncated", "malformed", *HOSTILE_KINDS):
            return None
        if fault.kind == "not_found":
            if is_json:
                return as_json(jikan.not_found("replica"), 404)
            return html(layout.not_found_page(base), 404)
        if fault.kind == "rate_limit":
            headers = [(b"retry-after", str(fault.retry_after or 0).encode())]
            if is_json:
                response = as_json(jikan.rate_limited(), fault.status)
            else:
                response = html("<html><body><h1>Too Many Requests</h1></body></html>", 429)
                response.status = fault.status
            response.headers = headers
            return response
        if is_json:
            return as_json(jikan.server_error(fault.status), fault.status)
        return html("<html><body><h1>Service Unavailable</h1></body></html>", fault.status)

    def admin(self, method: str, path: str, raw_query: str, body: bytes) -> Response:
        try:
            if path == "/_replica/health":
                return as_json({"ok": True, "round": self.round, "world": self.world.summary()})
            if path == "/_replica/faults" and not self.fault_control:
                return as_json({"error": "fault control is off (start with faults enabled)"}, 404)
            if path == "/_replica/evolve":
                if method != "POST":
                    return as_json({"round": self.round, "evolve_every": self.evolve_every})
                payload = json.loads(body or b"{}")
                rounds = payload.get("rounds", 1) if isinstance(payload, dict) else None
                if not isinstance(rounds, int) or not 1 <= rounds <= 100:
                    raise ValueError("rounds must be an integer in 1..100")
                return as_json(self.evolve(rounds))
            if path == "/_replica/faults":
                if method == "GET":
                    return as_json(self.faults.snapshot())
                if method == "DELETE":
                    self.faults.reset()
                    return as_json(self.faults.snapshot())
                if method == "POST":
                    payload = json.loads(body or b"{}")
                    if not isinstance(payload, dict):
                        raise ValueError("expected a JSON object")
                    self.faults.configure(
                        rates=payload.get("rates"),
                        rules=payload.get("rules"),
                        replace_rules=bool(payload.get("replace_rules", False)),
                    )
                    return as_json(self.faults.snapshot())
            if path == "/_replica/stats":
                if method == "DELETE":
                    self.reset_stats()
                return as_json(self.stats())
            if path == "/_replica/log":
                n = int(parse_qs(raw_query).get("n", ["100"])[0])
                with self._lock:
                    entries = list(self.log)[-n:]
                return as_json(entries)
        except (ValueError, TypeError) as error:
            return as_json({"error": str(error)}, 400)
        return as_json({"error": f"no admin endpoint {method} {path}"}, 404)


async def _read_body(receive: Callable) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Send, response: Response) -> None:
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(response.body)).encode()),
        *response.headers,
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


# ----------------------------------------------------------------------------------------------
# running it


@dataclass
class ReplicaHandle:
    """A running replica: where it is, what it serves, and its fault/stat controls."""

    app: ReplicaApp
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def jikan_base_url(self) -> str:
        return f"{self.base_url}/jikan/v4"

    @property
    def world(self) -> World:
        return self.app.world

    def set_fault_rates(self, **rates: float) -> None:
        self.app.faults.configure(rates=rates)

    def add_fault_rule(self, path: str, fault: str, remaining: int | None = 1, **extra) -> None:
        self.app.faults.configure(
            rules=[{"path": path, "fault": fault, "remaining": remaining, **extra}]
        )

    def clear_faults(self) -> None:
        self.app.faults.reset()

    def stats(self) -> dict:
        return self.app.stats()

    def reset_stats(self) -> None:
        self.app.reset_stats()

    def evolve(self, rounds: int = 1) -> dict:
        """Move the world on (through the admin endpoint, so on the server's own loop)."""
        import urllib.request

        request = urllib.request.Request(
            f"{self.base_url}/_replica/evolve",
            data=json.dumps({"rounds": rounds}).encode(),
            method="POST",
            headers={"content-type": JSON},
        )
        with urllib.request.urlopen(request, timeout=120) as answer:
            return json.loads(answer.read())


class ReplicaServer:
    """uvicorn in a background thread; ``start()`` returns once the socket is listening."""

    def __init__(self, app: ReplicaApp, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.app = app
        self.config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="uvloop",
            http="httptools",
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="mal-replica", daemon=True)

    def start(self, timeout: float = 30.0) -> ReplicaHandle:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the replica server failed to start (is the port in use?)")
            if time.monotonic() > deadline:
                raise TimeoutError("the replica server did not start in time")
            time.sleep(0.01)
        sockets = [s for server in self.server.servers for s in server.sockets]
        host, port = sockets[0].getsockname()[:2]
        return ReplicaHandle(self.app, host, port)

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


@contextlib.contextmanager
def run_replica(
    n_users: int = 2000,
    n_anime: int = 1000,
    seed: int = 0,
    port: int = 0,
    host: str = "127.0.0.1",
    world: World | None = None,
    fault_rates: dict | None = None,
    fault_control: bool = True,
    evolve_every: int | None = None,
    evolve_params: EvolveParams | None = None,
    **world_overrides: object,
) -> Iterator[ReplicaHandle]:
    """Serve a world (given, or generated from the arguments) until the block exits. In this
    in-process harness ``/_replica/faults`` is on by default (the caller is a test)."""
    world = world or generate_world(n_users, n_anime, seed, **world_overrides)
    app = ReplicaApp(
        world, fault_control=fault_control, evolve_every=evolve_every, evolve_params=evolve_params
    )
    if fault_rates:
        app.faults.configure(rates=fault_rates)
    server = ReplicaServer(app, host, port)
    handle = server.start()
    try:
        yield handle
    finally:
        server.stop()
