"""Parsers for MAL's anime pages: main page, stats, userrecs, reviews, pictures, clubs."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from parsel import Selector
from scrapy.http import TextResponse

from animerec_assets.contracts.landing import SCORE_COUNT_FIELDS
from crawler.parsers.base import (
    PageStructureError,
    ParseContext,
    ParseResult,
    clean,
    content_root,
    links,
    require,
    text_of,
    to_float,
    to_int,
)
from crawler.parsers.dates import resolve_date, split_aired
from crawler.urls import MAL_ANIME_SUBPAGES, mal_url, parse_url, with_query

_NOT_SHOWN = {"N/A", "Unknown", "?", "None found, add some", "None found"}


def info_rows(root: Selector) -> dict[str, Selector]:
    """MAL's ``span.dark_text`` labels -> the element holding label and value."""
    rows: dict[str, Selector] = {}
    for label in root.xpath('.//span[@class="dark_text"]'):
        key = (clean(label.xpath("string()").get()) or "").rstrip(":").strip()
        parent = label.xpath("..")
        if key and parent and key not in rows:
            rows[key] = parent[0]
    return rows


def row_value(rows: dict[str, Selector], key: str) -> str | None:
    """Text of an info row minus its label; None where MAL shows no value."""
    row = rows.get(key)
    if row is None:
        return None
    full = clean(row.xpath("string()").get()) or ""
    label = clean(row.xpath('./span[@class="dark_text"]').xpath("string()").get()) or ""
    value = clean(full[len(label) :] if full.startswith(label) else full)
    return None if value is None or value in _NOT_SHOWN else value


def row_links(rows: dict[str, Selector], key: str) -> list[str]:
    row = rows.get(key)
    if row is None:
        return []
    # "None found, add some" links to MAL's database-edit form, not to a studio or genre.
    links = row.xpath("./a[not(contains(@href, 'dbchanges.php'))]")
    return [t for t in (clean(x) for x in links.xpath("string()").getall()) if t]


def _anime_ids(hrefs: list[str]) -> list[int]:
    ids = []
    for href in hrefs:
        info = parse_url(href)
        if info is not None and info.page_type == "anime" and info.anime_id is not None:
            ids.append(info.anime_id)
    return ids


def parse_relations(root: Selector, response: TextResponse) -> list[tuple[int, str]]:
    """(related anime id, relation type) from the 2026 tiles+table and the older table."""
    found: list[tuple[int, str]] = []
    for entry in root.css("div.related-entries div.entry"):
        relation = text_of(entry.css("div.relation"))
        if not relation:
            continue
        relation = re.sub(r"\s*\([^)]*\)\s*$", "", relation)
        for anime_id in _anime_ids(links(entry.css("div.title"), response)):
            found.append((anime_id, relation))
    for table in ("table.entries-table", "table.anime_detail_related_anime"):
        for row in root.css(f"{table} tr"):
            relation = (text_of(row.xpath("./td[1]")) or "").rstrip(":").strip()
            targets = links(row.xpath("./td[2]"), response)
            for anime_id in _anime_ids(targets) if relation else []:
                found.append((anime_id, relation))
    unique: dict[int, str] = {}
    for anime_id, relation in found:
        unique.setdefault(anime_id, relation.title())
    return list(unique.items())


def _subpage_urls(response: TextResponse, anime_id: int) -> dict[str, str]:
    """The anime's sub-pages as the page links them (slugged), else ``/anime/{id}/_/{sub}``."""
    urls: dict[str, str] = {}
    for href in links(response.css("#horiznav_nav"), response):
        info = parse_url(href)
        if info and info.anime_id == anime_id and info.page_type in MAL_ANIME_SUBPAGES.values():
            path = "/" + href.split("://", 1)[-1].split("/", 1)[-1].split("?")[0]
            urls.setdefault(info.page_type, mal_url(path))
    for sub, page_type in MAL_ANIME_SUBPAGES.items():
        urls.setdefault(page_type, mal_url(f"/anime/{anime_id}/_/{sub}"))
    urls["anime_reviews"] = with_query(urls["anime_reviews"], spoiler="on", preliminary="on")
    return urls


