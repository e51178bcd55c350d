"""What the app decides, as pure functions over a Redis client (testable without Streamlit).

Every outcome a visitor can meet is a ``UserView`` status with a message, never an exception:
invalid input, nothing published yet, an unknown user, Redis down, or recommendations.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import redis

from animerec_assets.lib.redis_conn import RedisUnavailableError
from animerec_assets.lib.serving import (
    AnimeCard,
    Freshness,
    InvalidKeyError,
    Recommendation,
    ServingUnavailableError,
    SimilarAnime,
    get_freshness,
    get_recommendations,
    get_similar,
    recommend_from_anime,
    search_titles,
    user_key_of,
)

PICKS = 5
MAX_INPUT_CHARS = 64

INVALID_USER_MESSAGE = (
    "That does not look like a MyAnimeList username: 2 to 16 letters, digits, '_' or '-' "
    "(or a numeric id)."
)
NOT_PUBLISHED_MESSAGE = (
    "No recommendations have been published yet. They appear here after the first model run."
)
REDIS_DOWN_MESSAGE = (
    "The recommendation store is not reachable right now. Please try again in a minute."
)
UNKNOWN_USER_MESSAGE = (
    "Their profile has not been crawled yet, or their list was too short when the model was "
    "trained. Ask for a crawl below, and meanwhile name a few anime you liked."
)

ClientFactory = Callable[[], redis.Redis]


class Status(StrEnum):
    OK = "ok"
    INVALID = "invalid"
    UNKNOWN_USER = "unknown_user"
    NOT_PUBLISHED = "not_published"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class UserView:
    status: Status
    message: str = ""
    user_key: str = ""
    recommendations: list[Recommendation] = field(default_factory=list)
    display_name: str = ""  # the validated name as typed (case kept)


def clean_input(text: str | None) -> str:
    """Trimmed, length-capped text from a form field (never used unvalidated)."""
    return (text or "").strip()[:MAX_INPUT_CHARS]


def connect_or_none(factory: ClientFactory) -> redis.Redis | None:
    """A client, or None when Redis cannot be reached (the page then says so)."""
    try:
        return factory()
    except (RedisUnavailableError, redis.RedisError, OSError):
        return None


def read_freshness(client: redis.Redis | None) -> tuple[Status, Freshness | None]:
    if client is None:
        return Status.UNAVAILABLE, None
    try:
        freshness = get_freshness(client)
    except ServingUnavailableError:
        return Status.UNAVAILABLE, None
    return (Status.OK, freshness) if freshness else (Status.NOT_PUBLISHED, None)


def load_user_view(client: redis.Redis | None, raw_user: str | None) -> UserView:
    """Validate the typed user, then read their recommendations."""
    text = clean_input(raw_user)
    try:
        user_key = user_key_of(text)
    except InvalidKeyError:
        return UserView(Status.INVALID, INVALID_USER_MESSAGE)
    status, _ = read_freshness(client)
    if client is None or status is Status.UNAVAILABLE:
        return UserView(Status.UNAVAILABLE, REDIS_DOWN_MESSAGE, user_key, display_name=text)
    if status is Status.NOT_PUBLISHED:
        return UserView(status, NOT_PUBLISHED_MESSAGE, user_key, display_name=text)
    try:
        recs = get_recommendations(client, user_key)
    except ServingUnavailableError:
        return UserView(Status.UNAVAILABLE, REDIS_DOWN_MESSAGE, user_key, display_name=text)
    if not recs:
        return UserView(Status.UNKNOWN_USER, UNKNOWN_USER_MESSAGE, user_key, display_name=text)
    return UserView(Status.OK, "", user_key, recs, display_name=text)


def pick_five(
    recs: Sequence[Recommendation],
    rng: random.Random,
    avoid: Sequence[int] = (),
    k: int = PICKS,
) -> list[Recommendation]:
    """``k`` random picks from the top list, shown best first.

    Picks avoid the anime on screen (``avoid``) while enough others remain, so "Another 5"
    always changes the cards.
    """
    avoided = set(avoid)
    fresh = [r for r in recs if r.anime_id not in avoided]
    pool = fresh if len(fresh) >= k else list(recs)
    chosen = rng.sample(pool, min(k, len(pool)))
    return sorted(chosen, key=lambda r: r.rank)


def reason_text(rec: Recommendation) -> str:
    """Why this anime is recommended, in words (plain text; escaped where it is shown)."""
    if rec.reason:
        return rec.reason
    if rec.reason_anime is not None and rec.reason_anime.title:
        return f"Because you liked {rec.reason_anime.title}"
    if rec.reason_anime_id is not None:
        return f"Because you liked anime #{rec.reason_anime_id}"
    return "Popular with people whose lists look like yours"


def freshness_text(freshness: Freshness | None) -> str:
    if freshness is None:
        return "No model published yet"
    published = freshness.published_at.replace("T", " ").replace("+00:00", " UTC")
    return f"Model {freshness.model_version} · published {published}"


def safe_search(client: redis.Redis | None, query: str | None, limit: int = 10) -> list[AnimeCard]:
    """Title search that turns a Redis failure into no results."""
    if client is None:
        return []
    try:
        return search_titles(client, clean_input(query), limit=limit)
    except ServingUnavailableError:
        return []


def safe_similar(client: redis.Redis | None, anime_id: int, limit: int = 10) -> list[SimilarAnime]:
    if client is None:
        return []
    try:
        return get_similar(client, anime_id, limit=limit)
    except ServingUnavailableError:
        return []


def safe_from_anime(client: redis.Redis | None, anime_ids: Sequence[int]) -> list[Recommendation]:
    """Recommendations from anime a not-yet-crawled visitor names."""
    if client is None or not anime_ids:
        return []
    try:
        return recommend_from_anime(client, anime_ids)
    except ServingUnavailableError:
        return []
