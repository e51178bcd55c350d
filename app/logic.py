"""What the app decides, as pure functions over a Redis client (testable without Streamlit).

Every outcome a visitor can meet is a ``UserView`` status with a message, never an exception:
invalid input, nothing published yet, an unknown user, Redis down, or recommendations.

The read-time filters are ``animerec_assets.lib.serving.filters`` (the JSON API's code); this
module only turns widget values into a ``Filters``, keeps the visitor's hidden titles (their
browser session, never a server-side write), chooses the five cards on screen from what the
filters leave, and describes each card's feedback event and links.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from urllib.parse import urlencode, urlsplit

import redis

from animerec_assets.contracts.feedback import (
    MAX_MODEL_VERSION_LEN,
    MAX_POSITION,
    FeedbackAction,
    ReasonType,
)
from animerec_assets.lib.feedback.events import new_session_id, session_expired
from animerec_assets.lib.redis_conn import RedisUnavailableError
from animerec_assets.lib.serving import (
    AnimeCard,
    Freshness,
    InvalidKeyError,
    Recommendation,
    ServingUnavailableError,
    SimilarAnime,
    get_freshness,
    get_similar,
    recommend_from_anime,
    search_titles,
    user_key_of,
)
from animerec_assets.lib.serving.filters import (
    MAX_CHOICES,
    MAX_EXCLUDED_IDS,
    Catalogue,
    Filters,
    apply_filters,
)
from animerec_assets.lib.serving.reads import CatalogueCache, read_user_view
from animerec_assets.settings import MAL_BASE_URL

PICKS = 5
POOL = 20  # the five on screen are drawn from the best this many the filters leave
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
STORE_LOST_MESSAGE = (
    "The recommendation store is not reachable right now: these are the picks you already had."
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
    user_list: dict[int, str] | None = None  # their MAL list (anime id -> status), if published


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


def load_user_view(
    client: redis.Redis | None, raw_user: str | None, catalogue: Catalogue | None = None
) -> UserView:
    """Validate the typed user, then read their recommendations and MAL list.

    With the live version's ``catalogue`` (``load_catalogue``) the recommendations come
    without cards (the filters take the cards of what they keep from it), as the API reads
    them: a fraction of the Redis work of reading ~250 cards per visitor.
    """
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
        view = read_user_view(client, user_key, catalogue or Catalogue.of("", {}))
    except ServingUnavailableError:
        return UserView(Status.UNAVAILABLE, REDIS_DOWN_MESSAGE, user_key, display_name=text)
    if not view.recommendations:
        return UserView(Status.UNKNOWN_USER, UNKNOWN_USER_MESSAGE, user_key, display_name=text)
    return UserView(
        Status.OK, "", user_key, view.recommendations, display_name=text,
        user_list=view.user_list,
    )  # fmt: skip


def pick_five(
    recs: Sequence[Recommendation],
    rng: random.Random,
    avoid: Sequence[int] = (),
    k: int = PICKS,
) -> list[Recommendation]:
    """``k`` random picks from the top list, shown best first.

    Picks avoid the anime on screen (``avoid``): as many fresh ones as there are, topped up
    from the avoided ones only when too few others remain, so "Another 5" always changes the
    cards while the list holds more than ``k``.
    """
    avoided = set(avoid)
    fresh = [r for r in recs if r.anime_id not in avoided]
    chosen = rng.sample(fresh, min(k, len(fresh)))
    seen = [r for r in recs if r.anime_id in avoided]
    chosen += rng.sample(seen, min(k - len(chosen), len(seen)))
    return sorted(chosen, key=lambda r: r.rank)


def reason_text(rec: Recommendation) -> str:
    """Why this anime is recommended, in words (plain text; escaped where it is shown).

    The reason names the anime it comes from whenever one is known: a model's own text that
    does not name it gets the title added.
    """
    title = rec.reason_anime.title if rec.reason_anime is not None else ""
    if rec.reason:
        if title and title.casefold() not in rec.reason.casefold():
            return f"{rec.reason} (because you liked {title})"
        return rec.reason
    if title:
        return f"Because you liked {title}"
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


# ---- read-time filters and the visitor's hidden titles -------------------------------------

DEFAULT_FILTERS = Filters()
MAX_MIN_MEMBERS = 10**9


def load_catalogue(client: redis.Redis | None, cache: CatalogueCache | None = None) -> Catalogue:
    """Every card of the live version (franchise order needs them; ``cache``: a process-wide
    ``CatalogueCache`` that reads them once per version); empty when unreadable.

    An empty catalogue still filters on the cards the list carries; it only cannot put a
    franchise's first entry in a sequel's place.
    """
    if client is None:
        return Catalogue.of("", {})
    try:
        return (cache or CatalogueCache()).get(client)
    except ServingUnavailableError:
        return Catalogue.of("", {})


def filter_options(catalogue: Catalogue) -> tuple[list[str], list[str]]:
    """(types, genres) the published cards use: the choices the filter widgets offer, one per
    spelling that differs only in case (the filters compare case-insensitively)."""
    types = {c.type.strip() for c in catalogue.cards.values() if c.type and c.type.strip()}
    genres = {g.strip() for c in catalogue.cards.values() for g in c.genres if g.strip()}
    return _one_per_case(types), _one_per_case(genres)


def _one_per_case(values: set[str]) -> list[str]:
    chosen: dict[str, str] = {}
    for value in sorted(values):  # upper case sorts first: "Action" before "action"
        chosen.setdefault(value.casefold(), value)
    return sorted(chosen.values(), key=str.casefold)


def build_filters(
    *,
    include_plan_to_watch: bool = DEFAULT_FILTERS.include_plan_to_watch,
    include_upcoming: bool = DEFAULT_FILTERS.include_upcoming,
    types: Iterable[str] = (),
    exclude_genres: Iterable[str] = (),
    include_adult: bool = DEFAULT_FILTERS.include_adult,
    min_members: int | float = DEFAULT_FILTERS.min_members,
    franchise_order: bool = DEFAULT_FILTERS.franchise_order,
    one_per_franchise: bool = DEFAULT_FILTERS.one_per_franchise,
    hidden: Iterable[int] = (),
) -> Filters:
    """The widgets' values as the serving ``Filters``, clipped to its bounds (never an error)."""
    return Filters(
        include_plan_to_watch=bool(include_plan_to_watch),
        include_upcoming=bool(include_upcoming),
        types=frozenset(list(dict.fromkeys(str(t) for t in types))[:MAX_CHOICES]),
        exclude_genres=frozenset(list(dict.fromkeys(str(g) for g in exclude_genres))[:MAX_CHOICES]),
        include_adult=bool(include_adult),
        min_members=min(max(int(min_members or 0), 0), MAX_MIN_MEMBERS),
        franchise_order=bool(franchise_order),
        one_per_franchise=bool(one_per_franchise),
        exclude_ids=frozenset(hidden_ids_bounded(hidden)),
    )