def parse_anime(response: TextResponse, ctx: ParseContext) -> ParseResult:
    anime_id = require(ctx.info.anime_id, "anime id in URL")
    root = content_root(response)
    title = text_of(response.css("h1.title-name strong")) or text_of(response.css("h1.title-name"))
    require(title, "h1.title-name")
    rows = info_rows(root)
    require(rows.get("Type"), "Information rows (span.dark_text)")
    start, end = split_aired(row_value(rows, "Aired"), ctx.crawl_date)
    pic = response.css("img[itemprop=image]")
    main_pic = (pic.attrib.get("data-src") or pic.attrib.get("src")) if pic else None
    synopsis = clean(" ".join(response.css("p[itemprop=description] ::text").getall()))
    genres = [
        g for g in (clean(x) for x in response.css("span[itemprop=genre]::text").getall()) if g
    ]
    favorites = row_value(rows, "Favorites")
    result = ParseResult()
    result.items.append(
        ctx.item(
            "anime",
            anime_id=anime_id,
            anime_url=ctx.entity_url,
            title=title,
            synopsis=synopsis,
            main_pic=main_pic or response.css('meta[property="og:image"]::attr(content)').get(),
            type=row_value(rows, "Type"),
            source_type=row_value(rows, "Source"),
            num_episodes=to_int(row_value(rows, "Episodes")),
            status=row_value(rows, "Status"),
            start_date=start,
            end_date=end,
            premiered=row_value(rows, "Premiered"),
            studios=row_links(rows, "Studios"),
            genres=list(dict.fromkeys(genres)),
            score=to_float(response.css("[itemprop=ratingValue]::text").get()),
            score_count=to_int(response.css("[itemprop=ratingCount]::text").get()),
            score_rank=to_int(response.css("span.numbers.ranked strong::text").get())
            or to_int(_first_token(row_value(rows, "Ranked"))),
            popularity_rank=to_int(response.css("span.numbers.popularity strong::text").get())
            or to_int(row_value(rows, "Popularity")),
            members_count=to_int(response.css("span.numbers.members strong::text").get())
            or to_int(row_value(rows, "Members")),
            favorites_count=to_int(favorites),
            rating=row_value(rows, "Rating"),
        )
    )
    for related_id, relation in parse_relations(root, response):
        result.items.append(
            ctx.item("anime_relation", animeA=anime_id, animeB=related_id, relation_type=relation)
        )
    result.follow.extend(_subpage_urls(response, anime_id).values())
    result.see(links(root, response), exclude=ctx.entity_url)
    result.mark_crawled("anime", ctx.entity_url)
    return result


def _first_token(text: str | None) -> str | None:
    """'#394 2' -> '#394'; 'N/A' (with its footnote mark, 'N/A2') -> None, not rank 2."""
    if not text or text.upper().startswith("N/A"):
        return None
    return text.split()[0]


_SUMMARY_FIELDS = {
    "Watching": "watching_count",
    "Completed": "completed_count",
    "On-Hold": "on_hold_count",
    "Dropped": "dropped_count",
    "Plan to Watch": "plan_to_watch_count",
    "Total": "total_count",
}


def parse_anime_stats(response: TextResponse, ctx: ParseContext) -> ParseResult:
    anime_id = require(ctx.info.anime_id, "anime id in URL")
    root = content_root(response)
    rows = info_rows(root)
    fields: dict[str, int | None] = {
        name: to_int(row_value(rows, label)) for label, name in _SUMMARY_FIELDS.items()
    }
    scores: dict[str, int | None] = dict.fromkeys(SCORE_COUNT_FIELDS)
    for row in root.css("table.score-stats tr"):
        score = to_int(text_of(row.xpath("./td[1]")))
        votes = re.search(r"\((\d[\d,]*)\s*votes?\)", text_of(row.xpath("./td[2]")) or "")
        if score is not None and 1 <= score <= 10 and votes:
            scores[f"score_{score:02d}_count"] = to_int(votes.group(1))
    if fields["total_count"] is None and all(v is None for v in scores.values()):
        raise PageStructureError("missing landmark: Summary Stats and table.score-stats")
    # the sidebar every anime sub-page shares: the favorites count the MAL API lacks
    favorites = to_int(row_value(rows, "Favorites"))
    result = ParseResult()
    result.items.append(
        ctx.item("anime_stats", anime_id=anime_id, **fields, **scores, favorites_count=favorites)
    )
    result.see(links(root, response), exclude=ctx.entity_url)
    return result


def parse_anime_userrecs(response: TextResponse, ctx: ParseContext) -> ParseResult:
    anime_id = require(ctx.info.anime_id, "anime id in URL")
    root = content_root(response)
    result = ParseResult()
    blocks = root.xpath('.//div[@class="borderClass"][.//div[@class="picSurround"]]')
    for block in blocks:
        target = _anime_ids(links(block.css("div.picSurround"), response))
        if not target or target[0] == anime_id:
            continue
        permalink = block.css('a[href*="/recommendations/anime/"]::attr(href)').get()
        more = to_int(block.css("a.js-similar-recommendations-button strong::text").get())
        result.items.append(
            ctx.item(
                "anime_recommendation",
                animeA=anime_id,
                animeB=target[0],
                recommendation_url=mal_url(urlsplit(response.urljoin(permalink)).path)
                if permalink
                else None,
                num_recommenders=1 + (more or 0),
            )
        )
    if not blocks and not root.css("h2, div.border_solid"):
        raise PageStructureError("missing landmark: recommendations header")
    result.see(links(root, response), exclude=ctx.entity_url)
    return result


