"""Parsers for the Jikan REST v4 API: the same items as the MAL pages, from JSON.

Jikan mirrors MAL, so these produce exactly the item types and field names of the HTML
parsers; ``source`` says which one an item came from. Jikan v4 has no user anime list, so a
Jikan profile crawl gets ``user_anime`` rows only from the profile's recent updates.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from animerec_assets.contracts.landing import SCORE_COUNT_FIELDS
from crawler.parsers.base import PageStructureError, ParseContext, ParseResult, to_float, to_int
from crawler.parsers.mal_user import identity, identity_mismatch
from crawler.urls import jikan_url, mal_url, with_query

MAX_JIKAN_PAGES = 50  # a safety stop for paged endpoints; spiders cap pages lower
_STATUS_WORDS = {
    "watching": "watching",
    "completed": "completed",
    "on-hold": "on_hold",
    "on hold": "on_hold",
    "on_hold": "on_hold",
    "dropped": "dropped",
    "plan to watch": "plan_to_watch",
    "plan_to_watch": "plan_to_watch",
}


def relation_type(text: str | None) -> str | None:
    """'Side story' (Jikan) and 'Side Story' (MAL) -> 'Side Story'."""
    return text.strip().title() if text and text.strip() else None


def tag_token(text: str) -> str:
    """'Mixed Feelings' -> 'mixed-feelings' (MAL's own CSS token for the tag)."""
    return "-".join(text.lower().split())


def jikan_anime_followups(anime_id: int) -> list[str]:
    return [
        jikan_url(f"/anime/{anime_id}/statistics"),
        jikan_url(f"/anime/{anime_id}/recommendations"),
        jikan_url(f"/anime/{anime_id}/reviews", page=1),
        jikan_url(f"/anime/{anime_id}/pictures"),
    ]


def jikan_user_followups(username: str) -> list[str]:
    return [
        jikan_url(f"/users/{username}/friends", page=1),
        jikan_url(f"/users/{username}/history/anime"),
    ]


def _body(response: TextResponse, ctx: ParseContext) -> tuple[Any, dict[str, Any] | None]:
    """(data, error item): Jikan errors come as {"status": 4xx/5xx, "message": ...}."""
    try:
        body = json.loads(response.text)
    except ValueError as exc:
        raise PageStructureError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise PageStructureError("Jikan body is not a JSON object")
    status = to_int(body.get("status")) if "data" not in body else None
    if (status is not None and status >= 400) or ctx.status >= 400:
        message = body.get("message") or body.get("error") or "Jikan error"
        return None, ctx.error(f"Jikan error: {message}", status or ctx.status)
    if "data" not in body:
        raise PageStructureError("Jikan body has no 'data'")
    return body["data"], None


def _next_page(ctx: ParseContext, body_text: str) -> str | None:
    try:
        pagination = json.loads(body_text).get("pagination") or {}
    except (ValueError, AttributeError):
        return None
    if pagination.get("has_next_page") is True:
        page = to_int(ctx.info.query.get("page")) or 1
        if page < MAX_JIKAN_PAGES:
            return with_query(ctx.page_url, page=page + 1)
    return None


def _on_mal(url: object) -> str | None:
    """A page link Jikan gives (MAL's, or the replica's) as the same path on MAL's own host."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None
    return mal_url(urlsplit(url).path)


def _names(entries: list[dict[str, Any]] | None) -> list[str]:
    return [e["name"] for e in entries or [] if isinstance(e, dict) and e.get("name")]


def _error_result(error: dict[str, Any]) -> ParseResult:
    result = ParseResult()
    result.items.append(error)
    return result


def parse_jikan_anime(response: TextResponse, ctx: ParseContext) -> ParseResult:
    data, error = _body(response, ctx)
    if error:
        return _error_result(error)
    if not isinstance(data, dict):
        raise PageStructureError("Jikan anime data is not an object")
    anime_id = ctx.info.anime_id  # identity from the URL, as for profiles
    if not anime_id or not data.get("title"):
        raise PageStructureError("Jikan anime without an id in the URL or a title")
    shown = to_int(data.get("mal_id"))
    if shown is not None and shown != anime_id:
        return _error_result(
            ctx.error(f"identity mismatch: the URL names anime {anime_id}, the body {shown!r}")
        )
    aired = data.get("aired") or {}
    season, year = data.get("season"), data.get("year")
    images = (data.get("images") or {}).get("jpg") or {}
    genres = [
        *_names(data.get("genres")),
        *_names(data.get("explicit_genres")),
        *_names(data.get("themes")),
        *_names(data.get("demographics")),
    ]
    result = ParseResult()
    result.items.append(
        ctx.item(
            "anime",
            anime_id=anime_id,
            anime_url=ctx.entity_url,
            title=data.get("title"),
            synopsis=data.get("synopsis"),
            main_pic=images.get("image_url") or images.get("large_image_url"),
            type=data.get("type"),
            source_type=data.get("source"),
            num_episodes=to_int(data.get("episodes")),
            status=data.get("status"),
            start_date=aired.get("from"),
            end_date=aired.get("to"),
            premiered=f"{season.title()} {year}" if season and year else None,
            studios=_names(data.get("studios")),
            genres=list(dict.fromkeys(genres)),
            score=to_float(data.get("score")),
            score_count=to_int(data.get("scored_by")),
            score_rank=to_int(data.get("rank")),
            popularity_rank=to_int(data.get("popularity")),
            members_count=to_int(data.get("members")),
            favorites_count=to_int(data.get("favorites")),
            rating=data.get("rating"),
        )
    )
    for relation in data.get("relations") or []:
        for entry in relation.get("entry") or []:
            if entry.get("type") == "anime" and to_int(entry.get("mal_id")):
                result.items.append(
                    ctx.item(
                        "anime_relation",
                        animeA=anime_id,
                        animeB=to_int(entry["mal_id"]),
                        relation_type=relation_type(relation.get("relation")),
                    )
                )
                result.seen["anime"].add(mal_url(f"/anime/{to_int(entry['mal_id'])}"))
    result.follow.extend(jikan_anime_followups(anime_id))
    result.mark_crawled("anime", ctx.entity_url)
    return result


def parse_jikan_anime_stats(response: TextResponse, ctx: ParseContext) -> ParseResult:
    data, error = _body(response, ctx)
    if error:
        return _error_result(error)
    scores: dict[str, int | None] = dict.fromkeys(SCORE_COUNT_FIELDS)
    for entry in data.get("scores") or []:
        score = to_int(entry.get("score"))
        if score is not None and 1 <= score <= 10:
            scores[f"score_{score:02d}_count"] = to_int(entry.get("votes"))
    result = ParseResult()
    result.items.append(
        ctx.item(
            "anime_stats",
            anime_id=ctx.info.anime_id,
            watching_count=to_int(data.get("watching")),
            completed_count=to_int(data.get("completed")),
            on_hold_count=to_int(data.get("on_hold")),
            dropped_count=to_int(data.get("dropped")),
            plan_to_watch_count=to_int(data.get("plan_to_watch")),
            total_count=to_int(data.get("total")),
            **scores,
        )
    )
    return result


def parse_jikan_anime_recommendations(response: TextResponse, ctx: ParseContext) -> ParseResult:
    data, error = _body(response, ctx)
    if error:
        return _error_result(error)
    result = ParseResult()
    for entry in data or []:
        target = to_int((entry.get("entry") or {}).get("mal_id"))
        if target is None:
            continue
        result.items.append(
            ctx.item(
                "anime_recommendation",
                animeA=ctx.info.anime_id,
                animeB=target,
                recommendation_url=_on_mal(entry.get("url")),
                num_recommenders=to_int(entry.get("votes")),
            )
        )
        result.seen["anime"].add(mal_url(f"/anime/{target}"))
    return result


def parse_jikan_anime_reviews(response: TextResponse, ctx: ParseContext) -> ParseResult:
    data, error = _body(response, ctx)
    if error:
        return _error_result(error)
    result = ParseResult()
    for entry in data or []:
        scores = entry.get("scores") or {}
        username = (entry.get("user") or {}).get("username")
        result.items.append(
            ctx.item(
                "review",
                review_id=to_int(entry.get("mal_id")),
                anime_id=ctx.info.anime_id,
                user_id=username,
                review_date=entry.get("date"),
                review_num_useful=to_int(entry.get("reactions", {}).get("overall"))
                if isinstance(entry.get("reactions"), dict)
                else to_int(entry.get("votes")),
                review_score=to_int(scores.get("overall", entry.get("score"))),
                review_story_score=to_int(scores.get("story")),
                review_animation_score=to_int(scores.get("animation")),
                review_sound_score=to_int(scores.get("sound")),
                review_character_score=to_int(scores.get("character")),
                review_enjoyment_score=to_int(scores.get("enjoyment")),
                review_tags=[tag_token(t) for t in entry.get("tags") or [] if isinstance(t, str)],
            )
        )
        if username:
            result.see([mal_url(f"/profile/{username}")])
    if next_page := _next_page(ctx, response.text):
        result.follow.append(next_page)
    return result


def parse_jikan_anime_pics(response: TextResponse, ctx: ParseContext) -> ParseResult:
    data, error = _body(response, ctx)
    if error:
        return _error_result(error)
    pics = []
    for entry in data or []:
        jpg = entry.get("jpg") or {}
        if url := jpg.get("large_image_url") or jpg.get("image_url"):
            pics.append(url)
    result = ParseResult()
    result.items.append(ctx.item("anime_pics", anime_id=ctx.info.anime_id, pics=pics))
    return result


def parse_jikan_user(response: TextResponse, ctx: ParseContext) -> ParseResult:
    data, error = _body(response, ctx)
    if error:
        return _error_result(error)
    if not isinstance(data, dict):
        raise PageStructureError("Jikan user data is not an object")
    if ctx.info.username is None:
        raise PageStructureError("missing landmark: username in URL")
    username = identity(ctx.info.username, data.get("username"))
    if username is None:
        return identity_mismatch(ctx, ctx.info.username, data.get("username"))
    stats = (data.get("statistics") or {}).get("anime") or {}
    favorites = [to_int(f.get("mal_id")) for f in (data.get("favorites") or {}).get("anime") or []]
    result = ParseResult()
    result.items.append(
        ctx.item(
            "user",
            user_id=username,
            user_url=ctx.entity_url,
            last_online_date=data.get("last_online"),
            join_date=data.get("joined"),
            num_watching=to_int(stats.get("watching")),
            num_completed=to_int(stats.get("completed")),
            num_on_hold=to_int(stats.get("on_hold")),
            num_dropped=to_int(stats.get("dropped")),
            num_plan_to_watch=to_int(stats.get("plan_to_watch")),
            num_days=to_float(stats.get("days_watched")),
            mean_score=to_float(stats.get("mean_score")),
            clubs=None,
            favorite_anime_ids=[f for f in favorites if f is not None]
            if "favorites" in data
            else None,
        )
    )
    for update in (data.get("updates") or {}).get("anime") or []:
        anime_id = to_int((update.get("entry") or {}).get("mal_id"))
        if anime_id is None:
            continue
        result.items.append(
            ctx.item(
                "user_anime",
                user_id=username,
                anime_id=anime_id,
                score=to_int(update.get("score")) or 0,
                status=_STATUS_WORDS.get(str(update.get("status") or "").lower()),
                progress=to_int(update.get("episodes_seen")),
                last_interaction_date=update.get("date"),
            )
        )
        result.seen["anime"].add(mal_url(f"/anime/{anime_id}"))
    for anime_id in favorites:
        if anime_id is not None:
            result.seen["anime"].add(mal_url(f"/anime/{anime_id}"))
    result.follow.extend(jikan_user_followups(ctx.info.username))
    result.mark_crawled("profile", ctx.entity_url)
    return result


def parse_jikan_user_friends(response: TextResponse, ctx: ParseContext) -> ParseResult:
    data, error = _body(response, ctx)
    if error:
        return _error_result(error)
    result = ParseResult()
    for entry in data or []:
        friend = (entry.get("user") or {}).get("username")
        if not friend:
            continue
        result.items.append(
            ctx.item(
                "user_user",
                userA=ctx.info.username,
                userB=friend,
                friendship_date=entry.get("friends_since"),
            )
        )
        result.see([mal_url(f"/profile/{friend}")])
    if next_page := _next_page(ctx, response.text):
        result.follow.append(next_page)
    return result


def parse_jikan_user_history(response: TextResponse, ctx: ParseContext) -> ParseResult:
    data, error = _body(response, ctx)
    if error:
        return _error_result(error)
    result = ParseResult()
    for entry in data or []:
        target = entry.get("entry") or {}
        anime_id = to_int(target.get("mal_id"))
        if anime_id is None or target.get("type", "anime") != "anime":
            continue
        result.items.append(
            ctx.item(
                "user_history",
                user_id=ctx.info.username,
                anime_id=anime_id,
                episode=to_int(entry.get("increment")),
                history_date=entry.get("date"),
            )
        )
        result.seen["anime"].add(mal_url(f"/anime/{anime_id}"))
    return result


def parse_jikan_user_favorites(response: TextResponse, ctx: ParseContext) -> ParseResult:
    """Favorites are already on /users/{u}/full; this page only marks the anime as seen."""
    data, error = _body(response, ctx)
    if error:
        return _error_result(error)
    result = ParseResult()
    for entry in data.get("anime") or []:
        if anime_id := to_int(entry.get("mal_id")):
            result.seen["anime"].add(mal_url(f"/anime/{anime_id}"))
    return result


def parse_jikan_top_anime(response: TextResponse, ctx: ParseContext) -> ParseResult:
    data, error = _body(response, ctx)
    if error:
        return _error_result(error)
    result = ParseResult()
    for entry in data or []:
        if anime_id := to_int(entry.get("mal_id")):
            result.seen["anime"].add(mal_url(f"/anime/{anime_id}"))
    if next_page := _next_page(ctx, response.text):
        result.follow.append(next_page)
    return result
