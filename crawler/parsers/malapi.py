"""Parsers for MAL's official API v2: the same items as the HTML pages, from its JSON.

Two endpoints carry what the HTML source needs most requests for: ``/anime/{id}`` (details,
statistics, pictures, related anime, recommendations in one body) and
``/users/{name}/animelist`` (the whole list, 1,000 entries a page against load.json's 300).
What the API does not offer (an anime's score distribution, reviews and clubs; a profile's
last online, favorites, friends, history) the anime parser asks for from the HTML pages, and
the profile spider reads the HTML profile beside the list.

The API speaks in snake_case codes (``media_type: "tv"``, ``status: "finished_airing"``);
they become the words the HTML pages show, so staging cannot tell the sources apart.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scrapy.http import TextResponse

from crawler.parsers.base import PageStructureError, ParseContext, ParseResult, to_float, to_int
from crawler.parsers.jikan import relation_type
from crawler.urls import (
    MALAPI_LIST_LIMIT,
    mal_url,
    malapi_animelist_url,
    validate_username,
    with_query,
)

MAX_LIST_OFFSET = 100_000  # no real list is longer; a larger offset is a hostile paging link
LIST_STATUSES = frozenset({"watching", "completed", "on_hold", "dropped", "plan_to_watch"})
MEDIA_TYPES = {
    "tv": "TV",
    "ova": "OVA",
    "movie": "Movie",
    "special": "Special",
    "ona": "ONA",
    "music": "Music",
    "tv_special": "TV Special",
    "cm": "CM",
    "pv": "PV",
}
AIRING_STATUSES = {
    "finished_airing": "Finished Airing",
    "currently_airing": "Currently Airing",
    "not_yet_aired": "Not yet aired",
}
SOURCE_WORDS = {"4_koma_manga": "4-koma manga"}
# HTML sub-pages an API anime crawl still reads: what the API has no field for (the stats page
# also shows the favorites count in its sidebar).
HTML_ANIME_SUBPAGES = ("stats", "reviews", "clubs")


def malapi_anime_followups(anime_id: int) -> list[str]:
    """HTML pages for what the API lacks: score distribution, reviews, clubs."""
    urls = [mal_url(f"/anime/{anime_id}/_/{sub}") for sub in HTML_ANIME_SUBPAGES]
    urls[1] = with_query(urls[1], spoiler="on", preliminary="on")
    return urls


def error_message(body: Any) -> str:
    """MAL's error JSON is ``{"error": "...", "message": "..."}``; either part may be empty."""
    if not isinstance(body, dict):
        return "no error body"
    parts = [str(body.get(key) or "")[:200] for key in ("error", "message")]
    return ": ".join(p for p in parts if p) or "no error message"


def _body(response: TextResponse) -> Any:
    try:
        return json.loads(response.text)
    except ValueError as exc:
        raise PageStructureError(f"body is not JSON: {exc}") from exc


def _checked(
    response: TextResponse, ctx: ParseContext
) -> tuple[dict[str, Any] | None, ParseResult]:
    """(body, result): an error status becomes a crawl_error (the spider stops on 401/403)."""
    result = ParseResult()
    if ctx.status >= 400:
        try:
            body = json.loads(response.text)
        except ValueError:
            body = None
        if ctx.status == 404 and ctx.info.kind is not None:  # a user or anime no longer there
            parent_id = ctx.info.username or str(ctx.info.anime_id)
            parent_kind = "user" if ctx.info.username else "anime"
            result.items.append(
                ctx.item(
                    "page_gone",
                    parent_kind=parent_kind,
                    parent_id=parent_id,
                    reason="not_found",
                    status_code=404,
                )
            )
            return None, result
        result.items.append(ctx.error(f"MAL API error: {error_message(body)}", ctx.status))
        return None, result
    body = _body(response)
    if not isinstance(body, dict):
        raise PageStructureError("MAL API body is not a JSON object")
    return body, result


def _title_words(code: Any) -> str | None:
    """'light_novel' -> 'Light novel' (MAL's own spelling of sources on its pages)."""
    if not isinstance(code, str) or not code.strip() or code == "unknown":
        return None
    return SOURCE_WORDS.get(code) or code.replace("_", " ").strip().capitalize()


def _names(entries: Any) -> list[str]:
    if not isinstance(entries, list):
        return []
    names = [str(e["name"]).strip() for e in entries if isinstance(e, dict) and e.get("name")]
    return list(dict.fromkeys(n for n in names if n))


def _node_id(entry: Any) -> int | None:
    node = entry.get("node") if isinstance(entry, dict) else None
    anime_id = to_int(node.get("id")) if isinstance(node, dict) else None
    return anime_id if anime_id is not None and anime_id > 0 else None


def _premiered(season: Any) -> str | None:
    if not isinstance(season, dict):
        return None
    name, year = season.get("season"), to_int(season.get("year"))
    if not isinstance(name, str) or name.lower() not in ("winter", "spring", "summer", "fall"):
        return None
    return f"{name.title()} {year}" if year else None


def _picture(picture: Any, *sizes: str) -> str | None:
    if not isinstance(picture, dict):
        return None
    for size in sizes:
        if isinstance(picture.get(size), str) and picture[size].startswith(("http://", "https://")):
            return str(picture[size])
    return None


def _date(value: Any) -> str | None:
    """The API's dates are 'YYYY-MM-DD', 'YYYY-MM' or 'YYYY'; anything else is dropped."""
    if not isinstance(value, str) or not 4 <= len(value) <= 10:
        return None
    digits = value.replace("-", "")
    return value if digits.isdigit() else None