def hidden_ids_bounded(hidden: Iterable[int]) -> list[int]:
    """The visitor's hidden ids, oldest first, at most the newest ``MAX_EXCLUDED_IDS``."""
    ids = list(dict.fromkeys(int(a) for a in hidden))
    return ids[-MAX_EXCLUDED_IDS:]


def hide(hidden: Sequence[int], anime_id: int) -> list[int]:
    """``hidden`` with ``anime_id`` added (moved to the newest end if it was there)."""
    return hidden_ids_bounded([a for a in hidden if a != int(anime_id)] + [int(anime_id)])


def filtered_pool(
    recs: Sequence[Recommendation],
    catalogue: Catalogue,
    filters: Filters,
    today: date,
    size: int = POOL,
    user_list: dict[int, str] | None = None,
) -> list[Recommendation]:
    """The best ``size`` recommendations the filters leave (hidden titles never among them;
    with the user's ``user_list``, nothing on it unless the filters ask for plan-to-watch)."""
    return apply_filters(recs, catalogue, filters, today=today, user_list=user_list)[:size]


def keep_and_top_up(
    pool: Sequence[Recommendation], shown: Sequence[int], rng: random.Random, k: int = PICKS
) -> list[Recommendation]:
    """The cards on screen that the pool still holds, topped up at random from the rest.

    A changed filter or a hidden title then replaces only the cards it removes.
    """
    in_pool = {r.anime_id: r for r in pool}
    kept = [in_pool[a] for a in dict.fromkeys(shown) if a in in_pool][:k]
    kept_ids = {r.anime_id for r in kept}
    rest = [r for r in pool if r.anime_id not in kept_ids]
    kept += rng.sample(rest, min(k - len(kept), len(rest)))
    return sorted(kept, key=lambda r: r.rank)


