"""MAL and Jikan URLs: canonical forms, ids from paths, page types, host rewriting.

The scheduler and every item speak canonical MAL URLs only; the crawler may fetch the same
pages from another host (the local replica, a proxy). So ids and page types are read from URL
*paths*, never from hosts, and ``to_fetch_url`` is the one place a host is swapped in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from animerec_assets.settings import JIKAN_BASE_URL, MAL_API_BASE_URL, MAL_BASE_URL

Kind = Literal["anime", "profile"]
KINDS: tuple[Kind, ...] = ("anime", "profile")

# MAL's own rule for usernames: 2-16 letters, digits, underscores and dashes.
USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{2,16}$")
MAX_URL_LENGTH = 255  # the scheduler's url column is VARCHAR(255)

# Sub-pages of an anime that the crawler parses (MAL path segment -> page type).
MAL_ANIME_SUBPAGES: dict[str, str] = {
    "stats": "anime_stats",
    "userrecs": "anime_userrecs",
    "reviews": "anime_reviews",
    "pics": "anime_pics",
    "clubs": "anime_clubs",
}
# Anime sub-pages MAL has but nothing here reads: recognised, so never mistaken for a slug.
MAL_ANIME_IGNORED_SUBPAGES = frozenset(
    {"characters", "episode", "video", "news", "forum", "moreinfo", "stacks", "featured"}
)
JIKAN_ANIME_SUBPAGES: dict[str, str] = {
    "full": "jikan_anime",
    "": "jikan_anime",
    "statistics": "jikan_anime_stats",
    "recommendations": "jikan_anime_recommendations",
    "reviews": "jikan_anime_reviews",
    "pictures": "jikan_anime_pics",
}
JIKAN_USER_SUBPAGES: dict[str, str] = {
    "full": "jikan_user",
    "": "jikan_user",
    "friends": "jikan_user_friends",
    "history": "jikan_user_history",
    "favorites": "jikan_user_favorites",
}


# MAL's official API v2 (api.myanimelist.net/v2): what the crawler reads of it.
MALAPI_ANIME_FIELDS = (
    "id,title,main_picture,synopsis,mean,rank,popularity,num_list_users,num_scoring_users,"
    "media_type,status,num_episodes,start_date,end_date,start_season,source,rating,genres,"
    "studios,pictures,statistics,related_anime,recommendations"
)
MALAPI_LIST_LIMIT = 1000  # the API's largest page of a user's anime list
UrlSource = Literal["mal", "jikan", "malapi"]


class InvalidUrlError(ValueError):
    """A URL (or path) that names no MAL anime or profile page the crawler knows."""


class InvalidUsernameError(ValueError):
    """A username that MAL could not have issued (and that must not reach a URL or a query)."""


@dataclass(frozen=True)
class UrlInfo:
    """What a URL path says: page type, the anime or user it belongs to, and its query."""

    page_type: str
    source: UrlSource
    anime_id: int | None = None
    username: str | None = None
    query: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> Kind | None:
        if self.anime_id is not None:
            return "anime"
        if self.username is not None:
            return "profile"
        return None

    @property
    def canonical(self) -> str | None:
        """Canonical MAL URL of the anime or profile this page belongs to."""
        if self.anime_id is not None:
            return anime_url(self.anime_id)
        if self.username is not None:
            return profile_url(self.username)
        return None


def validate_username(username: str) -> str:
    """Return ``username`` unchanged if MAL could have issued it; raise otherwise."""
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        shown = repr(username)[:60]
        raise InvalidUsernameError(
            f"invalid MAL username {shown}: expected 2-16 letters, digits, '_' or '-'"
        )
    return username


def anime_url(anime_id: int) -> str:
    if isinstance(anime_id, bool) or not isinstance(anime_id, int) or not 0 < anime_id <= MAX_ID:
        raise InvalidUrlError(f"anime id must be a positive int below 2^53, got {anime_id!r}")
    return f"{MAL_BASE_URL}/anime/{anime_id}"


def profile_url(username: str) -> str:
    return f"{MAL_BASE_URL}/profile/{validate_username(username)}"


def jikan_url(path: str, **query: object) -> str:
    """A URL on the canonical Jikan host (``path`` relative to the API root, e.g. /anime/6)."""
    url = f"{JIKAN_BASE_URL}{path}"
    return f"{url}?{urlencode(query)}" if query else url


def malapi_url(path: str, **query: object) -> str:
    """A URL on the canonical MAL API v2 host (``path`` relative to /v2, e.g. /anime/6)."""
    url = f"{MAL_API_BASE_URL}{path}"
    return f"{url}?{urlencode(query)}" if query else url


def malapi_anime_url(anime_id: int) -> str:
    """One request for an anime's details, statistics, pictures, relations, recommendations."""
    return malapi_url(f"/anime/{int(anime_id)}", fields=MALAPI_ANIME_FIELDS)


