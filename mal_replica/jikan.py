"""A Jikan-v4-shaped JSON API over the same world (keys as in ../shared/mal_pages/jikan).

Jikan wraps MAL, so its URLs point at MAL pages; here they point at the replica's pages, and
its `mal_id`s are the world's ids. Error bodies copy Jikan's (404 BadResponseException,
429 RateLimitException, 500 with a report_url).
"""

from __future__ import annotations

import numpy as np

from mal_replica import text, vocab
from mal_replica.index import WorldIndex
from mal_replica.pages.urls import anime_url, main_pic, pic_url, profile_url, user_image_url

FRIENDS_PER_PAGE = 100
REVIEWS_PER_PAGE = 20
ANIME_LIST_ORDER = ("TV", "Movie", "OVA", "ONA", "Special", "Music")


def not_found(url: str) -> dict:
    return {
        "status": 404,
        "type": "BadResponseException",
        "message": "Resource does not exist",
        "error": f"404 on {url}",
    }


def rate_limited() -> dict:
    return {
        "status": 429,
        "type": "RateLimitException",
        "message": "You are being rate-limited. Please follow Rate Limiting guidelines: "
        "https://docs.api.jikan.moe/#section/Information/Rate-Limiting",
        "error": None,
    }


def server_error(status: int = 500) -> dict:
    return {
        "status": status,
        "type": "UpstreamException",
        "message": "Jikan failed to connect to MyAnimeList.net.",
        "trace": "",
        "error": f"{status} Server Error",
        "report_url": "",
    }


def _images(url: str) -> dict:
    return {
        "jpg": {"image_url": url, "small_image_url": url, "large_image_url": url},
        "webp": {"image_url": url, "small_image_url": url, "large_image_url": url},
    }


def _entry(base: str, index: WorldIndex, pos: int) -> dict:
    return {
        "mal_id": int(index.anime_ids[pos]),
        "url": anime_url(base, index, pos),
        "images": _images(main_pic(base, index, pos)),
        "title": index.titles[pos],
    }


def _date_prop(ts: int | None) -> dict:
    if ts is None:
        return {"day": None, "month": None, "year": None}
    moment = text.utc(ts)
    return {"day": moment.day, "month": moment.month, "year": moment.year}


def _named(kind: str, items: list[tuple[int, str]], base: str, path: str) -> list[dict]:
    return [
        {"mal_id": i, "type": kind, "name": n, "url": f"{base}/{path}/{i}/{vocab.slugify(n)}"}
        for i, n in items
    ]


def relations(base: str, index: WorldIndex, pos: int) -> list[dict]:
    rel = index.t.relations
    grouped: dict[str, list[dict]] = {}
    for r in index.relations_by_anime.rows(pos):
        other = int(rel["b"][r])
        grouped.setdefault(rel["relation_type"][r], []).append(
            {
                "mal_id": int(index.anime_ids[other]),
                "type": "anime",
                "name": index.titles[other],
                "url": anime_url(base, index, other),
            }
        )
    return [{"relation": kind, "entry": entries} for kind, entries in grouped.items()]


def anime_full(base: str, index: WorldIndex, pos: int) -> dict:
    a = index.t.anime
    kind = a["type"][pos]
    episodes = int(a["num_episodes"][pos])
    status = int(a["airing_status"][pos])
    start, end = int(a["start_ts"][pos]), int(a["end_ts"][pos])
    one = bool(text.single_date(np.asarray([kind]), np.asarray([episodes]))[0])
    end_value = None if end < 0 or one else end
    score_count = int(a["score_count"][pos])
    rank = int(a["score_rank"][pos])
    genres = list(a["genres"][pos])
    by_row = {row: [] for row in ("Genres", "Theme", "Demographic")}
    for g in genres:
        by_row[vocab.GENRE_ROW[g]].append((vocab.GENRE_IDS[g], g))
    season = text.season(start).split() if kind == "TV" else None
    title = index.titles[pos]
    english = a["title_english"][pos]
    titles = [{"type": "Default", "title": title}, {"type": "Japanese", "title": title}]
    if english:
        titles.append({"type": "English", "title": english})
    return {
        "mal_id": int(index.anime_ids[pos]),
        "url": anime_url(base, index, pos),
        "images": _images(main_pic(base, index, pos)),
        "trailer": {
            "youtube_id": None,
            "url": None,
            "embed_url": None,
            "images": {
                "image_url": None,
                "small_image_url": None,
                "medium_image_url": None,
                "large_image_url": None,
                "maximum_image_url": None,
            },
        },
        "approved": True,
        "titles": titles,
        "title": title,
        "title_english": english,
        "title_japanese": title,
        "title_synonyms": [],
        "type": kind,
        "source": a["source"][pos],
        "episodes": episodes if episodes > 0 else None,
        "status": vocab.AIRING_STATUS[status],
        "airing": status == 1,
        "aired": {
            "from": text.iso(start),
            "to": text.iso(end_value) if end_value is not None else None,
            "prop": {"from": _date_prop(start), "to": _date_prop(end_value)},
            "string": text.aired(start, end, status, one),
        },
        "duration": text.duration(int(a["minutes_per_episode"][pos]), episodes),
        "rating": a["rating"][pos],
        "score": float(a["score"][pos]) if score_count else None,
        "scored_by": score_count if score_count else None,
        "rank": rank if rank > 0 else None,
        "popularity": int(a["popularity_rank"][pos]),
        "members": int(a["members_count"][pos]),
        "favorites": int(a["favorites_count"][pos]),
        "synopsis": text.synopsis(int(index.anime_ids[pos]), title, genres),
        "background": None,
        "season": season[0].lower() if season else None,
        "year": int(season[1]) if season else None,
        "broadcast": {"day": None, "time": None, "timezone": None, "string": None},
        "producers": [],
        "licensors": [],
        "studios": _named(
            "anime",
            [(vocab.STUDIO_IDS.get(s, 0), s) for s in a["studios"][pos]],
            base,
            "anime/producer",
        ),
        "genres": _named("anime", by_row["Genres"], base, "anime/genre"),
        "explicit_genres": [],
        "themes": _named("anime", by_row["Theme"], base, "anime/genre"),
        "demographics": _named("anime", by_row["Demographic"], base, "anime/genre"),
        "relations": relations(base, index, pos),
        "theme": {"openings": [], "endings": []},
        "external": [],
        "streaming": [],
    }


