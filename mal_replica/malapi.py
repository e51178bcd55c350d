"""MAL's official API v2 over the same world: ``/v2/anime/{id}`` and ``/v2/users/{name}/animelist``.

Bodies take MAL's documented shapes: snake_case codes (``media_type: "tv"``), ``node`` objects,
``paging.next`` as an absolute URL, statistics counts as strings, errors as
``{"error": ..., "message": ...}``. Like MAL, every request needs an ``X-MAL-CLIENT-ID``
header, a list page holds at most 1,000 entries, and entries MAL flags as not safe for work
are left out of a list unless ``nsfw=true`` is asked for.
"""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np

from mal_replica import text, vocab
from mal_replica.index import WorldIndex
from mal_replica.pages.urls import main_pic, pic_url

API_PREFIX = "/malapi/v2"  # where the replica serves the API (MAL: api.myanimelist.net/v2)
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
# MAL's "gray" and "black" nsfw flags: a list without nsfw=true leaves these entries out.
NSFW_RATINGS = frozenset({"R+ - Mild Nudity", "Rx - Hentai"})
MEDIA_TYPES = {"TV": "tv", "Movie": "movie", "OVA": "ova", "ONA": "ona", "Special": "special"}
AIRING_CODES = ("finished_airing", "currently_airing", "not_yet_aired")
RATING_CODES = {
    "G - All Ages": "g",
    "PG - Children": "pg",
    "PG-13 - Teens 13 or older": "pg_13",
    "R - 17+ (violence & profanity)": "r",
    "R+ - Mild Nudity": "r+",
    "Rx - Hentai": "rx",
}
LIST_FIELDS = "list_status"


def error(code: str, message: str = "") -> dict:
    return {"error": code, "message": message}


def unauthorized() -> dict:
    return error("invalid_client", "A valid X-MAL-CLIENT-ID header is required.")


def forbidden() -> dict:
    return error("forbidden", "DoS detected")


def not_found() -> dict:
    return error("not_found")


def _code(words: str) -> str:
    """'Light novel' -> 'light_novel', '4-koma manga' -> '4_koma_manga' (MAL's API codes)."""
    return words.lower().replace("-", "_").replace(" ", "_")


def _picture(base: str, index: WorldIndex, pos: int) -> dict:
    medium = main_pic(base, index, pos)
    return {"medium": medium, "large": medium.replace(".jpg", "l.jpg")}


def _node(base: str, index: WorldIndex, pos: int) -> dict:
    return {
        "id": int(index.anime_ids[pos]),
        "title": index.titles[pos],
        "main_picture": _picture(base, index, pos),
    }


def _date(ts: int) -> str:
    return text.utc(ts).date().isoformat()


def anime_details(base: str, index: WorldIndex, pos: int) -> dict:
    """``GET /v2/anime/{id}`` with every field the crawler asks for."""
    a = index.t.anime
    kind = a["type"][pos]
    episodes = int(a["num_episodes"][pos])
    status = int(a["airing_status"][pos])
    start, end = int(a["start_ts"][pos]), int(a["end_ts"][pos])
    one = bool(text.single_date(np.asarray([kind]), np.asarray([episodes]))[0])
    score_count = int(a["score_count"][pos])
    rank = int(a["score_rank"][pos])
    genres = list(a["genres"][pos])
    ordered = [
        g for row in ("Genres", "Theme", "Demographic") for g in genres if vocab.GENRE_ROW[g] == row
    ]
    body: dict = {
        "id": int(index.anime_ids[pos]),
        "title": index.titles[pos],
        "main_picture": _picture(base, index, pos),
        "synopsis": text.synopsis(int(index.anime_ids[pos]), index.titles[pos], genres),
        "popularity": int(a["popularity_rank"][pos]),
        "num_list_users": int(a["members_count"][pos]),
        "num_scoring_users": score_count,
        "media_type": MEDIA_TYPES.get(kind, _code(kind)),
        "status": AIRING_CODES[status],
        "num_episodes": max(episodes, 0),
        "start_date": _date(start),
        "source": _code(a["source"][pos]),
        "rating": RATING_CODES[a["rating"][pos]],
        "genres": [{"id": vocab.GENRE_IDS[g], "name": g} for g in ordered],
        "studios": [{"id": vocab.STUDIO_IDS.get(s, 0), "name": s} for s in a["studios"][pos]],
    }
    if score_count:
        body["mean"] = round(float(a["score"][pos]), 2)
    if rank > 0:
        body["rank"] = rank
    if end >= 0 and not one and status != 2:
        body["end_date"] = _date(end)
    if kind == "TV":
        name, year = text.season(start).split()
        body["start_season"] = {"year": int(year), "season": name.lower()}
    pics = index.t.pictures
    body["pictures"] = [
        {
            "medium": pic_url(base, int(pics["bucket"][r]), int(pics["pic_id"][r])),
            "large": pic_url(base, int(pics["bucket"][r]), int(pics["pic_id"][r]), large=True),
        }
        for r in index.pics_by_anime.rows(pos)
    ]
    body["statistics"] = {
        "status": {
            name: str(int(a[f"{name}_count"][pos]))
            for name in ("watching", "completed", "on_hold", "dropped", "plan_to_watch")
        },
        "num_list_users": int(a["total_count"][pos]),
    }
    rel = index.t.relations
    body["related_anime"] = [
        {
            "node": _node(base, index, int(rel["b"][r])),
            "relation_type": _code(rel["relation_type"][r]),
            "relation_type_formatted": rel["relation_type"][r].capitalize(),
        }
        for r in index.relations_by_anime.rows(pos)
    ]
    recs = index.t.recommendations
    body["recommendations"] = [
        {
            "node": _node(base, index, int(index.rec_other[k])),
            "num_recommendations": int(recs["num_recommenders"][int(index.rec_row[k])]),
        }
        for k in index.recs_by_anime.rows(pos)
    ]
    return body


def animelist(base: str, index: WorldIndex, upos: int, limit: int, offset: int, nsfw: bool) -> dict:
    """``GET /v2/users/{name}/animelist?fields=list_status``: one page and ``paging``."""
    lists, anime = index.t.lists, index.t.anime
    rows = sorted(
        index.lists_by_user.rows(upos).tolist(),
        key=lambda r: (int(lists["status"][r]), index.titles[int(lists["anime"][r])]),
    )
    if not nsfw:
        rows = [r for r in rows if anime["rating"][int(lists["anime"][r])] not in NSFW_RATINGS]
    page = rows[offset : offset + limit]
    data = [
        {
            "node": _node(base, index, int(lists["anime"][r])),
            "list_status": {
                "status": vocab.STATUS_NAMES[int(lists["status"][r])],
                "score": int(lists["score"][r]),
                "num_episodes_watched": int(lists["progress"][r]),
                "is_rewatching": bool(lists["is_rewatching"][r]),
                "updated_at": text.iso(int(lists["updated_ts"][r])),
            },
        }
        for r in page
    ]
    paging: dict = {}
    name = index.usernames[upos]
    query = {"fields": LIST_FIELDS, "limit": limit, "nsfw": "true" if nsfw else "false"}
    path = f"{base}{API_PREFIX}/users/{name}/animelist"
    if offset + limit < len(rows):
        paging["next"] = f"{path}?{urlencode({**query, 'offset': offset + limit})}"
    if offset > 0:
        paging["previous"] = f"{path}?{urlencode({**query, 'offset': max(offset - limit, 0)})}"
    return {"data": data, "paging": paging}
