"""One router for the spiders and ``animerec parse``: URL -> parser, and the safety net.

``parse_response`` never lets an exception escape: HTTP errors, truncated pages and pages
whose layout moved become ``crawl_error`` items carrying the URL and the reason, so a crawl
keeps going and the failure lands in a table someone can look at.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from scrapy.http import HtmlResponse, TextResponse

from animerec_assets.contracts.landing import ITEM_KEYS
from animerec_assets.settings import load_settings
from crawler.parsers import jikan, mal_anime, mal_user
from crawler.parsers.base import PageStructureError, ParseContext, Parser, ParseResult
from crawler.parsers.bounds import Limits
from crawler.urls import canonical_or_none, parse_url, to_canonical_host

PARSERS: dict[str, Parser] = {
    "anime": mal_anime.parse_anime,
    "anime_stats": mal_anime.parse_anime_stats,
    "anime_userrecs": mal_anime.parse_anime_userrecs,
    "anime_reviews": mal_anime.parse_anime_reviews,
    "anime_pics": mal_anime.parse_anime_pics,
    "anime_clubs": mal_anime.parse_anime_clubs,
    "profile": mal_user.parse_profile,
    "profile_friends": mal_user.parse_friends,
    "history": mal_user.parse_history,
    "animelist": mal_user.parse_animelist,
    "club": mal_user.parse_listing,
    "top_anime": mal_user.parse_listing,
    "users_listing": mal_user.parse_listing,
    "jikan_anime": jikan.parse_jikan_anime,
    "jikan_anime_stats": jikan.parse_jikan_anime_stats,
    "jikan_anime_recommendations": jikan.parse_jikan_anime_recommendations,
    "jikan_anime_reviews": jikan.parse_jikan_anime_reviews,
    "jikan_anime_pics": jikan.parse_jikan_anime_pics,
    "jikan_user": jikan.parse_jikan_user,
    "jikan_user_friends": jikan.parse_jikan_user_friends,
    "jikan_user_history": jikan.parse_jikan_user_history,
    "jikan_user_favorites": jikan.parse_jikan_user_favorites,
    "jikan_top_anime": jikan.parse_jikan_top_anime,
}
# Pages whose parser reads an error status itself (MAL answers 400/404 with a real body;
# every Jikan error comes as a JSON body with a message).
STATUS_AWARE: dict[str, frozenset[int]] = {
    "animelist": frozenset({400}),
    "profile_friends": frozenset({404}),
}
JSON_PAGE_TYPES = frozenset({"animelist"}) | frozenset(p for p in PARSERS if p.startswith("jikan"))


class UnroutableUrlError(ValueError):
    """No parser reads this URL."""


def route(url: str) -> Parser | None:
    """The parser for a URL (any host), or None when the crawler does not read that page."""
    info = parse_url(url)
    return PARSERS.get(info.page_type) if info else None


def build_response(
    url: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> TextResponse:
    """A Scrapy response for a saved body, typed as the spider would receive it."""
    info = parse_url(url)
    is_json = info is not None and info.page_type in JSON_PAGE_TYPES
    cls = TextResponse if is_json else HtmlResponse
    return cls(url=url, body=body, status=status, headers=headers, encoding="utf-8")


def _looks_truncated(response: TextResponse) -> bool:
    tail = response.text[-4096:].lower()
    return "</html>" not in tail and "</body>" not in tail


def default_limits() -> Limits:
    """Bounds the environment decides: the hosts pictures may come from."""
    return Limits(picture_hosts=load_settings().picture_hosts)


ID_KEYS = frozenset({"anime_id", "animeA", "animeB", "review_id", "user_id", "userA", "userB"})


def _lost_its_key(item: dict) -> bool:
    """An item whose id (a key of its landing table) the bounds refused: no row to keep."""
    keys = ITEM_KEYS.get(item["item_type"], ())
    return any(key in ID_KEYS and item.get(key) is None for key in keys)


def _checked(result: ParseResult, ctx: ParseContext) -> ParseResult:
    """Only canonical anime/profile URLs reach the scheduler; the page's notes become one
    ``crawl_error`` item (unless the page already failed)."""
    kept = [item for item in result.items if not _lost_its_key(item)]
    if len(kept) < len(result.items):
        dropped = Counter(i["item_type"] for i in result.items if _lost_its_key(i))
        for item_type, n in sorted(dropped.items()):
            ctx.notes.add(item_type, f"{n} rows dropped: an id refused by the bounds")
        result.items = kept
    for kind, urls in result.seen.items():
        result.seen[kind] = {u for u in urls if canonical_or_none(u) == (kind, u)}
    result.follow = [u for u in result.follow if parse_url(u) is not None]
    failed = any(item["item_type"] == "crawl_error" for item in result.items)
    if not failed and (note := ctx.note_item()) is not None:
        result.items.append(note)
    return result


def parse_response(
    response: TextResponse,
    crawl_date: datetime | None = None,
    base_url: str | None = None,
    limits: Limits | None = None,
) -> ParseResult:
    """Route and parse one response; failures come back as a ``crawl_error`` item, values the
    bounds refused as one note ``crawl_error`` (``bounds.NOTE_PREFIX``)."""
    info = parse_url(response.url)
    parser = PARSERS.get(info.page_type) if info else None
    if info is None or parser is None:
        raise UnroutableUrlError(f"no parser for URL {response.url[:200]!r}")
    when = crawl_date or datetime.now(UTC)
    ctx = ParseContext(
        crawl_date=when,
        info=info,
        page_url=to_canonical_host(response.url, base_url or ""),
        status=response.status,
        limits=limits or default_limits(),
    )
    try:
        reads_status = info.source == "jikan" or response.status in STATUS_AWARE.get(
            info.page_type, frozenset()
        )
        if response.status >= 400 and not reads_status:
            raise PageStructureError(f"HTTP {response.status}")
        if info.page_type not in JSON_PAGE_TYPES and _looks_truncated(response):
            raise PageStructureError("truncated page: no closing </html> or </body>")
        # Relative links must resolve against MAL's (or Jikan's) host, not the fetch host.
        return _checked(parser(response.replace(url=ctx.page_url), ctx), ctx)
    except Exception as exc:  # the safety net: one bad page must not stop a crawl
        reason = str(exc) if isinstance(exc, PageStructureError) else f"{type(exc).__name__}: {exc}"
        reason = reason[:1000]
        result = ParseResult()
        result.items.append(ctx.error(reason))
        return result