def _utc_iso(value: Any) -> str | None:
    """'2017-11-11T19:51:22+09:00' -> '2017-11-11T10:51:22' (naive UTC, as load.json gives)."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat()


def parse_malapi_anime(response: TextResponse, ctx: ParseContext) -> ParseResult:
    """``/v2/anime/{id}?fields=...``: anime, relations, recommendations and pictures."""
    data, result = _checked(response, ctx)
    if data is None:
        return result
    anime_id = ctx.info.anime_id  # identity from the URL, never from the body
    if not anime_id or to_int(data.get("id")) != anime_id or not data.get("title"):
        raise PageStructureError("MAL API anime without the requested id or a title")
    stats: dict[str, Any] = data["statistics"] if isinstance(data.get("statistics"), dict) else {}
    episodes = to_int(data.get("num_episodes"))
    result.items.append(
        ctx.item(
            "anime",
            anime_id=anime_id,
            anime_url=ctx.entity_url,
            title=str(data["title"]),
            synopsis=data.get("synopsis") or None,
            main_pic=_picture(data.get("main_picture"), "medium", "large"),
            type=MEDIA_TYPES.get(str(data.get("media_type"))),
            source_type=_title_words(data.get("source")),
            num_episodes=episodes if episodes else None,
            status=AIRING_STATUSES.get(str(data.get("status"))),
            start_date=_date(data.get("start_date")),
            end_date=_date(data.get("end_date")),
            premiered=_premiered(data.get("start_season")),
            studios=_names(data.get("studios")),
            genres=_names(data.get("genres")),
            score=to_float(data.get("mean")),
            # MAL's pages show no count for an anime nobody scored yet; neither do we
            score_count=to_int(data.get("num_scoring_users")) if data.get("mean") else None,
            score_rank=to_int(data.get("rank")),
            popularity_rank=to_int(data.get("popularity")),
            members_count=to_int(data.get("num_list_users")) or to_int(stats.get("num_list_users")),
            # the API has no favorites count: the HTML stats page read beside it gives it
            favorites_count=None,
            rating=data.get("rating"),  # "pg_13": the bounds turn codes into MAL's labels
        )
    )
    for entry in data.get("related_anime") or []:
        if (other := _node_id(entry)) is not None and other != anime_id:
            kind = entry.get("relation_type_formatted") or str(entry.get("relation_type") or "")
            result.items.append(
                ctx.item(
                    "anime_relation",
                    animeA=anime_id,
                    animeB=other,
                    relation_type=relation_type(str(kind).replace("_", " ")),
                )
            )
            result.seen["anime"].add(mal_url(f"/anime/{other}"))
    for entry in data.get("recommendations") or []:
        if (other := _node_id(entry)) is not None and other != anime_id:
            low, high = sorted((anime_id, other))
            result.items.append(
                ctx.item(
                    "anime_recommendation",
                    animeA=anime_id,
                    animeB=other,
                    recommendation_url=mal_url(f"/recommendations/anime/{low}-{high}"),
                    num_recommenders=to_int(entry.get("num_recommendations")),
                )
            )
            result.seen["anime"].add(mal_url(f"/anime/{other}"))
    if isinstance(data.get("pictures"), list):
        pics = [_picture(p, "large", "medium") for p in data["pictures"]]
        result.items.append(
            ctx.item(
                "anime_pics", anime_id=anime_id, pics=list(dict.fromkeys(p for p in pics if p))
            )
        )
    result.follow.extend(malapi_anime_followups(anime_id))
    result.mark_crawled("anime", ctx.entity_url)
    return result


def _next_offset(paging: Any, offset: int, rows: int) -> int | None:
    """The next page's offset from ``paging.next`` (its query only: the host is ours)."""
    if not isinstance(paging, dict) or not isinstance(paging.get("next"), str) or rows == 0:
        return None
    query = parse_qs(urlsplit(paging["next"]).query)
    following = to_int((query.get("offset") or [""])[-1])
    if following is None or following <= offset or following > MAX_LIST_OFFSET:
        return None
    return following


def parse_malapi_animelist(response: TextResponse, ctx: ParseContext) -> ParseResult:
    """``/v2/users/{name}/animelist?fields=list_status``: user_anime rows; follows paging."""
    data, result = _checked(response, ctx)
    if data is None:
        return result
    username = validate_username(ctx.info.username or "")
    entries = data.get("data")
    if not isinstance(entries, list):
        raise PageStructureError("MAL API anime list without a 'data' list")
    for entry in entries:
        anime_id = _node_id(entry)
        status = entry.get("list_status") if isinstance(entry, dict) else None
        if anime_id is None or not isinstance(status, dict):
            raise PageStructureError(f"MAL API list entry without node.id: {str(entry)[:100]}")
        code = status.get("status")
        score = to_int(status.get("score"))
        result.items.append(
            ctx.item(
                "user_anime",
                user_id=username,
                anime_id=anime_id,
                score=score if score is not None and 0 <= score <= 10 else 0,
                status=code if code in LIST_STATUSES else None,
                progress=to_int(status.get("num_episodes_watched")),
                last_interaction_date=_utc_iso(status.get("updated_at")),
            )
        )
        result.seen["anime"].add(mal_url(f"/anime/{anime_id}"))
    offset = to_int(ctx.info.query.get("offset")) or 0
    if (following := _next_offset(data.get("paging"), offset, len(entries))) is not None:
        result.follow.append(malapi_animelist_url(username, following))
    return result


__all__ = [
    "MALAPI_LIST_LIMIT",
    "error_message",
    "malapi_anime_followups",
    "parse_malapi_anime",
    "parse_malapi_animelist",
]
