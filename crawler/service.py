"""The crawl web service: a small HTTP front door to the scheduler, the queue and the spiders.

The Streamlit app calls ``POST /enqueue`` with the profile URL (or username) of a user it does
not know yet; operators use ``/seed``, ``/crawl`` and ``/stats``. Every URL is validated and put
in canonical form before it touches the database or the queue, so hostile input gets a 422 and
nothing else. ``POST /crawl`` is synchronous (a spider subprocess per kind): meant for a handful
of URLs, not for bulk crawling, which goes through the queue and the workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field, StrictInt, StrictStr, field_validator

from crawler.queue import Queue
from crawler.scheduler import CrawlScheduler
from crawler.scheduler.seed import SeedResult, seed_scheduler
from crawler.scheduler.urls import KINDS, Kind, canonicalize
from crawler.worker import CrawlFunction, SinkSettings, crawl_batch

if TYPE_CHECKING:
    from animerec_assets.settings import Settings

log = logging.getLogger(__name__)

MAX_URLS_PER_REQUEST = 1_000
MAX_CRAWL_URLS_PER_REQUEST = 50
MAX_SEED_PAGES = 100

UrlOrId = Annotated[StrictStr | StrictInt, Field(description="MAL URL, username or anime id")]


class UrlsRequest(BaseModel):
    """URLs, usernames or anime ids; ``kind`` says how to read bare digit strings."""

    urls: list[UrlOrId] = Field(min_length=1, max_length=MAX_URLS_PER_REQUEST)
    kind: Literal["anime", "profile"] | None = None

    @field_validator("urls")
    @classmethod
    def _no_blank(cls, values: list[str | int]) -> list[str | int]:
        if any(isinstance(v, str) and not v.strip() for v in values):
            raise ValueError("blank URL")
        return values

    def canonical(self) -> dict[Kind, list[str]]:
        """Group canonical URLs by kind; HTTP 422 naming every bad value if any is bad."""
        by_kind: dict[Kind, dict[str, None]] = {kind: {} for kind in KINDS}
        errors: list[dict[str, object]] = []
        for position, value in enumerate(self.urls):
            try:
                kind, url = canonicalize(value, default_kind=self.kind)
            except ValueError as error:
                errors.append({"loc": ["body", "urls", position], "msg": str(error)})
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
    pages: int = Field(1, ge=1, le=MAX_SEED_PAGES)


Seeder = Callable[[CrawlScheduler, str, int], SeedResult]


def create_app(
    scheduler: CrawlScheduler,
    queue: Queue,
    sink: SinkSettings,
    *,
    crawl: CrawlFunction = crawl_batch,
    seeder: Seeder | None = None,
    mal_base_url: str | None = None,
) -> FastAPI:
    """The FastAPI app over explicit components (tests pass their own)."""
    if seeder is None:
        from animerec_assets.settings import load_settings

        base_url = mal_base_url or load_settings().mal_base_url

        def seeder(s: CrawlScheduler, kind: str, pages: int) -> SeedResult:
            return seed_scheduler(s, kind, pages, base_url)

    app = FastAPI(title="animerec crawl service", version="1")

    @app.get("/health")
    def health() -> dict[str, object]:
        checks: dict[str, str] = {}
        try:
            scheduler.stats("profile")
            checks["scheduler"] = "ok"
        except Exception as error:  # report, don't crash: this is the health endpoint
            checks["scheduler"] = f"error: {type(error).__name__}"
        try:
            queue.stats()
            checks["queue"] = "ok"
        except Exception as error:
            checks["queue"] = f"error: {type(error).__name__}"
        healthy = all(value == "ok" for value in checks.values())
        if not healthy:
            raise HTTPException(status_code=503, detail={"status": "degraded", **checks})
        return {"status": "ok", **checks}

    @app.get("/stats")
    def stats() -> dict[str, object]:
        return {
            "scheduler": {k: v.as_dict() for k, v in scheduler.all_stats().items()},
            "queue": queue.stats().as_dict(),
        }

    @app.post("/enqueue")
    def enqueue(request: UrlsRequest) -> dict[str, object]:
        """Queue URLs for the workers (and make the scheduler aware of them)."""
        grouped = request.canonical()
        enqueued = 0
        for kind, urls in grouped.items():
            scheduler.add_urls(kind, urls)
            enqueued += queue.enqueue(kind, urls)
        return {"enqueued": enqueued, "urls": [u for urls in grouped.values() for u in urls]}

    @app.post("/crawl")
    def crawl_now(request: CrawlRequest) -> dict[str, object]:
        """Crawl now and wait: item counts per item type, URLs that failed."""
        grouped = request.canonical()
        items: dict[str, int] = {}
        failed: list[str] = []
        outputs: list[str] = []
        for kind, urls in grouped.items():
            try:
                result = crawl(kind, urls, sink)
            except Exception as error:
                log.exception("synchronous crawl failed")
                raise HTTPException(status_code=502, detail=f"crawl failed: {error}") from error
            if result.crawled_urls:
                scheduler.mark_crawled(kind, result.crawled_urls)
            for item_type, count in result.item_counts.items():
                items[item_type] = items.get(item_type, 0) + count
            failed.extend(result.failed_urls)
            outputs.append(str(result.output_path))
        return {"items": items, "failed": failed, "outputs": outputs}

    @app.post("/seed")
    def seed(request: SeedRequest) -> dict[str, object]:
        """Insert random URLs from listing pages into the scheduler (nothing is crawled)."""
        result = seeder(scheduler, request.kind, request.pages)
        if result.errors and not any(result.found.values()):
            raise HTTPException(status_code=502, detail=result.as_dict())
        return result.as_dict()

    return app


def app_from_settings(settings: Settings | None = None) -> FastAPI:
    """The service as ``animerec crawl serve`` runs it: components from ``load_settings()``."""
    from animerec_assets.settings import load_settings
    from crawler.queue import queue_from_settings

    settings = settings or load_settings()
    scheduler = CrawlScheduler(settings.scheduler_db_url)
    scheduler.create_tables()
    queue = queue_from_settings(settings=settings)
    sink = SinkSettings.from_settings(settings)
    return create_app(scheduler, queue, sink, mal_base_url=settings.mal_base_url)
