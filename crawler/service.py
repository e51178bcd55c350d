"""The crawl web service: a small HTTP front door to the scheduler, the queue and the spiders.

The Streamlit app calls ``POST /enqueue`` with the profile URL (or username) of a user it does
not know yet, then ``GET /profiles/{username}`` to show the visitor how far that crawl got;
operators use ``/seed``, ``/crawl``, ``/jobs/{id}`` and ``/stats``.

It faces callers it cannot trust, and every profile crawl costs MAL up to ~120 requests, so:

- **Auth.** With ``ANIMEREC_SERVICE_TOKEN`` set, every endpoint but ``/health`` wants
  ``Authorization: Bearer <token>`` (FastAPI's ``HTTPBearer``, constant-time comparison). In
  ``prod`` the service refuses to start without a token.
- **Limits.** Per-client rate limits (the ``limits`` library, moving window, keyed by the
  client's address), a request body cap enforced before anything is parsed (``BodyLimit``: the
  declared Content-Length, then the bytes actually received), at most ``max_urls`` URLs a call.
  Rate and token are checked by ``Guard`` from the headers alone, before any body is read.
  ``/openapi.json`` and ``/docs`` are open (rate limited): they describe, they do nothing.
- **Errors say what was wrong, never echo the input** (no values, no server paths).
- **Crawls and seeding are jobs.** ``/crawl`` and ``/seed`` answer 202 with a job id at once;
  a separate pool of ``max_concurrent_jobs`` threads runs them (the spider subprocess never
  holds a request thread), ``max_waiting_jobs`` more may wait, anything beyond gets 429.
  ``GET /jobs/{id}`` tells the status. Jobs live in this process (lost on restart).
- **/health never waits** behind any of that: it is async and runs its two checks on its own
  small thread pool with a timeout.
- **Enqueue is idempotent and bounded** (see ``crawler/queue.py``): a URL already waiting is not
  queued again, and a full queue answers 503 instead of dropping anything.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem
from limits import parse as parse_rate
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, Field, StrictInt, StrictStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crawler.queue import Queue, QueueFullError
from crawler.scheduler import CrawlScheduler
from crawler.scheduler.seed import SeedResult, seed_scheduler
from crawler.scheduler.urls import (
    KINDS,
    MAX_URL_LENGTH,
    USERNAME_PATTERN,
    Kind,
    canonicalize,
    crawl_key,
    profile_url,
)
from crawler.worker import CrawlFunction, SinkSettings, crawl_batch

if TYPE_CHECKING:
    from animerec_assets.settings import Settings

log = logging.getLogger(__name__)

MAX_URLS_PER_REQUEST = 100
MAX_CRAWL_URLS_PER_REQUEST = 50
MAX_SEED_PAGES = 100
MIN_TOKEN_LENGTH = 16
MAX_ANIME_ID = 9_999_999_999  # ten digits: what the scheduler's canonical URLs allow
OPEN_PATHS = frozenset({"/health"})  # no token, no rate limit
PUBLIC_DOCS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
RATE_GROUPS = {"/enqueue": "enqueue", "/crawl": "job", "/seed": "job"}  # any other: "read"

PositiveAnimeId = Annotated[StrictInt, Field(gt=0, le=MAX_ANIME_ID)]
UrlText = Annotated[StrictStr, Field(min_length=1, max_length=MAX_URL_LENGTH)]
UrlOrId = Annotated[UrlText | PositiveAnimeId, Field(description="MAL URL, username or anime id")]
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="id from /crawl or /seed")]
Username = Annotated[str, Path(pattern=f"^{USERNAME_PATTERN}$", description="a MAL username")]


class ServiceError(RuntimeError):
    """The service cannot start as configured (e.g. no token in production)."""


@dataclass(frozen=True)
class ServiceConfig:
    """Everything the service bounds; tests pass their own."""

    token: str | None = field(default=None, repr=False)
    max_body_bytes: int = 64 * 1024
    # per client (address) and endpoint group, in the ``limits`` notation
    enqueue_rate: str = "60/minute"
    job_rate: str = "10/minute"
    read_rate: str = "120/minute"
    rate_limit_storage: str = "memory://"
    max_concurrent_jobs: int = 1
    max_waiting_jobs: int = 4
    jobs_kept: int = 500
    health_timeout_s: float = 2.0

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < MIN_TOKEN_LENGTH:
            raise ServiceError(f"the service token must be at least {MIN_TOKEN_LENGTH} characters")
        for rate in (self.enqueue_rate, self.job_rate, self.read_rate):
            parse_rate(rate)  # a typo fails at start-up, not on the first request
        if self.max_concurrent_jobs < 1 or self.max_waiting_jobs < 0:
            raise ServiceError("max_concurrent_jobs must be >= 1 and max_waiting_jobs >= 0")


class UrlsRequest(BaseModel):
    """URLs, usernames or anime ids; ``kind`` says how to read bare digit strings."""

    urls: list[UrlOrId] = Field(min_length=1, max_length=MAX_URLS_PER_REQUEST)
    kind: Literal["anime", "profile"] | None = None

    def canonical(self) -> dict[Kind, list[str]]:
        """Group crawl keys by kind; HTTP 422 naming the position of every bad value (never
        the value itself) if any is bad."""
        by_kind: dict[Kind, dict[str, None]] = {kind: {} for kind in KINDS}
        errors: list[dict[str, object]] = []
        for position, value in enumerate(self.urls):
            try:
                kind, url = canonicalize(value, default_kind=self.kind)
            except ValueError:
                message = "not a MAL anime/profile URL, username or anime id"
                errors.append({"loc": ["body", "urls", position], "msg": message})
                continue
            if self.kind is not None and kind != self.kind:
                message = f"{kind} URL in a {self.kind} request"
                errors.append({"loc": ["body", "urls", position], "msg": message})
                continue
            by_kind[kind][url] = None
        if errors:
            raise HTTPException(status_code=422, detail=errors)
        return {kind: list(urls) for kind, urls in by_kind.items() if urls}


class CrawlRequest(UrlsRequest):
    urls: list[UrlOrId] = Field(min_length=1, max_length=MAX_CRAWL_URLS_PER_REQUEST)


class SeedRequest(BaseModel):
    kind: Literal["anime", "profile"]
    pages: StrictInt = Field(1, ge=1, le=MAX_SEED_PAGES)


class EnqueueReply(BaseModel):
    enqueued: int
    already_queued: int
    urls: list[str]


class JobReply(BaseModel):
    id: str
    kind: Literal["crawl", "seed"]
    status: Literal["queued", "running", "succeeded", "failed"]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


class ProfileStatusReply(BaseModel):
    """How far a profile's crawl got, from the scheduler (times are UTC)."""

    url: str
    known: bool = Field(description="the scheduler holds the profile (queued or crawled)")
    last_scheduled_at: datetime | None = None
    last_crawled_at: datetime | None = None
    crawled_count: int = 0