def malapi_animelist_url(username: str, offset: int = 0) -> str:
    """A page of a user's whole list; ``nsfw=true`` so no entry is silently left out."""
    return malapi_url(
        f"/users/{validate_username(username)}/animelist",
        fields="list_status",
        limit=MALAPI_LIST_LIMIT,
        nsfw="true",
        offset=max(int(offset), 0),
    )


def mal_url(path: str, **query: object) -> str:
    url = f"{MAL_BASE_URL}{path}"
    return f"{url}?{urlencode(query)}" if query else url


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


MAX_ID = 2**53 - 1  # ids stay exact as JSON/JavaScript numbers (crawler.parsers.bounds)


def _positive_int(text: str) -> int | None:
    """A positive id below 2^53 written in ASCII digits, else None."""
    if not (text.isascii() and text.isdigit()) or len(text) > 16:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def _username_or_none(text: str) -> str | None:
    return text if USERNAME_RE.fullmatch(text) else None


def parse_url(url: str) -> UrlInfo | None:
    """Classify a MAL or Jikan URL by its path and query alone (any host). None if unknown."""
    if not isinstance(url, str) or len(url) > 2048:
        return None
    parts = urlsplit(url.strip())
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    segs = _segments(parts.path)
    if "v4" in segs:
        return _parse_jikan(segs[segs.index("v4") + 1 :], query)
    if "v2" in segs:
        return _parse_malapi(segs[segs.index("v2") + 1 :], query)
    return _parse_mal(segs, query)


def _parse_malapi(segs: list[str], query: dict[str, str]) -> UrlInfo | None:
    if len(segs) == 2 and segs[0] == "anime":
        anime_id = _positive_int(segs[1])
        return (
            UrlInfo("malapi_anime", "malapi", anime_id=anime_id, query=query) if anime_id else None
        )
    if len(segs) == 3 and segs[0] == "users" and segs[2] == "animelist":
        username = _username_or_none(segs[1])
        if username is None:
            return None
        return UrlInfo("malapi_animelist", "malapi", username=username, query=query)
    return None


def _parse_mal(segs: list[str], query: dict[str, str]) -> UrlInfo | None:
    if not segs:
        return None
    head, rest = segs[0], segs[1:]
    if head == "anime.php" and not rest:
        anime_id = _positive_int(query.get("id", ""))
        return UrlInfo("anime", "mal", anime_id=anime_id, query=query) if anime_id else None
    if head == "anime" and rest:
        anime_id = _positive_int(rest[0])
        if anime_id is None:
            return None
        sub = None
        if len(rest) == 2 and (
            rest[1] in MAL_ANIME_SUBPAGES or rest[1] in MAL_ANIME_IGNORED_SUBPAGES
        ):
            sub = rest[1]
        elif len(rest) >= 3:
            sub = rest[2]
        if sub is None:
            return UrlInfo("anime", "mal", anime_id=anime_id, query=query)
        page_type = MAL_ANIME_SUBPAGES.get(sub)
        return UrlInfo(page_type, "mal", anime_id=anime_id, query=query) if page_type else None
    if head == "profile" and rest:
        username = _username_or_none(rest[0])
        if username is None:
            return None
        sub = rest[1] if len(rest) > 1 else ""
        page_type = {"": "profile", "friends": "profile_friends", "clubs": "profile_clubs"}.get(sub)
        return UrlInfo(page_type, "mal", username=username, query=query) if page_type else None
    if head == "history" and rest:
        username = _username_or_none(rest[0])
        if username is None or (len(rest) > 1 and rest[1] != "anime"):
            return None
        return UrlInfo("history", "mal", username=username, query=query)
    if head == "animelist" and len(rest) == 2 and rest[1] == "load.json":
        username = _username_or_none(rest[0])
        return UrlInfo("animelist", "mal", username=username, query=query) if username else None
    if head == "clubs.php" and not rest and ("cid" in query or "id" in query):
        return UrlInfo("club", "mal", query=query)
    if head == "topanime.php" and not rest:
        return UrlInfo("top_anime", "mal", query=query)
    if head == "users.php" and not rest:
        return UrlInfo("users_listing", "mal", query=query)
    return None