# ---- feedback events and links -------------------------------------------------------------


@dataclass(frozen=True)
class VisitorSession:
    """The anonymous id events carry: random, held by the browser session, rotated."""

    session_id: str
    started_at: datetime


def current_session(
    existing: VisitorSession | None,
    now: datetime,
    new_id: Callable[[], str] = new_session_id,
) -> VisitorSession:
    """``existing`` until the contract's rotation period has passed, then a new random id."""
    if existing is None or now < existing.started_at or session_expired(existing.started_at, now):
        return VisitorSession(new_id(), now)
    return existing


def reason_type_of(rec: Recommendation) -> ReasonType:
    """The kind of reason a card shows, in the contract's small set."""
    reason_card, card = rec.reason_anime, rec.anime
    if (
        reason_card is not None
        and card is not None
        and card.franchise_id is not None
        and card.franchise_id == reason_card.franchise_id
        and rec.reason_anime_id != rec.anime_id
    ):
        return "franchise"  # the franchise's first entry in a sequel's place
    if rec.reason_anime_id is not None:
        return "similar_to"
    if rec.reason:
        return "other"
    return "popular"


@dataclass(frozen=True)
class CardEvent:
    """What an event about one card on screen says (besides session, user and action)."""

    anime_id: int
    position: int  # 0-based place among the cards shown
    reason_type: ReasonType
    reason_anime_id: int | None = None


def card_events(shown: Sequence[Recommendation]) -> list[CardEvent]:
    return [
        CardEvent(r.anime_id, min(position, MAX_POSITION), reason_type_of(r), r.reason_anime_id)
        for position, r in enumerate(shown)
    ]


def event_fields(
    *,
    session_id: str,
    model_version: str,
    action: FeedbackAction,
    username: str | None = None,
    card: CardEvent | None = None,
) -> dict[str, object]:
    """The fields of one feedback event (the contract's names; no IP, no time: the stream
    entry stamps it). ``username`` only when the visitor typed it for their own picks."""
    return {
        "session_id": session_id,
        "username": username or None,
        "model_version": model_version[:MAX_MODEL_VERSION_LEN],
        "anime_id": card.anime_id if card else None,
        "position": card.position if card else None,
        "reason_type": card.reason_type if card else None,
        "reason_anime_id": card.reason_anime_id if card else None,
        "action": action,
        "origin": "app",
    }


def safe_base_url(url: str | None) -> str | None:
    """``scheme://host[:port][/path]`` of a configured http(s) base URL, or None when it is
    anything else (user info, query, fragment, quotes or spaces)."""
    if not url or len(url) > 300:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises on a bad port
    except ValueError:
        return None
    bad = any(c.isspace() or c in "\"'<>\\`" for c in url)
    if parts.scheme not in ("http", "https") or not parts.hostname or bad:
        return None
    if parts.username or parts.password or parts.query or parts.fragment:
        return None
    host = parts.hostname if port is None else f"{parts.hostname}:{port}"
    return f"{parts.scheme}://{host}{parts.path.rstrip('/')}"


