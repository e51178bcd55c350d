"""The public JSON API over the serving store: recommendations with filters, similar, search.

It reads Redis only, through ``animerec_assets.lib.serving`` (the same lookups and the same
read-time filters as the app). Every input is validated before it reaches a key (usernames as
``user_key_of`` validates them, ids as bounded integers, hidden ids by ``parse_ids``); every
client is rate-limited by its address; responses carry ``Cache-Control`` and an ``ETag`` made of
the live version and the query, so a new publish changes every ETag.

Two optional calls record a visitor's feedback (``animerec_assets.lib.feedback``), capped per
session and never storing the caller's address: ``POST /v1/feedback`` and ``GET /v1/go/{id}``
(a click through to the anime's MAL page). Feedback is best effort: when Redis is down the event
is answered ``202`` with ``recorded: false`` (and the redirect still happens), so a page built
on these calls never breaks and no client piles retries onto a Redis that is down.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import redis
from fastapi import FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from limits import parse as parse_rate_limit
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, ConfigDict, Field

from animerec_assets.contracts.feedback import (
    MAX_MODEL_VERSION_LEN,
    MAX_POSITION,
    MAX_USERNAME_LEN,
    FeedbackAction,
    ReasonType,
)
from animerec_assets.lib.feedback.events import (
    MODEL_VERSION_PATTERN,
    SESSION_ID_PATTERN,
    FeedbackEvent,
    InvalidFeedbackError,
    parse_event,
)
from animerec_assets.lib.feedback.stream import FeedbackKeys, RecordResult, record_event
from animerec_assets.lib.redis_conn import RedisUnavailableError
from animerec_assets.lib.serving import (
    AnimeCard,
    InvalidKeyError,
    Recommendation,
    ServingUnavailableError,
    current_version,
    get_freshness,
    get_similar,
    search_titles,
    user_key_of,
)
from animerec_assets.lib.serving.filters import Filters, apply_filters, parse_ids
from animerec_assets.lib.serving.reads import CatalogueCache, read_user_view
from animerec_assets.settings import MAL_BASE_URL

log = logging.getLogger(__name__)

MAL_ANIME_URL = "https://myanimelist.net/anime/{anime_id}"
DEFAULT_RATE_LIMIT = "120/minute"
CACHE_MAX_AGE_S = 300
MAX_ANIME_ID = 10**12
MAX_LIMIT = 100
MAX_LIST_PARAMS = 20
CHOICE_PATTERN = r"^[A-Za-z0-9 .+&'-]{1,40}$"
_BASE_URL_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$"

ClientFactory = Callable[[], redis.Redis]


class AnimeOut(BaseModel):
    anime_id: int
    title: str
    url: str = Field(description="The anime's MyAnimeList page")
    main_pic: str | None = None
    type: str | None = None
    score: float | None = None
    genres: list[str] = []
    members: int | None = None
    status: str | None = None
    start_date: str | None = None
    rating: str | None = None
    franchise_id: int | None = None
    franchise_order: int | None = None


class RecommendationOut(BaseModel):
    rank: int
    anime_id: int
    score: float
    reason: str | None = None
    reason_anime_id: int | None = None
    anime: AnimeOut | None = None
    reason_anime: AnimeOut | None = None


class RecommendationsOut(BaseModel):
    user: str
    version: str
    recommendations: list[RecommendationOut]


class SimilarOut(BaseModel):
    rank: int
    anime_id: int
    score: float
    anime: AnimeOut | None = None


class SimilarListOut(BaseModel):
    anime_id: int
    version: str
    similar: list[SimilarOut]


class SearchOut(BaseModel):
    query: str
    version: str
    results: list[AnimeOut]


class FeedbackIn(BaseModel):
    """A visitor's action on a recommendation card (``origin`` is always ``api``)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(
        pattern=SESSION_ID_PATTERN.pattern,
        description="The visitor's anonymous session id (22 random base64url characters); "
        "rotate it daily",
    )
    model_version: str = Field(
        max_length=MAX_MODEL_VERSION_LEN,
        pattern=MODEL_VERSION_PATTERN.pattern,
        description="The model version the picks came from (/v1/freshness model_version)",
    )
    action: FeedbackAction
    anime_id: int | None = Field(
        None, ge=1, le=MAX_ANIME_ID, description="The card's anime (required unless 'more')"
    )
    position: int | None = Field(
        None, ge=0, le=MAX_POSITION, description="0-based place of the card (unless 'more')"
    )
    reason_type: ReasonType | None = None
    reason_anime_id: int | None = Field(None, ge=1, le=MAX_ANIME_ID)
    username: str | None = Field(
        None,
        max_length=MAX_USERNAME_LEN,
        description="Only when the visitor typed their own username to get these picks",
    )