def _parse_jikan(segs: list[str], query: dict[str, str]) -> UrlInfo | None:
    if len(segs) < 2:
        return None
    head, key, sub = segs[0], segs[1], (segs[2] if len(segs) > 2 else "")
    if head == "anime":
        anime_id = _positive_int(key)
        page_type = JIKAN_ANIME_SUBPAGES.get(sub)
        if anime_id is None or page_type is None or len(segs) > 3:
            return None
        return UrlInfo(page_type, "jikan", anime_id=anime_id, query=query)
    if head == "users":
        username = _username_or_none(key)
        page_type = JIKAN_USER_SUBPAGES.get(sub)
        if username is None or page_type is None:
            return None
        if len(segs) > 3 and not (sub == "history" and segs[3:] == ["anime"]):
            return None
        return UrlInfo(page_type, "jikan", username=username, query=query)
    if head == "top" and key == "anime" and len(segs) == 2:
        return UrlInfo("jikan_top_anime", "jikan", query=query)
    return None


def page_type(url: str) -> str | None:
    info = parse_url(url)
    return info.page_type if info else None


def anime_id_from_url(url: str) -> int | None:
    info = parse_url(url)
    return info.anime_id if info else None


def username_from_url(url: str) -> str | None:
    info = parse_url(url)
    return info.username if info else None


def canonicalize(url: str) -> tuple[Kind, str]:
    """The (kind, canonical MAL URL) of the anime or profile a URL points at; raise if none.

    Accepts canonical URLs, any MAL page of that anime or user, or the same paths on another
    host. Hostile strings (bad usernames, odd paths, over-long input) raise a clear error.
    """
    if not isinstance(url, str):
        raise InvalidUrlError(f"URL must be a string, got {type(url).__name__}")
    segs = _segments(urlsplit(url.strip()).path)
    if len(segs) >= 2 and segs[0] == "profile":
        validate_username(segs[1])  # the precise username error beats a generic one
    info = parse_url(url)
    if info is None or info.kind is None or info.canonical is None:
        raise InvalidUrlError(f"not a MAL anime or profile URL: {url[:120]!r}")
    return info.kind, info.canonical


def canonical_or_none(url: str) -> tuple[Kind, str] | None:
    try:
        return canonicalize(url)
    except (InvalidUrlError, InvalidUsernameError):
        return None


def to_fetch_url(canonical_or_path: str, base_url: str) -> str:
    """Rewrite a canonical URL (MAL or Jikan host) or a bare path onto ``base_url``.

    ``base_url`` is ``settings.mal_base_url`` or ``settings.jikan_base_url``; a path prefix in
    it (Jikan's ``/v4``) is kept, and a canonical Jikan URL loses its own ``/v4`` first.
    """
    if not base_url or not base_url.startswith(("http://", "https://")):
        raise InvalidUrlError(f"base URL must be http(s)://..., got {base_url!r}")
    text = canonical_or_path.strip()
    for known in (JIKAN_BASE_URL, MAL_API_BASE_URL, MAL_BASE_URL):
        if text.startswith(known + "/") or text == known:
            text = text[len(known) :] or "/"
            break
    else:
        if text.startswith(("http://", "https://")):
            parts = urlsplit(text)
            text = urlunsplit(("", "", parts.path, parts.query, ""))
    if not text.startswith("/"):
        raise InvalidUrlError(f"expected a canonical URL or an absolute path, got {text!r}")
    return base_url.rstrip("/") + text


def to_canonical_host(url: str, base_url: str) -> str:
    """Inverse of ``to_fetch_url``: put a fetched URL back on MAL's (or Jikan's) own host."""
    base = base_url.rstrip("/")
    segs = _segments(urlsplit(url).path)
    api_version = "v4" if "v4" in segs else "v2" if "v2" in segs else None
    canonical_base = {"v4": JIKAN_BASE_URL, "v2": MAL_API_BASE_URL}.get(
        api_version or "", MAL_BASE_URL
    )
    if url.startswith(base + "/") or url == base:
        return canonical_base + (url[len(base) :] or "/")
    parts = urlsplit(url)
    path = parts.path
    if api_version is not None:
        path = path[path.index(f"/{api_version}") + 3 :]
    return canonical_base + urlunsplit(("", "", path, parts.query, ""))


def with_query(url: str, **changes: object) -> str:
    """``url`` with some query parameters set (others kept, order kept)."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    query.update({k: str(v) for k, v in changes.items()})
    return urlunsplit(parts._replace(query=urlencode(query)))


def parent_of(info: UrlInfo) -> tuple[str, str] | None:
    """(parent_kind, parent_id) of the page: ("user", username) or ("anime", "6")."""
    if info.username is not None:
        return "user", info.username
    if info.anime_id is not None:
        return "anime", str(info.anime_id)
    return None