def anime_statistics(index: WorldIndex, pos: int) -> dict:
    a = index.t.anime
    score_count = max(int(a["score_count"][pos]), 1)
    return {
        "watching": int(a["watching_count"][pos]),
        "completed": int(a["completed_count"][pos]),
        "on_hold": int(a["on_hold_count"][pos]),
        "dropped": int(a["dropped_count"][pos]),
        "plan_to_watch": int(a["plan_to_watch_count"][pos]),
        "total": int(a["total_count"][pos]),
        "scores": [
            {
                "score": s,
                "votes": int(a[f"score_{s:02d}_count"][pos]),
                "percentage": round(100.0 * int(a[f"score_{s:02d}_count"][pos]) / score_count, 1),
            }
            for s in range(1, 11)
        ],
    }


def anime_recommendations(base: str, index: WorldIndex, pos: int) -> list[dict]:
    recs = index.t.recommendations
    result = []
    for k in index.recs_by_anime.rows(pos):
        other = int(index.rec_other[k])
        row = int(index.rec_row[k])
        low, high = sorted((int(index.anime_ids[pos]), int(index.anime_ids[other])))
        result.append(
            {
                "entry": _entry(base, index, other),
                "url": f"{base}/recommendations/anime/{low}-{high}",
                "votes": int(recs["num_recommenders"][row]),
            }
        )
    return result


def _user_ref(base: str, index: WorldIndex, upos: int) -> dict:
    name = index.usernames[upos]
    image = user_image_url(base, int(index.t.users["user_id"][upos]))
    return {
        "url": profile_url(base, name),
        "username": name,
        "images": {"jpg": {"image_url": image}, "webp": {"image_url": image}},
    }


