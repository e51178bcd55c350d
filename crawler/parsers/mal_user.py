"""Parsers for MAL's user pages: profile, anime list (load.json), friends, history."""

from __future__ import annotations

import json
import re
from typing import Any

from parsel import Selector
from scrapy.http import TextResponse

from animerec_assets.contracts.landing import USER_ANIME_STATUSES
from crawler.parsers.base import (
    PageStructureError,
    ParseContext,
    ParseResult,
    content_root,
    links,
    require,
    text_of,
    to_float,
    to_int,
)
from crawler.parsers.dates import resolve_date, unix_to_iso
from crawler.parsers.mal_anime import club_names
from crawler.urls import mal_url, parse_url, with_query

ANIMELIST_PAGE_SIZE = 300  # MAL's load.json serves 300 rows a page
_STATUS_CLASSES = {
    "watching": "num_watching",
    "completed": "num_completed",
    "on_hold": "num_on_hold",
    "dropped": "num_dropped",
    "plan_to_watch": "num_plan_to_watch",
}


def profile_followups(username: str) -> list[str]:
    """The pages a profile crawl reads after the profile itself (canonical MAL host)."""
    return [
        mal_url(f"/animelist/{username}/load.json", status=7, offset=0),
        mal_url(f"/profile/{username}/friends"),
        mal_url(f"/history/{username}/anime"),
    ]


def _display_name(response: TextResponse) -> str | None:
    """The username as MAL shows it: "sandshark's Profile" in the h1 or the title."""
    for text in (text_of(response.css("h1 span.di-ib")), text_of(response.css("title"))):
        if text and (m := re.match(r"^(\S+?)'s Profile", text)):
            return m.group(1)
    return None


def identity(url_username: str, shown: object) -> str | None:
    """The user id of a profile page: the username in the URL, in the page's case when the page
    shows the same name; None when the page names somebody else (its data is not this user's).
    """
    if not isinstance(shown, str) or not shown:
        return url_username
    return shown if shown.lower() == url_username.lower() else None


def identity_mismatch(ctx: ParseContext, url_username: str, shown: object) -> ParseResult:
    """A page that names another user than its URL: one crawl_error, nothing else from it."""
    result = ParseResult()
    result.items.append(
        ctx.error(
            f"identity mismatch: the URL names {url_username!r}, the page {str(shown)[:40]!r}"
        )
    )
    return result


def parse_profile(response: TextResponse, ctx: ParseContext) -> ParseResult:
    username = require(ctx.info.username, "username in URL")
    shown = _display_name(response)
    user_id = identity(username, shown)
    if user_id is None:
        return identity_mismatch(ctx, username, shown)
    root = content_root(response)
    status_rows = {}
    for li in response.css("ul.user-status li"):
        title = text_of(li.css("span.user-status-title"))
        data = text_of(li.css("span.user-status-data"))
        if title and title not in status_rows:
            status_rows[title] = data
    stats = response.css("div.stats.anime")
    if not status_rows and not stats:
        raise PageStructureError("missing landmark: ul.user-status and div.stats.anime")
    counts: dict[str, int | None] = dict.fromkeys(_STATUS_CLASSES.values())
    for li in stats.css("ul.stats-status li"):
        classes = (li.css("a::attr(class)").get() or "").split()
        for cls, name in _STATUS_CLASSES.items():
            if cls in classes:
                counts[name] = to_int(text_of(li.css("span")))
    days = mean = None
    for block in stats.css("div.stat-score > div"):
        label = text_of(block.css("span.fn-grey2")) or ""
        value = (text_of(block) or "").replace(label, "", 1)
        if label.startswith("Days"):
            days = to_float(value)
        elif label.startswith("Mean Score"):
            mean = to_float(value)
    favorites = [
        info.anime_id
        for info in (parse_url(u) for u in links(response.css("#anime_favorites"), response))
        if info is not None and info.page_type == "anime" and info.anime_id is not None
    ]
    clubs = club_names(root)
    result = ParseResult()
    result.items.append(
        ctx.item(
            "user",
            user_id=user_id,
            user_url=ctx.entity_url,
            last_online_date=resolve_date(status_rows.get("Last Online"), ctx.crawl_date),
            join_date=resolve_date(status_rows.get("Joined"), ctx.crawl_date),
            num_days=days,
            mean_score=mean,
            clubs=clubs or None,
            favorite_anime_ids=list(dict.fromkeys(favorites)),
            **counts,
        )
    )
    result.follow.extend(profile_followups(username))
    result.see(links(root, response), exclude=ctx.entity_url)
    result.mark_crawled("profile", ctx.entity_url)
    return result


def _json_body(response: TextResponse) -> Any:
    try:
        return json.loads(response.text)
    except ValueError as exc:
        raise PageStructureError(f"body is not JSON: {exc}") from exc