class FeedbackOut(BaseModel):
    recorded: bool
    status: str = Field(description="recorded | rate_limited | unavailable (Redis down)")
    event_id: str | None = None


class FreshnessOut(BaseModel):
    version: str
    model_version: str
    published_at: str
    counts: dict[str, int]


def anime_out(card: AnimeCard | None) -> AnimeOut | None:
    if card is None:
        return None
    return AnimeOut(
        anime_id=card.anime_id,
        title=card.title,
        url=MAL_ANIME_URL.format(anime_id=card.anime_id),
        main_pic=card.main_pic,
        type=card.type,
        score=card.score,
        genres=list(card.genres),
        members=card.members,
        status=card.status,
        start_date=card.start_date,
        rating=card.rating,
        franchise_id=card.franchise_id,
        franchise_order=card.franchise_order,
    )


def recommendation_out(rec: Recommendation) -> RecommendationOut:
    return RecommendationOut(
        rank=rec.rank,
        anime_id=rec.anime_id,
        score=rec.score,
        reason=rec.reason,
        reason_anime_id=rec.reason_anime_id,
        anime=anime_out(rec.anime),
        reason_anime=anime_out(rec.reason_anime),
    )


@dataclass(frozen=True)
class ApiConfig:
    prefix: str | None = None
    cors_origins: tuple[str, ...] = ()
    rate_limit: str = DEFAULT_RATE_LIMIT
    rate_limit_storage: str = "memory://"
    # the app as visitors reach it: an unknown user is sent there to ask for a crawl (the crawl
    # service itself is internal and wants the app's token)
    app_url: str | None = None
    today: Callable[[], date] = lambda: datetime.now(UTC).date()
    mal_base_url: str = MAL_BASE_URL  # where /v1/go redirects to (the anime's page under it)

    def __post_init__(self) -> None:
        # the redirect target is this base and an integer id, nothing a caller sends
        if not re.fullmatch(_BASE_URL_PATTERN, self.mal_base_url):
            raise ValueError(f"mal_base_url must be a plain http(s) URL: {self.mal_base_url!r}")
        object.__setattr__(self, "mal_base_url", self.mal_base_url.rstrip("/"))
        if self.app_url is not None:
            if not re.fullmatch(_BASE_URL_PATTERN, self.app_url):
                raise ValueError(f"app_url must be a plain http(s) URL: {self.app_url!r}")
            object.__setattr__(self, "app_url", self.app_url.rstrip("/"))


def _etag(version: str, request: Request) -> str:
    query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    digest = hashlib.sha256(f"{request.url.path}?{query}".encode()).hexdigest()[:16]
    return f'W/"{version}-{digest}"'


def _cached(request: Request, version: str, body: BaseModel) -> Response:
    """The body with caching headers, or 304 when the client already holds this version."""
    tag = _etag(version, request)
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={CACHE_MAX_AGE_S}"}
    if tag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return JSONResponse(body.model_dump(mode="json"), headers=headers)


