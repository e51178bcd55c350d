"""A user's anime list: load.json rows (what the crawler reads) and the HTML page around them."""

from __future__ import annotations

import json

from mal_replica import text, vocab
from mal_replica.index import WorldIndex
from mal_replica.pages.layout import e, layout
from mal_replica.pages.urls import main_pic

LIST_ROWS_PER_PAGE = 300


def list_rows(base: str, index: WorldIndex, upos: int) -> list[dict]:
    """A user's whole list as load.json rows, in MAL's order (status, then title)."""
    lists, anime = index.t.lists, index.t.anime
    rows = sorted(
        index.lists_by_user.rows(upos).tolist(),
        key=lambda r: (int(lists["status"][r]), index.titles[int(lists["anime"][r])]),
    )
    result = []
    for r in rows:
        apos = int(lists["anime"][r])
        a_id = int(index.anime_ids[apos])
        code = int(lists["status"][r])
        episodes = int(anime["num_episodes"][apos])
        airing = int(anime["airing_status"][apos])
        start, end = int(anime["start_ts"][apos]), int(anime["end_ts"][apos])
        genres = [
            {"id": vocab.GENRE_IDS[g], "name": g}
            for g in anime["genres"][apos]
            if vocab.GENRE_ROW[g] != "Demographic"
        ]
        demographics = [
            {"id": vocab.GENRE_IDS[g], "name": g}
            for g in anime["genres"][apos]
            if vocab.GENRE_ROW[g] == "Demographic"
        ]
        title = index.titles[apos]
        score_count = int(anime["score_count"][apos])
        mean = float(anime["score"][apos]) if score_count else 0
        updated = int(lists["updated_ts"][r])
        created = int(lists["created_ts"][r])
        finished = code == 2
        result.append(
            {
                "status": code,
                "score": int(lists["score"][r]),
                "tags": "",
                "is_rewatching": 1 if bool(lists["is_rewatching"][r]) else 0,
                "num_watched_episodes": int(lists["progress"][r]),
                "created_at": created,
                "updated_at": updated,
                # MAL sends purely numeric titles as numbers (e.g. the anime "86")
                "anime_title": int(title) if title.isdigit() else title,
                "anime_title_eng": anime["title_english"][apos] or "",
                "anime_num_episodes": episodes,
                # load.json codes: 1 currently airing, 2 finished airing, 3 not yet aired
                "anime_airing_status": {0: 2, 1: 1, 2: 3}[airing],
                "anime_id": a_id,
                "anime_studios": None,
                "anime_licensors": None,
                "anime_season": None,
                "anime_total_members": int(anime["members_count"][apos]),
                "anime_total_scores": score_count,
                "anime_score_val": mean,
                "anime_score_diff": round(int(lists["score"][r]) - mean, 2)
                if int(lists["score"][r]) and score_count
                else 0,
                "anime_popularity": int(anime["popularity_rank"][apos]),
                "has_episode_video": False,
                "has_promotion_video": False,
                "has_video": False,
                "video_url": f"/anime/{a_id}/{index.slugs[apos]}/video",
                "genres": genres,
                "demographics": demographics,
                "title_localized": None,
                "anime_url": f"/anime/{a_id}/{index.slugs[apos]}",
                "anime_image_path": main_pic(base, index, apos),
                "is_added_to_list": False,
                "anime_media_type_string": anime["type"][apos],
                "anime_mpaa_rating_string": anime["rating"][apos].split(" - ")[0],
                "start_date_string": text.mdy_short(created) if code != 6 else None,
                "finish_date_string": text.mdy_short(updated) if finished else None,
                "anime_start_date_string": text.mdy_short(start),
                "anime_end_date_string": text.mdy_short(end) if end >= 0 else None,
                "days_string": max(1, (updated - created) // 86_400) if finished else None,
                "storage_string": "",
                "priority_string": "Low",
                "notes": "",
                "editable_notes": "",
            }
        )
    return result


def load_json(base: str, index: WorldIndex, upos: int, offset: int, status: int = 7) -> list[dict]:
    rows = list_rows(base, index, upos)
    if status != 7:
        rows = [r for r in rows if r["status"] == status]
    return rows[max(offset, 0) : max(offset, 0) + LIST_ROWS_PER_PAGE]


def animelist_page(base: str, index: WorldIndex, upos: int, status: int = 7) -> str:
    name = index.usernames[upos]
    items = json.dumps(load_json(base, index, upos, 0, status), separators=(",", ":"))
    body = (
        f'<div id="contentWrapper"><div><h1 class="h1">{e(name)}\'s Anime List</h1></div>'
        '<div id="content"><table class="list-table" '
        f'data-items="{e(items)}"><tbody><tr class="list-table-header"><th>Title</th></tr>'
        "</tbody></table></div></div>"
    )
    return layout(base, f"{name}'s Anime List", body, canonical=f"{base}/animelist/{name}")
