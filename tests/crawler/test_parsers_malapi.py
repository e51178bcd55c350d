"""MAL API v2 parsers on responses written by hand from the shapes MAL documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from animerec_assets.contracts.landing import ITEM_FIELDS
from crawler.parsers import ParseResult, build_response, parse_response
from crawler.urls import malapi_anime_url, malapi_animelist_url, parse_url

NOW = datetime(2026, 1, 17, tzinfo=UTC)
MAL = "https://myanimelist.net"
PIC = "https://cdn.myanimelist.net/images/anime"

ANIME_6 = {
    "id": 6,
    "title": "Trigun",
    "main_picture": {"medium": f"{PIC}/7/20310.jpg", "large": f"{PIC}/7/20310l.jpg"},
    "synopsis": "Vash the Stampede is the man with a $$60,000,000,000 bounty on his head.",
    "mean": 8.22,
    "rank": 394,
    "popularity": 258,
    "num_list_users": 703667,
    "num_scoring_users": 345561,
    "media_type": "tv",
    "status": "finished_airing",
    "num_episodes": 26,
    "start_date": "1998-04-01",
    "end_date": "1998-09-30",
    "start_season": {"year": 1998, "season": "spring"},
    "source": "manga",
    "rating": "pg_13",
    "genres": [{"id": 1, "name": "Action"}, {"id": 2, "name": "Adventure"}],
    "studios": [{"id": 11, "name": "Madhouse"}],
    "pictures": [
        {"medium": f"{PIC}/7/20310.jpg", "large": f"{PIC}/7/20310l.jpg"},
        {"medium": f"{PIC}/1/5.jpg", "large": f"{PIC}/1/5l.jpg"},
    ],
    "statistics": {
        "status": {
            "watching": "9151",
            "completed": "462364",
            "on_hold": "19098",
            "dropped": "9126",
            "plan_to_watch": "203928",
        },
        "num_list_users": 703667,
    },
    "related_anime": [
        {
            "node": {"id": 4106, "title": "Trigun: Badlands Rumble", "main_picture": {}},
            "relation_type": "side_story",
            "relation_type_formatted": "Side story",
        },
        {
            "node": {"id": 52093, "title": "Trigun Stampede"},
            "relation_type": "alternative_version",
            "relation_type_formatted": "Alternative version",
        },
    ],
    "recommendations": [
        {"node": {"id": 1, "title": "Cowboy Bebop"}, "num_recommendations": 54},
    ],
}


def _list_entry(anime_id: int, status: str, score: int, watched: int) -> dict[str, Any]:
    return {
        "node": {
            "id": anime_id,
            "title": f"Anime {anime_id}",
            "main_picture": {"medium": f"{PIC}/1/{anime_id}.jpg"},
        },
        "list_status": {
            "status": status,
            "score": score,
            "num_episodes_watched": watched,
            "is_rewatching": False,
            "updated_at": "2017-11-11T19:51:22+09:00",
        },
    }


def parse(url: str, payload: object, status: int = 200) -> ParseResult:
    body = json.dumps(payload).encode()
    return parse_response(build_response(url, body, status=status), NOW)


def of_type(result: ParseResult, item_type: str) -> list[dict[str, Any]]:
    return [item for item in result.items if item["item_type"] == item_type]


def test_anime_details_become_the_html_items() -> None:
    result = parse(malapi_anime_url(6), ANIME_6)
    (anime,) = of_type(result, "anime")
    assert set(anime) == {"item_type", "crawl_date", "source", "url"} | {
        name for name, _ in ITEM_FIELDS["anime"]
    }
    assert anime["source"] == "malapi" and anime["url"] == f"{MAL}/anime/6"
    assert (anime["type"], anime["status"], anime["source_type"]) == (
        "TV",
        "Finished Airing",
        "Manga",
    )
    assert (anime["start_date"], anime["end_date"], anime["premiered"]) == (
        "1998-04-01",
        "1998-09-30",
        "Spring 1998",
    )
    assert anime["main_pic"] == f"{PIC}/7/20310.jpg" and anime["studios"] == ["Madhouse"]
    assert (anime["score"], anime["score_count"], anime["score_rank"]) == (8.22, 345561, 394)
    assert (anime["popularity_rank"], anime["members_count"]) == (258, 703667)
    assert anime["rating"] == "PG-13 - Teens 13 or older"  # the code as MAL's pages spell it
    assert anime["favorites_count"] is None  # the HTML stats page read beside it has it
    relations = {(r["animeB"], r["relation_type"]) for r in of_type(result, "anime_relation")}
    assert relations == {(4106, "Side Story"), (52093, "Alternative Version")}
    (rec,) = of_type(result, "anime_recommendation")
    assert (rec["animeB"], rec["num_recommenders"]) == (1, 54)
    assert rec["recommendation_url"] == f"{MAL}/recommendations/anime/1-6"
    (pics,) = of_type(result, "anime_pics")
    assert pics["pics"] == [f"{PIC}/7/20310l.jpg", f"{PIC}/1/5l.jpg"]
    assert result.crawled["anime"] == {f"{MAL}/anime/6"}
    assert {f"{MAL}/anime/4106", f"{MAL}/anime/1"} <= result.seen["anime"]
    # what the API lacks comes from the HTML pages: score distribution, reviews, clubs
    assert sorted(parse_url(u).page_type for u in result.follow) == [  # type: ignore[union-attr]
        "anime_clubs",
        "anime_reviews",
        "anime_stats",
    ]


def test_anime_body_naming_another_id_is_refused() -> None:
    result = parse(malapi_anime_url(7), ANIME_6)
    (error,) = result.items
    assert error["item_type"] == "crawl_error" and "requested id" in error["reason"]


def test_hostile_values_are_dropped_not_stored() -> None:
    hostile = {
        **ANIME_6,
        "main_picture": {"medium": "javascript:alert(1)"},
        "start_date": "<script>",
        "media_type": "x" * 5000,
        "start_season": {"year": 1998, "season": "<b>"},
        "related_anime": [{"node": {"id": -4}}, {"node": "x"}, "junk"],
    }
    result = parse(malapi_anime_url(6), hostile)
    (anime,) = of_type(result, "anime")
    assert anime["main_pic"] is None and anime["start_date"] is None
    assert anime["type"] is None and anime["premiered"] is None
    assert of_type(result, "anime_relation") == []


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("g", "G - All Ages"),
        ("pg", "PG - Children"),
        ("pg_13", "PG-13 - Teens 13 or older"),
        ("r", "R - 17+ (violence & profanity)"),
        ("r+", "R+ - Mild Nudity"),
        ("rx", "Rx - Hentai"),
        (None, None),
    ],
)
def test_age_rating_codes_become_mal_labels(code: str | None, label: str | None) -> None:
    body = {k: v for k, v in ANIME_6.items() if k != "rating"}
    if code is not None:
        body["rating"] = code
    result = parse(malapi_anime_url(6), body)
    (anime,) = of_type(result, "anime")
    assert anime["rating"] == label
    assert of_type(result, "crawl_error") == []


@pytest.mark.parametrize("code", ["nc_17", "<b>rx</b>", 18, ["rx"]])
def test_an_unknown_age_rating_is_null_with_a_note(code: object) -> None:
    result = parse(malapi_anime_url(6), {**ANIME_6, "rating": code})
    (anime,) = of_type(result, "anime")
    assert anime["rating"] is None and anime["title"] == "Trigun"
    (note,) = of_type(result, "crawl_error")
    assert note["reason"].startswith("bounded: ") and "anime.rating" in note["reason"]


def test_animelist_rows_and_paging_stay_on_the_api_host() -> None:
    url = malapi_animelist_url("Xinil")
    payload = {
        "data": [
            _list_entry(6, "completed", 9, 26),
            _list_entry(1, "plan_to_watch", 0, 0),
            _list_entry(20, "on_hold", 11, 3),
        ],
        "paging": {"next": "https://evil.example/v2/users/Xinil/animelist?offset=1000&limit=1000"},
    }
    result = parse(url, payload)
    rows = of_type(result, "user_anime")
    assert [(r["anime_id"], r["status"], r["score"], r["progress"]) for r in rows] == [
        (6, "completed", 9, 26),
        (1, "plan_to_watch", 0, 0),
        (20, "on_hold", 0, 3),  # a score outside 0..10 is not a score
    ]
    assert rows[0]["user_id"] == "Xinil" and rows[0]["source"] == "malapi"
    assert rows[0]["url"] == f"{MAL}/profile/Xinil"
    assert rows[0]["last_interaction_date"] == "2017-11-11T10:51:22"
    assert result.follow == [malapi_animelist_url("Xinil", 1000)]


def test_last_page_has_no_next_and_backwards_paging_is_ignored() -> None:
    last = parse(malapi_animelist_url("Xinil", 1000), {"data": [], "paging": {}})
    assert last.items == [] and last.follow == []
    loop = {
        "data": [_list_entry(6, "watching", 0, 1)],
        "paging": {"next": "https://api.myanimelist.net/v2/users/Xinil/animelist?offset=0"},
    }
    assert parse(malapi_animelist_url("Xinil", 1000), loop).follow == []


def test_api_errors_become_page_gone_or_crawl_errors() -> None:
    gone = parse(malapi_animelist_url("nobody_here"), {"error": "not_found", "message": ""}, 404)
    (item,) = gone.items
    assert item["item_type"] == "page_gone" and item["status_code"] == 404
    assert (item["parent_kind"], item["parent_id"], item["reason"]) == (
        "user",
        "nobody_here",
        "not_found",
    )
    assert parse(malapi_anime_url(6), {"error": "not_found"}, 404).items[0]["parent_id"] == "6"
    busy = parse(malapi_anime_url(6), {"error": "internal_server_error"}, 503)
    assert busy.items[0]["item_type"] == "crawl_error"
    denied = parse(malapi_anime_url(6), {"error": "forbidden", "message": "DoS detected"}, 403)
    assert "DoS detected" in denied.items[0]["reason"]