def create_app(client_factory: ClientFactory, config: ApiConfig | None = None) -> FastAPI:
    """The API app over the serving store ``client_factory`` connects to."""
    config = config or ApiConfig()
    app = FastAPI(
        title="animerec API",
        version="1",
        description="Anime recommendations for MyAnimeList users, read from the live model.",
    )
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["If-None-Match", "Content-Type"],
            expose_headers=["ETag", "Retry-After"],
        )
    limiter = MovingWindowRateLimiter(storage_from_string(config.rate_limit_storage))
    limit = parse_rate_limit(config.rate_limit)
    catalogue_cache = CatalogueCache()
    client_holder: dict[str, redis.Redis] = {}
    feedback_keys = FeedbackKeys.for_prefix(config.prefix)

    def client() -> redis.Redis:
        if "client" not in client_holder:
            client_holder["client"] = client_factory()
        return client_holder["client"]

    @app.middleware("http")
    async def rate_limit(request: Request, call_next: Callable[[Request], Any]) -> Response:
        who = request.client.host if request.client else "unknown"
        if not limiter.hit(limit, "api", who):
            reset = limiter.get_window_stats(limit, "api", who).reset_time
            wait = max(1, int(reset - datetime.now(UTC).timestamp()) + 1)
            return JSONResponse(
                {"detail": f"rate limit of {config.rate_limit} per client exceeded"},
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
        return await call_next(request)

    @app.exception_handler(ServingUnavailableError)
    async def unavailable(request: Request, error: ServingUnavailableError) -> JSONResponse:
        log.warning("serving store unavailable: %s", error)
        return JSONResponse(
            {"detail": "the recommendation store is not reachable right now"},
            status_code=503,
            headers={"Retry-After": "30"},
        )

    @app.exception_handler(RedisUnavailableError)
    async def redis_down(request: Request, error: RedisUnavailableError) -> JSONResponse:
        return await unavailable(request, ServingUnavailableError(str(error)))

    def feedback_client() -> redis.Redis | None:
        """The client, or None when Redis cannot be reached (feedback is then not recorded)."""
        try:
            return client()
        except (RedisUnavailableError, redis.RedisError, OSError) as error:
            log.warning("feedback not recorded, Redis unavailable: %s", error)
            return None

    def record(event: FeedbackEvent) -> RecordResult:
        return record_event(feedback_client(), event, keys=feedback_keys)

    def live_version() -> str:
        version = current_version(client(), config.prefix)
        if not version:
            raise HTTPException(503, "no recommendations have been published yet")
        return version

    @app.get("/v1/users/{username}/recommendations", response_model=RecommendationsOut)
    def recommendations(
        request: Request,
        username: Annotated[str, Path(max_length=64, description="MAL username or numeric id")],
        include_plan_to_watch: bool = False,
        include_upcoming: bool = False,
        type: Annotated[
            list[Annotated[str, Field(pattern=CHOICE_PATTERN)]],
            Query(max_length=MAX_LIST_PARAMS, description="Only these types (TV, Movie...)"),
        ] = [],  # noqa: B006 - FastAPI copies query defaults
        exclude_genre: Annotated[
            list[Annotated[str, Field(pattern=CHOICE_PATTERN)]],
            Query(max_length=MAX_LIST_PARAMS, description="Leave out anime of these genres"),
        ] = [],  # noqa: B006
        include_adult: bool = False,
        min_members: Annotated[int, Query(ge=0, le=10**9)] = 0,
        franchise_order: bool = True,
        one_per_franchise: bool = True,
        exclude: Annotated[
            list[Annotated[str, Field(max_length=2000)]],
            Query(max_length=MAX_LIST_PARAMS, description="Hidden anime ids, e.g. 1,5,30"),
        ] = [],  # noqa: B006
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    ) -> Response:
        try:
            user_key = user_key_of(username)
        except InvalidKeyError as error:
            raise HTTPException(422, str(error)) from error
        try:
            hidden = parse_ids(exclude)
            filters = Filters(
                include_plan_to_watch=include_plan_to_watch,
                include_upcoming=include_upcoming,
                types=frozenset(type),
                exclude_genres=frozenset(exclude_genre),
                include_adult=include_adult,
                min_members=min_members,
                franchise_order=franchise_order,
                one_per_franchise=one_per_franchise,
                exclude_ids=hidden,
            )
        except ValueError as error:
            raise HTTPException(422, str(error)) from error
        catalogue = catalogue_cache.get(client(), config.prefix)
        if not catalogue.version:
            raise HTTPException(503, "no recommendations have been published yet")
        view = read_user_view(client(), user_key, catalogue, config.prefix)
        if not view.recommendations:
            raise HTTPException(404, _unknown_user(username, config.app_url))
        kept = apply_filters(
            view.recommendations,
            catalogue,
            filters,
            today=config.today(),
            user_list=view.user_list,
        )[:limit]
        body = RecommendationsOut(
            user=username,
            version=catalogue.version,
            recommendations=[recommendation_out(r) for r in kept],
        )
        return _cached(request, catalogue.version, body)

    @app.get("/v1/anime/{anime_id}/similar", response_model=SimilarListOut)
    def similar(
        request: Request,
        anime_id: Annotated[int, Path(ge=1, le=MAX_ANIME_ID)],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    ) -> Response:
        version = live_version()
        neighbours = get_similar(client(), anime_id, limit, config.prefix)
        if not neighbours:
            raise HTTPException(404, f"no similar anime published for anime {anime_id}")
        body = SimilarListOut(
            anime_id=anime_id,
            version=version,
            similar=[
                SimilarOut(
                    rank=s.rank, anime_id=s.anime_id, score=s.score, anime=anime_out(s.anime)
                )
                for s in neighbours
            ],
        )
        return _cached(request, version, body)

    @app.get("/v1/anime/search", response_model=SearchOut)
    def search(
        request: Request,
        q: Annotated[str, Query(min_length=2, max_length=100, description="Title words")],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    ) -> Response:
        version = live_version()
        cards = search_titles(client(), q, limit, config.prefix)
        body = SearchOut(
            query=q,
            version=version,
            results=[out for out in map(anime_out, cards) if out is not None],
        )
        return _cached(request, version, body)

    @app.get("/v1/freshness", response_model=FreshnessOut)
    def freshness(request: Request) -> Response:
        fresh = get_freshness(client(), config.prefix)
        if fresh is None:
            raise HTTPException(503, "no recommendations have been published yet")
        body = FreshnessOut(
            version=fresh.version,
            model_version=fresh.model_version,
            published_at=fresh.published_at,
            counts=fresh.counts,
        )
        return _cached(request, fresh.version, body)

    @app.post(
        "/v1/feedback",
        response_model=FeedbackOut,
        status_code=202,
        responses={
            429: {"description": "This session's feedback cap is reached (see Retry-After)"}
        },
        summary="Record a visitor's action on a recommendation card",
        description=(
            "Capped per session (a sliding window); the caller's address is never stored. "
            "202 with `recorded: false, status: unavailable` when the feedback store is down: "
            "feedback is best effort, do not retry it."
        ),
    )
    def feedback(body: FeedbackIn) -> Response:
        try:
            event = parse_event({**body.model_dump(), "origin": "api"})
        except InvalidFeedbackError as error:
            raise HTTPException(422, str(error)) from error
        result = record(event)
        out = FeedbackOut(recorded=result.recorded, status=result.status, event_id=result.event_id)
        if result.status == "rate_limited":
            return JSONResponse(
                out.model_dump(mode="json"),
                status_code=429,
                headers={"Retry-After": str(result.retry_after_s or 1)},
            )
        return JSONResponse(out.model_dump(mode="json"), status_code=202)

    @app.get(
        "/v1/go/{anime_id}",
        response_class=RedirectResponse,
        status_code=302,
        responses={302: {"description": "To the anime's MAL page (the click is recorded)"}},
        summary="Follow a card's link to MAL, recording the click",
        description=(
            "Always redirects to the anime's MAL page for a valid request, whether or not the "
            "click could be recorded (header X-Feedback: recorded | rate_limited | "
            "unavailable)."
        ),
    )
    def go(
        anime_id: Annotated[int, Path(ge=1, le=MAX_ANIME_ID)],
        session: Annotated[str, Query(pattern=SESSION_ID_PATTERN.pattern)],
        model_version: Annotated[
            str, Query(max_length=MAX_MODEL_VERSION_LEN, pattern=MODEL_VERSION_PATTERN.pattern)
        ],
        position: Annotated[int, Query(ge=0, le=MAX_POSITION)],
        reason_type: ReasonType | None = None,
    ) -> Response:
        raw = {
            "session_id": session,
            "model_version": model_version,
            "anime_id": anime_id,
            "position": position,
            "reason_type": reason_type,
            "action": "click_mal",
            "origin": "api",
        }
        try:
            event = parse_event(raw)
        except InvalidFeedbackError as error:
            raise HTTPException(422, str(error)) from error
        result = record(event)
        return RedirectResponse(
            f"{config.mal_base_url}/anime/{anime_id}",
            status_code=302,
            headers={"Cache-Control": "no-store", "X-Feedback": result.status},
        )

    return app


def _unknown_user(username: str, app_url: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "message": (
            f"no recommendations for {username!r}: their profile has not been crawled yet, or "
            "their list was too short when the model was trained"
        ),
    }
    if app_url:
        detail["crawl_request"] = {
            "url": f"{app_url}/?{urlencode({'user': username})}",
            "how": "open the link and press 'Crawl my profile'",
            "then": "recommendations appear after the next model is published",
        }
    return detail