Seeder = Callable[[CrawlScheduler, str, int], SeedResult]


# ---- the body cap ---------------------------------------------------------------------------


class BodyLimit:
    """Pure ASGI middleware: refuse a body over ``max_bytes`` with 413 before the app parses
    anything. A declared Content-Length over the cap is refused without reading a byte; a
    chunked body is read up to the cap and refused as soon as it passes it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _plain_error(400, "invalid Content-Length")(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            received += len(body)
            if received > self.max_bytes:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)


def _plain_error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=code)


def _too_large(max_bytes: int) -> JSONResponse:
    return _plain_error(413, f"request body larger than {max_bytes} bytes")


class Guard:
    """Pure ASGI middleware in front of everything: the per-client rate limit, then the bearer
    token, checked from the headers alone. A refused call costs no body read, no JSON parse
    and no thread, so a flood is turned away at the door (and a caller without the token
    learns nothing from validation errors). ``/health`` passes freely."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: MovingWindowRateLimiter,
        rates: dict[str, RateLimitItem],
        token: str | None,
    ) -> None:
        self.app, self.limiter, self.rates, self.token = app, limiter, rates, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        group = RATE_GROUPS.get(path, "read")
        rate = self.rates[group]
        client = (scope.get("client") or ("unknown", 0))[0]
        if not self.limiter.hit(rate, group, client):
            reset = self.limiter.get_window_stats(rate, group, client).reset_time
            retry_after = str(max(int(reset - time.time()) + 1, 1))
            refused = _plain_error(429, "rate limit reached; slow down")
            refused.headers["Retry-After"] = retry_after
            await refused(scope, receive, send)
            return
        if self.token is not None and path not in PUBLIC_DOCS:
            given = _bearer_token(dict(scope["headers"]).get(b"authorization", b""))
            if not hmac.compare_digest(given, self.token.encode()):
                refused = _plain_error(401, "missing or wrong bearer token")
                refused.headers["WWW-Authenticate"] = "Bearer"
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _bearer_token(header: bytes) -> bytes:
    scheme, _, credentials = header.partition(b" ")
    return credentials.strip() if scheme.lower() == b"bearer" else b""


