"""One router for the spiders and ``animerec parse``: URL -> parser, and the safety net.

``parse_response`` never lets an exception escape: HTTP errors, truncated pages and pages
whose layout moved become ``crawl_error`` items carrying the URL and the reason, so a crawl
keeps going and the failure lands in a table someone can look at.
"""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy.http import HtmlResponse, TextResponse

from crawler.parsers import jikan, mal_anime, mal_user, malapi
from crawler.parsers.base import PageStructureError, ParseContext, Parser, ParseResult
from crawler.urls import parse_url, to_canonical_host

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
    "malapi_anime": malapi.parse_malapi_anime,
    "malapi_animelist": malapi.parse_malapi_animelist,
}
# Pages whose parser reads an error status itself (MAL answers 400/404 with a real body;
# every Jikan and MAL API error comes as a JSON body with a message).
STATUS_AWARE: dict[str, frozenset[int]] = {
    "animelist": frozenset({400}),
    "profile_friends": frozenset({404}),
}
JSON_PAGE_TYPES = frozenset({"animelist"}) | frozenset(
    p for p in PARSERS if p.startswith(("jikan", "malapi"))
)


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


def parse_response(
    response: TextResponse, crawl_date: datetime | None = None, base_url: str | None = None
) -> ParseResult:
    """Route and parse one response; failures come back as a ``crawl_error`` item."""
    info = parse_url(response.url)
    parser = PARSERS.get(info.page_type) if info else None
    if info is None or parser is None:
        raise UnroutableUrlError(f"no parser for URL {response.url!r}")
    when = crawl_date or datetime.now(UTC)
    ctx = ParseContext(
        crawl_date=when,
        info=info,
        page_url=to_canonical_host(response.url, base_url or ""),
        status=response.status,
    )
    try:
        reads_status = info.source in ("jikan", "malapi") or response.status in STATUS_AWARE.get(
            info.page_type, frozenset()
        )
        if response.status >= 400 and not reads_status:
            raise PageStructureError(f"HTTP {response.status}")
        if info.page_type not in JSON_PAGE_TYPES and _looks_truncated(response):
            raise PageStructureError("truncated page: no closing </html> or </body>")
        # Relative links must resolve against MAL's (or Jikan's) host, not the fetch host.
        return parser(response.replace(url=ctx.page_url), ctx)
    except Exception as exc:  # the safety net: one bad page must not stop a crawl
        reason = str(exc) if isinstance(exc, PageStructureError) else f"{type(exc).__name__}: {exc}"
        result = ParseResult()
        result.items.append(ctx.error(reason))
        return result