_SUB_SCORES = {
    "overall": "review_score",
    "story": "review_story_score",
    "animation": "review_animation_score",
    "sound": "review_sound_score",
    "character": "review_character_score",
    "enjoyment": "review_enjoyment_score",
}


def _review_sub_scores(element: Selector) -> dict[str, int | None]:
    """Pre-2022 reviews list Overall/Story/... in a small table; newer ones have none."""
    scores: dict[str, int | None] = {}
    for row in element.xpath(".//tr[td]"):
        label = (text_of(row.xpath("./td[1]")) or "").lower().rstrip(":")
        if label in _SUB_SCORES:
            scores[_SUB_SCORES[label]] = to_int(text_of(row.xpath("./td[2]")))
    return scores


def parse_anime_reviews(response: TextResponse, ctx: ParseContext) -> ParseResult:
    anime_id = require(ctx.info.anime_id, "anime id in URL")
    root = content_root(response)
    result = ParseResult()
    elements = root.css("div.review-element")
    for element in elements:
        permalink = element.css('a[href*="reviews.php?id="]::attr(href)').get() or ""
        id_match = re.search(r"id=(\d+)", permalink)
        review_id = to_int(id_match.group(1)) if id_match else None
        user = text_of(element.css("div.username a"))
        if review_id is None or user is None:
            raise PageStructureError("review-element without permalink or div.username")
        date_el = element.css("div.update_at")
        date_text = text_of(date_el)
        if date_text and (clock := date_el.attrib.get("title")):
            date_text = f"{date_text} {clock}"
        try:
            reactions = json.loads(element.attrib.get("data-reactions") or "{}").get("num")
        except (ValueError, AttributeError):
            reactions = None
        tags = []
        for tag in element.css("div.tags div.tag"):
            names = [c for c in tag.attrib.get("class", "").split() if c not in _TAG_NOISE]
            tags.extend(names[:1])
        scores = _review_sub_scores(element)
        scores.setdefault("review_score", to_int(element.css("div.rating span.num::text").get()))
        result.items.append(
            ctx.item(
                "review",
                review_id=review_id,
                anime_id=anime_id,
                user_id=user,
                review_date=resolve_date(date_text, ctx.crawl_date),
                review_num_useful=to_int(reactions),
                review_tags=tags,
                **scores,
            )
        )
    more = root.css('a[data-ga-click-type="review-more-reviews"]::attr(href)').get()
    if more is None:
        xpath = './/a[@href][normalize-space(.) = "More Reviews" or normalize-space(.) = "Next"]'
        more = root.xpath(xpath + "/@href").get()
    if more and elements:
        result.follow.append(response.urljoin(more))
    result.see(links(root, response), exclude=ctx.entity_url)
    return result


_TAG_NOISE = {"tag", "btn-label", "js-btn-label"}


def parse_anime_pics(response: TextResponse, ctx: ParseContext) -> ParseResult:
    anime_id = require(ctx.info.anime_id, "anime id in URL")
    root = content_root(response)
    pics = root.css("a.js-picture-gallery::attr(href)").getall()
    if not pics:
        pics = root.css(
            "div.picSurround img::attr(data-src), div.picSurround img::attr(src)"
        ).getall()
    if not pics and not root.css("h2"):
        raise PageStructureError("missing landmark: Pictures header")
    result = ParseResult()
    result.items.append(ctx.item("anime_pics", anime_id=anime_id, pics=list(dict.fromkeys(pics))))
    return result


def club_names(root: Selector) -> list[str]:
    """Names of the clubs a page links (``clubs.php?cid=N``), in page order."""
    names = []
    for anchor in root.css('a[href*="clubs.php?cid="]'):
        name = text_of(anchor)
        if name and not name.isdigit():
            names.append(name)
    return list(dict.fromkeys(names))


def parse_anime_clubs(response: TextResponse, ctx: ParseContext) -> ParseResult:
    anime_id = require(ctx.info.anime_id, "anime id in URL")
    root = content_root(response)
    result = ParseResult()
    result.items.append(ctx.item("anime_clubs", anime_id=anime_id, clubs=club_names(root)))
    return result