# ---- jobs -----------------------------------------------------------------------------------


@dataclass
class Job:
    id: str
    kind: Literal["crawl", "seed"]
    status: Literal["queued", "running", "succeeded", "failed"] = "queued"
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    def reply(self) -> JobReply:
        return JobReply(**self.__dict__)


class JobBoard:
    """Crawl and seed jobs on a pool of their own: one global bound on how many run at once
    (``max_concurrent``) and how many may wait (``max_waiting``); the rest are refused."""

    def __init__(self, max_concurrent: int, max_waiting: int, kept: int) -> None:
        self.max_active = max_concurrent + max_waiting
        self.kept = kept
        self._executor = ThreadPoolExecutor(max_concurrent, thread_name_prefix="crawl-job")
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def submit(self, kind: Literal["crawl", "seed"], work: Callable[[], dict]) -> Job | None:
        """Start (or queue) ``work``; None when the bound is reached."""
        with self._lock:
            active = sum(job.status in ("queued", "running") for job in self._jobs.values())
            if active >= self.max_active:
                return None
            job = Job(uuid.uuid4().hex, kind)
            self._jobs[job.id] = job
            self._forget_old()
        self._executor.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[], dict]) -> None:
        job.started_at, job.status = time.time(), "running"
        try:
            job.result = work()
            job.status = "succeeded"
        except Exception:  # the detail goes to the log only: it may hold paths or page text
            log.exception("%s job %s failed", job.kind, job.id)
            job.error, job.status = f"the {job.kind} failed; see the service log", "failed"
        finally:
            job.finished_at = time.time()

    def _forget_old(self) -> None:
        finished = [i for i, j in self._jobs.items() if j.status in ("succeeded", "failed")]
        for job_id in finished[: max(len(self._jobs) - self.kept, 0)]:
            del self._jobs[job_id]

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


# ---- the app --------------------------------------------------------------------------------