def _pagination(page: int, per_page: int, total: int) -> dict:
    last = max(1, -(-total // per_page))
    return {"last_visible_page": last, "has_next_page": page < last}


def anime_reviews(base: str, index: WorldIndex, pos: int, page: int) -> dict:
    reviews = index.t.reviews
    rows = index.reviews_by_anime.rows(pos)
    page = max(page, 1)
    chosen = rows[(page - 1) * REVIEWS_PER_PAGE : page * REVIEWS_PER_PAGE]
    data = []
    for r in chosen:
        rid = int(reviews["review_id"][r])
        tags = [str(reviews["tag"][r]).replace("-", " ").title()]
        if bool(reviews["preliminary"][r]):
            tags.append("Preliminary")
        data.append(
            {
                "mal_id": rid,
                "url": f"{base}/reviews.php?id={rid}",
                "type": "anime",
                "reactions": {"overall": int(reviews["reactions"][r])},
                "votes": int(reviews["reactions"][r]),
                "date": text.iso(int(reviews["review_ts"][r])),
                "review": text.review_text(rid, index.titles[pos]),
                "score": int(reviews["score"][r]),
                "tags": tags,
                "is_spoiler": False,
                "is_preliminary": bool(reviews["preliminary"][r]),
                "episodes_watched": int(reviews["episodes_watched"][r]),
                "scores": {
                    "overall": int(reviews["score"][r]),
                    "story": int(reviews["story_score"][r]),
                    "animation": int(reviews["animation_score"][r]),
                    "sound": int(reviews["sound_score"][r]),
                    "character": int(reviews["character_score"][r]),
                    "enjoyment": int(reviews["enjoyment_score"][r]),
                },
                "user": _user_ref(base, index, int(reviews["user"][r])),
            }
        )
    return {"pagination": _pagination(page, REVIEWS_PER_PAGE, len(rows)), "data": data}


def anime_pictures(base: str, index: WorldIndex, pos: int) -> list[dict]:
    pics = index.t.pictures
    result = []
    for r in index.pics_by_anime.rows(pos):
        small = pic_url(base, int(pics["bucket"][r]), int(pics["pic_id"][r]))
        large = pic_url(base, int(pics["bucket"][r]), int(pics["pic_id"][r]), large=True)
        urls = {"image_url": small, "small_image_url": small, "large_image_url": large}
        result.append({"jpg": dict(urls), "webp": dict(urls)})
    return result


def _favorites(base: str, index: WorldIndex, upos: int) -> dict:
    fav = index.t.favorites
    anime = []
    for r in index.favorites_by_user.rows(upos):
        apos = int(fav["anime"][r])
        anime.append(
            {
                **_entry(base, index, apos),
                "type": index.t.anime["type"][apos],
                "start_year": text.utc(int(index.t.anime["start_ts"][apos])).year,
            }
        )
    return {"anime": anime, "manga": [], "characters": [], "people": []}


def user_statistics(index: WorldIndex, upos: int) -> dict:
    u = index.t.users
    return {
        "anime": {
            "days_watched": float(u["num_days"][upos]),
            "mean_score": float(u["mean_score"][upos]),
            "watching": int(u["num_watching"][upos]),
            "completed": int(u["num_completed"][upos]),
            "on_hold": int(u["num_on_hold"][upos]),
            "dropped": int(u["num_dropped"][upos]),
            "plan_to_watch": int(u["num_plan_to_watch"][upos]),
            "total_entries": int(u["total_entries"][upos]),
            "rewatched": int(u["rewatched"][upos]),
            "episodes_watched": int(u["episodes_watched"][upos]),
        },
        "manga": {
            "days_read": 0.0,
            "mean_score": 0.0,
            "reading": 0,
            "completed": 0,
            "on_hold": 0,
            "dropped": 0,
            "plan_to_read": 0,
            "total_entries": 0,
            "reread": 0,
            "chapters_read": 0,
            "volumes_read": 0,
        },
    }


def _updates(base: str, index: WorldIndex, upos: int) -> list[dict]:
    lists = index.t.lists
    rows = index.lists_by_user.rows(upos)
    latest = sorted(rows.tolist(), key=lambda r: -int(lists["updated_ts"][r]))[:3]
    result = []
    for r in latest:
        apos = int(lists["anime"][r])
        episodes = int(index.t.anime["num_episodes"][apos])
        result.append(
            {
                "entry": _entry(base, index, apos),
                "score": int(lists["score"][r]),
                "status": vocab.STATUS_LABELS[int(lists["status"][r])],
                "episodes_seen": int(lists["progress"][r]),
                "episodes_total": episodes if episodes else None,
                "date": text.iso(int(lists["updated_ts"][r])),
            }
        )
    return result


def user_profile(base: str, index: WorldIndex, upos: int) -> dict:
    u = index.t.users
    name = index.usernames[upos]
    image = user_image_url(base, int(u["user_id"][upos]))
    return {
        "mal_id": int(u["user_id"][upos]),
        "username": name,
        "url": profile_url(base, name),
        "images": {"jpg": {"image_url": image}, "webp": {"image_url": image}},
        "last_online": text.iso(int(u["last_online_ts"][upos])),
        "gender": u["gender"][upos] or None,
        "birthday": None,
        "location": None,
        "joined": text.iso(int(u["join_ts"][upos])),
    }


def user_full(base: str, index: WorldIndex, upos: int) -> dict:
    return {
        **user_profile(base, index, upos),
        "statistics": user_statistics(index, upos),
        "favorites": _favorites(base, index, upos),
        # a hidden list shows no updates either
        "updates": {
            "anime": [] if index.private[upos] else _updates(base, index, upos),
            "manga": [],
        },
        "about": None,
        "external": [],
    }


def user_favorites(base: str, index: WorldIndex, upos: int) -> dict:
    return _favorites(base, index, upos)


def user_friends(base: str, index: WorldIndex, upos: int, page: int) -> dict:
    rows = index.friends_by_user.rows(upos)
    page = max(page, 1)
    chosen = rows[(page - 1) * FRIENDS_PER_PAGE : page * FRIENDS_PER_PAGE]
    last_online = index.t.users["last_online_ts"]
    return {
        "pagination": _pagination(page, FRIENDS_PER_PAGE, len(rows)),
        "data": [
            {
                "user": _user_ref(base, index, int(index.friend_other[k])),
                "last_online": text.iso(int(last_online[int(index.friend_other[k])])),
                "friends_since": text.iso(int(index.friend_since[k])),
            }
            for k in chosen
        ],
    }


def user_history(base: str, index: WorldIndex, upos: int) -> list[dict]:
    history = index.t.history
    result = []
    for r in index.history_by_user.rows(upos):
        apos = int(history["anime"][r])
        result.append(
            {
                "entry": {
                    "mal_id": int(index.anime_ids[apos]),
                    "type": "anime",
                    "name": index.titles[apos],
                    "url": anime_url(base, index, apos),
                },
                "increment": int(history["episode"][r]),
                "date": text.iso(int(history["watched_ts"][r])),
            }
        )
    return result