def parse_animelist(response: TextResponse, ctx: ParseContext) -> ParseResult:
    """One ``load.json`` page; asks for the next one (offset += 300) while pages are full."""
    username = require(ctx.info.username, "username in URL")
    body = _json_body(response)
    result = ParseResult()
    if isinstance(body, dict) and "errors" in body:
        messages = "; ".join(str(e.get("message", e)) for e in body.get("errors") or [])
        reason = f"anime list unavailable (unknown user or private list): {messages}"
        result.items.append(ctx.error(reason))
        return result
    if not isinstance(body, list):
        raise PageStructureError(f"load.json: expected a list of rows, got {type(body).__name__}")
    for row in body:
        anime_id = to_int(row.get("anime_id")) if isinstance(row, dict) else None
        if anime_id is None:
            raise PageStructureError(f"load.json row without anime_id: {str(row)[:100]}")
        result.items.append(
            ctx.item(
                "user_anime",
                user_id=username,
                anime_id=anime_id,
                score=to_int(row.get("score")) or 0,
                status=USER_ANIME_STATUSES.get(to_int(row.get("status")) or 0),
                progress=to_int(row.get("num_watched_episodes")),
                last_interaction_date=unix_to_iso(row.get("updated_at")),
            )
        )
        result.seen["anime"].add(mal_url(f"/anime/{anime_id}"))
    if len(body) >= ANIMELIST_PAGE_SIZE:
        offset = to_int(ctx.info.query.get("offset")) or 0
        page = with_query(ctx.page_url, offset=offset + len(body))
        result.follow.append(page if "status=" in page else with_query(page, status=7))
    return result


def parse_friends(response: TextResponse, ctx: ParseContext) -> ParseResult:
    """Friends list (2024 ``boxlist`` layout and the older ``friendBlock``); follows Next."""
    username = require(ctx.info.username, "username in URL")
    root = content_root(response)
    result = ParseResult()
    boxes = root.css("div.boxlist-container.friend div.boxlist") or root.css("div.friendBlock")
    if not boxes:
        if "No friends found" in (text_of(root) or ""):
            return result  # an empty list, or paged past its end (MAL then answers 404)
        if ctx.status >= 400:
            raise PageStructureError(f"HTTP {ctx.status} and no friends list")
        if not root.css("#horiznav_nav, div.horiznav_nav, h1"):
            raise PageStructureError("missing landmark: friends list")
        return result
    for box in boxes:
        friend = None
        for url in links(box, response):
            info = parse_url(url)
            if info is not None and info.page_type == "profile":
                friend = info.username
                break
        if friend is None:
            continue
        since = None
        if m := re.search(r"Friends since\s*(.+?)\s*$", text_of(box) or ""):
            since = resolve_date(m.group(1), ctx.crawl_date)
        result.items.append(
            ctx.item("user_user", userA=username, userB=friend, friendship_date=since)
        )
    if next_href := next_link(root):
        result.follow.append(response.urljoin(next_href))
    result.see(links(root, response), exclude=ctx.entity_url)
    return result


def parse_history(response: TextResponse, ctx: ParseContext) -> ParseResult:
    username = require(ctx.info.username, "username in URL")
    wrapper = response.css("div.history_content_wrapper")
    if not wrapper:
        raise PageStructureError("missing landmark: div.history_content_wrapper")
    result = ParseResult()
    for row in wrapper.css("tr"):
        cells = row.xpath("./td")
        if len(cells) < 2:
            continue
        anime_ids = [
            info.anime_id
            for info in (parse_url(u) for u in links(cells[0], response))
            if info is not None and info.page_type == "anime"
        ]
        if not anime_ids:
            continue
        result.items.append(
            ctx.item(
                "user_history",
                user_id=username,
                anime_id=anime_ids[0],
                episode=to_int(cells[0].css("strong::text").get()),
                history_date=resolve_date(text_of(cells[-1]), ctx.crawl_date),
            )
        )
        result.seen["anime"].add(mal_url(f"/anime/{anime_ids[0]}"))
    return result


def parse_listing(response: TextResponse, ctx: ParseContext) -> ParseResult:
    """Listings (top anime, users, clubs): only the anime/profiles they show, and Next."""
    root = content_root(response)
    result = ParseResult()
    result.see(links(root, response))
    if next_href := next_link(root):
        result.follow.append(response.urljoin(next_href))
    return result


def next_link(root: Selector) -> str | None:
    """The href of a "Next" / "Next 50" link (MAL's paging), if the page has one."""
    xpath = './/a[@href][starts-with(translate(normalize-space(.), "NEXT", "next"), "next")]/@href'
    return root.xpath(xpath).get()