def create_app(
    scheduler: CrawlScheduler,
    queue: Queue,
    sink: SinkSettings,
    *,
    crawl: CrawlFunction = crawl_batch,
    seeder: Seeder | None = None,
    mal_base_url: str | None = None,
    config: ServiceConfig | None = None,
) -> FastAPI:
    """The FastAPI app over explicit components (tests pass their own)."""
    config = config or ServiceConfig()
    if seeder is None:
        from animerec_assets.settings import load_settings

        base_url = mal_base_url or load_settings().mal_base_url

        def seeder(s: CrawlScheduler, kind: str, pages: int) -> SeedResult:
            return seed_scheduler(s, kind, pages, base_url)

    jobs = JobBoard(config.max_concurrent_jobs, config.max_waiting_jobs, config.jobs_kept)
    health_pool = ThreadPoolExecutor(2, thread_name_prefix="health")
    store_pool = ThreadPoolExecutor(4, thread_name_prefix="enqueue")
    limiter = MovingWindowRateLimiter(storage_from_string(config.rate_limit_storage))
    rates = {
        "enqueue": parse_rate(config.enqueue_rate),
        "job": parse_rate(config.job_rate),
        "read": parse_rate(config.read_rate),
    }
    bearer = HTTPBearer(auto_error=False, description="ANIMEREC_SERVICE_TOKEN")

    async def authorized(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> None:
        if config.token is None:
            return
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), config.token.encode()):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    def guarded(_group: str) -> list[Any]:
        # Guard has checked the rate and the token already; this dependency checks the token
        # again (should the middleware ever be bypassed) and puts it in the OpenAPI schema
        return [Depends(authorized)]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()
        health_pool.shutdown(wait=False, cancel_futures=True)
        store_pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="animerec crawl service", version="2", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(Guard, limiter=limiter, rates=rates, token=config.token)  # outermost

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        # pydantic's errors carry the offending input (and its context): keep where and what
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "invalid")), "type": e["type"]}
            for e in error.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    def _health_checks() -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            scheduler.ping()
            checks["scheduler"] = "ok"
        except Exception as error:  # report, don't crash: this is the health endpoint
            checks["scheduler"] = f"error: {type(error).__name__}"
        try:
            queue.stats()
            checks["queue"] = "ok"
        except Exception as error:
            checks["queue"] = f"error: {type(error).__name__}"
        return checks

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness and dependencies; no auth, no rate limit, never behind a crawl."""
        loop = asyncio.get_running_loop()
        try:
            checks = await asyncio.wait_for(
                loop.run_in_executor(health_pool, _health_checks), config.health_timeout_s
            )
        except TimeoutError:
            checks = {"checks": "error: timeout"}
        if not all(value == "ok" for value in checks.values()):
            raise HTTPException(status_code=503, detail={"status": "degraded", **checks})
        return {"status": "ok", **checks}

    @app.get("/stats", dependencies=guarded("read"))
    def stats() -> dict[str, object]:
        return {
            "scheduler": {k: v.as_dict() for k, v in scheduler.all_stats().items()},
            "queue": queue.stats().as_dict(),
        }

    @app.post("/enqueue", dependencies=guarded("enqueue"), responses={503: {}, 429: {}})
    async def enqueue(request: UrlsRequest) -> EnqueueReply:
        """Queue URLs for the workers (and make the scheduler aware of them). A URL already
        waiting is not queued again; a full queue is a 503."""
        grouped = request.canonical()

        def store() -> int:
            added = 0
            for kind, urls in grouped.items():
                wanted = scheduler.without_opted_out(kind, urls)  # silently: no opt-out oracle
                if wanted:
                    scheduler.add_urls(kind, wanted)
                    added += queue.enqueue(kind, wanted)
            return added

        try:
            # a few store threads, not one per request: a burst queues here instead of
            # spreading over dozens of threads that fight the event loop for the GIL
            enqueued = await asyncio.get_running_loop().run_in_executor(store_pool, store)
        except QueueFullError as error:
            raise HTTPException(
                status_code=503,
                detail="the crawl queue is full; try again later",
                headers={"Retry-After": "60"},
            ) from error
        every = [u for urls in grouped.values() for u in urls]
        return EnqueueReply(enqueued=enqueued, already_queued=len(every) - enqueued, urls=every)

    def _accepted(job: Job | None) -> JSONResponse:
        if job is None:
            raise HTTPException(
                status_code=429,
                detail="too many crawl jobs running or waiting; try again later",
                headers={"Retry-After": "30"},
            )
        return JSONResponse(
            job.reply().model_dump(),
            status_code=202,
            headers={"Location": f"/jobs/{job.id}"},
        )

    @app.post(
        "/crawl",
        dependencies=guarded("job"),
        status_code=202,
        response_model=JobReply,
        responses={429: {}},
    )
    def crawl_now(request: CrawlRequest) -> JSONResponse:
        """Crawl a handful of URLs now, as a job: 202 with its id; ``GET /jobs/{id}``."""
        grouped = request.canonical()

        def work() -> dict:
            items: dict[str, int] = {}
            failed: list[str] = []
            for kind, urls in grouped.items():
                result = crawl(kind, urls, sink)
                if result.crawled_urls:
                    scheduler.mark_crawled(kind, result.crawled_urls)
                for item_type, count in result.item_counts.items():
                    items[item_type] = items.get(item_type, 0) + count
                failed.extend(result.failed_urls)
            return {"items": items, "failed": failed}

        return _accepted(jobs.submit("crawl", work))

    @app.post(
        "/seed",
        dependencies=guarded("job"),
        status_code=202,
        response_model=JobReply,
        responses={429: {}},
    )
    def seed(request: SeedRequest) -> JSONResponse:
        """Insert random URLs from listing pages into the scheduler, as a job."""

        def work() -> dict:
            result = seeder(scheduler, request.kind, request.pages)
            if result.errors and not any(result.found.values()):
                raise RuntimeError(f"seeding found nothing: {result.errors[:3]}")
            summary = result.as_dict()
            summary["errors"] = len(result.errors)  # counts only: messages name pages
            return summary

        return _accepted(jobs.submit("seed", work))

    @app.get("/profiles/{username}", dependencies=guarded("read"))
    def profile_status(username: Username) -> ProfileStatusReply:
        """Queued or crawled, and when: what the app shows a visitor who asked for a crawl.

        An opted-out user reads as waiting, never crawled, as ``/enqueue`` silently answers
        for them: the service is no oracle of who opted out.
        """
        key = crawl_key("profile", profile_url(username))
        if not scheduler.without_opted_out("profile", [key]):
            return ProfileStatusReply(url=key, known=True)
        row = scheduler.row("profile", key)
        if row is None:
            return ProfileStatusReply(url=key, known=False)
        return ProfileStatusReply(
            url=key,
            known=True,
            last_scheduled_at=row.get("last_scheduled_date"),
            last_crawled_at=row.get("last_crawled_date"),
            crawled_count=int(row.get("crawled_count") or 0),
        )

    @app.get("/jobs/{job_id}", dependencies=guarded("read"), responses={404: {}})
    def job_status(job_id: JobId) -> JobReply:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(status_code=404, detail="no such job")
        return job.reply()

    return app


def config_from_settings(settings: Settings | None = None) -> ServiceConfig:
    """The service's bounds from the environment; production without a token is refused."""
    from animerec_assets.settings import load_settings

    settings = settings or load_settings()
    token = settings.crawler_service_token
    if token is None and settings.env == "prod":
        raise ServiceError("ANIMEREC_SERVICE_TOKEN must be set when ANIMEREC_ENV=prod")
    return ServiceConfig(token=token)


def app_from_settings(settings: Settings | None = None) -> FastAPI:
    """The service as ``animerec crawl serve`` runs it: components from ``load_settings()``."""
    from animerec_assets.settings import load_settings
    from crawler.queue import queue_from_settings

    settings = settings or load_settings()
    config = config_from_settings(settings)  # before touching any database
    scheduler = CrawlScheduler(settings.scheduler_db_url)
    scheduler.create_tables()
    queue = queue_from_settings(settings=settings)
    sink = SinkSettings.from_settings(settings)
    return create_app(scheduler, queue, sink, mal_base_url=settings.mal_base_url, config=config)