def mal_anime_url(anime_id: int, mal_base_url: str | None = None) -> str:
    """The anime's MAL page: the configured MAL base URL (the replica in the demo) and the
    integer id, nothing else from the data."""
    base = safe_base_url(mal_base_url) or MAL_BASE_URL
    return f"{base}/anime/{int(anime_id)}"


def click_url(
    anime_id: int,
    *,
    position: int,
    session_id: str,
    model_version: str,
    reason_type: ReasonType | None = None,
    mal_base_url: str | None = None,
    api_url: str | None = None,
) -> str:
    """Where the card's title links: through the API's ``/v1/go`` (which records the click
    and redirects to MAL) when an API URL is configured, else straight to MAL."""
    api = safe_base_url(api_url)
    if api is None:
        return mal_anime_url(anime_id, mal_base_url)
    params: dict[str, str | int] = {
        "session": session_id,
        "model_version": model_version[:MAX_MODEL_VERSION_LEN],
        "position": min(max(int(position), 0), MAX_POSITION),
    }
    if reason_type:
        params["reason_type"] = reason_type
    query = urlencode(params)
    return f"{api}/v1/go/{int(anime_id)}?{query}"


# ---- crawl-my-profile progress --------------------------------------------------------------


class CrawlStage(StrEnum):
    UNREADABLE = "unreadable"  # the crawl service cannot say right now
    QUEUED = "queued"
    CRAWLED = "crawled"
    PUBLISHED = "published"  # the user has picks in the live model


CRAWL_STAGES = (CrawlStage.QUEUED, CrawlStage.CRAWLED, CrawlStage.PUBLISHED)
CRAWL_STAGE_LABELS = {
    CrawlStage.QUEUED: "Queued",
    CrawlStage.CRAWLED: "Crawled",
    CrawlStage.PUBLISHED: "In the published model",
}


@dataclass(frozen=True)
class CrawlProgress:
    stage: CrawlStage
    message: str


def parse_utc(text: str | None) -> datetime | None:
    """An ISO-8601 time as an aware UTC datetime (naive means UTC, as the scheduler stores)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def crawl_progress(
    *,
    requested_at: datetime,
    last_crawled_at: datetime | None,
    status_readable: bool,
    freshness: Freshness | None,
    has_recommendations: bool,
) -> CrawlProgress:
    """Where a requested profile crawl stands, from what the crawl service's scheduler and
    the published version say (never from the clock alone)."""
    if has_recommendations:
        model = freshness.model_version if freshness else "the live model"
        return CrawlProgress(
            CrawlStage.PUBLISHED, f"Your profile is in model {model}: press Recommend."
        )
    if not status_readable:
        return CrawlProgress(
            CrawlStage.UNREADABLE, "The crawl service cannot tell the progress right now."
        )
    if last_crawled_at is None or last_crawled_at < requested_at:
        return CrawlProgress(
            CrawlStage.QUEUED,
            f"Queued at {_when(requested_at)}; the crawler has not reached it yet.",
        )
    published = parse_utc(freshness.published_at) if freshness else None
    if published is not None and published > last_crawled_at:
        return CrawlProgress(
            CrawlStage.CRAWLED,
            f"Crawled at {_when(last_crawled_at)}. The model published since "
            f"({freshness.model_version if freshness else ''}) was trained without it, or "
            "the list is private or too short; the next model run tries again.",
        )
    return CrawlProgress(
        CrawlStage.CRAWLED,
        f"Crawled at {_when(last_crawled_at)}; your picks appear with the next published model.",
    )


def progress_steps(progress: CrawlProgress) -> list[tuple[str, bool]]:
    """Each stage's label and whether the crawl has reached it (none when unreadable)."""
    reached = CRAWL_STAGES.index(progress.stage) if progress.stage in CRAWL_STAGES else -1
    return [(CRAWL_STAGE_LABELS[stage], i <= reached) for i, stage in enumerate(CRAWL_STAGES)]
