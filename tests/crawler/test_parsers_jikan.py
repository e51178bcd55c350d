"""Jikan v4 parsers against recorded responses: the same items as the MAL pages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from animerec_assets.contracts.landing import ITEM_FIELDS
from crawler.parsers import ParseResult, build_response, parse_response

NOW = datetime(2026, 1, 17, tzinfo=UTC)
JIKAN = "https://api.jikan.moe/v4"
MAL = "https://myanimelist.net"


def parse_json(pages: Path, name: str, path: str) -> ParseResult:
    body = (pages / "jikan" / name).read_bytes()
    return parse_response(build_response(JIKAN + path, body), NOW)


def of_type(result: ParseResult, item_type: str) -> list[dict[str, Any]]:
    return [item for item in result.items if item["item_type"] == item_type]


def test_anime_full_matches_the_mal_page_fields(mal_pages_dir: Path) -> None:
    result = parse_json(mal_pages_dir, "aniprops_v4_anime_6_full.json", "/anime/6/full")
    (anime,) = of_type(result, "anime")
    assert set(anime) == {"item_type", "crawl_date", "source", "url"} | {
        name for name, _ in ITEM_FIELDS["anime"]
    }
    assert anime["source"] == "jikan" and anime["url"] == f"{MAL}/anime/6"
    assert (anime["title"], anime["type"], anime["num_episodes"]) == ("Trigun", "TV", 26)
    assert anime["premiered"] == "Spring 1998" and anime["studios"] == ["Madhouse"]
    assert anime["genres"] == ["Action", "Adventure", "Sci-Fi", "Adult Cast", "Shounen"]
    assert (anime["score"], anime["score_count"], anime["members_count"]) == (8.22, 345561, 703667)
    assert anime["start_date"] == "1998-04-01T00:00:00+00:00"
    assert (anime["rating"], anime["favorites_count"]) == ("PG-13 - Teens 13 or older", 14356)
    relations = {(r["animeB"], r["relation_type"]) for r in of_type(result, "anime_relation")}
    assert relations == {(4106, "Side Story"), (52093, "Alternative Version")}
    assert result.crawled["anime"] == {f"{MAL}/anime/6"}
    assert f"{JIKAN}/anime/6/statistics" in result.follow


@pytest.mark.parametrize(
    ("name", "path", "title", "episodes"),
    [
        (
            "aniprops_v4_anime_100_full.json",
            "/anime/100/full",
            "Shin Shirayuki-hime Densetsu Prétear",
            13,
        ),
        ("aniprops_v4_anime_439_full.json", "/anime/439/full", "RG Veda", 2),
        ("aniprops_v4_anime_69_full.json", "/anime/69/full", "Cluster Edge", 25),
        ("jikanpy_v4_anime_457.json", "/anime/457", "Mushishi", 26),
        ("reactivejikan_v4_anime_getAnimeById.json", "/anime/11757", "Sword Art Online", 25),
    ],
)
def test_other_anime_responses(
    mal_pages_dir: Path, name: str, path: str, title: str, episodes: int
) -> None:
    (anime,) = of_type(parse_json(mal_pages_dir, name, path), "anime")
    assert (anime["title"], anime["num_episodes"]) == (title, episodes)


def test_statistics(mal_pages_dir: Path) -> None:
    name = "reactivejikan_v4_anime_getAnimeStatistics.json"
    (stats,) = parse_json(mal_pages_dir, name, "/anime/11757/statistics").items
    assert stats["item_type"] == "anime_stats" and stats["anime_id"] == 11757
    assert (stats["completed_count"], stats["total_count"]) == (2287389, 2668437)
    assert (stats["score_01_count"], stats["score_02_count"]) == (27658, 29980)


def test_recommendations(mal_pages_dir: Path) -> None:
    name = "reactivejikan_v4_anime_getAnimeRecommendations.json"
    (rec,) = parse_json(mal_pages_dir, name, "/anime/11757/recommendations").items
    assert (rec["animeA"], rec["animeB"], rec["num_recommenders"]) == (11757, 17265, 174)
    assert rec["recommendation_url"] == f"{MAL}/recommendations/anime/11757-17265"


def test_reviews_with_sub_scores(mal_pages_dir: Path) -> None:
    name = "reactivejikan_v4_anime_getAnimeReviews.json"
    result = parse_json(mal_pages_dir, name, "/anime/11757/reviews?page=1")
    (review,) = result.items
    assert (review["review_id"], review["review_num_useful"]) == (138911, 5216)
    scores = [review[f"review_{k}score"] for k in ("", "story_", "animation_", "sound_")]
    assert scores == [4, 4, 8, 8]
    assert (review["review_character_score"], review["review_enjoyment_score"]) == (1, 3)
    assert result.follow == []  # has_next_page false


def test_pictures(mal_pages_dir: Path) -> None:
    name = "reactivejikan_v4_anime_getAnimePictures.json"
    (pics,) = parse_json(mal_pages_dir, name, "/anime/1/pictures").items
    assert pics["pics"] == ["https://cdn.myanimelist.net/images/anime/8/36343l.jpg"]


def test_user_full(mal_pages_dir: Path) -> None:
    name = "jikanpy_v4_users_nekomata1037_full.json"
    result = parse_json(mal_pages_dir, name, "/users/nekomata1037/full")
    (user,) = of_type(result, "user")
    assert user["user_id"] == "Nekomata1037"
    assert user["last_online_date"] == "2022-12-06T07:42:00+00:00"
    assert (user["num_watching"], user["num_completed"], user["num_plan_to_watch"]) == (
        44,
        451,
        428,
    )
    assert (user["num_days"], user["mean_score"]) == (107.0, 8.22)
    assert user["favorite_anime_ids"][:2] == [9253, 30484]
    updates = of_type(result, "user_anime")
    assert updates[0]["anime_id"] == 34102 and updates[0]["status"] == "plan_to_watch"
    assert result.crawled["profile"] == {f"{MAL}/profile/nekomata1037"}
    assert f"{JIKAN}/users/nekomata1037/friends?page=1" in result.follow


def test_friends_and_paging(mal_pages_dir: Path) -> None:
    name = "jikanpy_v4_users_nekomata1037_friends.json"
    result = parse_json(mal_pages_dir, name, "/users/nekomata1037/friends?page=1")
    friends = of_type(result, "user_user")
    assert len(friends) == 38 and friends[0]["userB"] == "purplepinapples"
    assert friends[0]["friendship_date"] == "2020-05-15T19:53:00+00:00"
    assert result.follow == []
    paged = b'{"pagination": {"has_next_page": true}, "data": []}'
    url = f"{JIKAN}/users/nekomata1037/friends?page=2"
    assert parse_response(build_response(url, paged), NOW).follow == [
        f"{JIKAN}/users/nekomata1037/friends?page=3"
    ]


def test_history_and_favorites(mal_pages_dir: Path) -> None:
    name = "reactivejikan_v4_users_getUserHistory_anime.json"
    (row,) = parse_json(mal_pages_dir, name, "/users/USER_1/history/anime").items
    assert (row["anime_id"], row["episode"], row["history_date"]) == (
        21,
        570,
        "2022-02-17T07:45:00+00:00",
    )
    name = "reactivejikan_v4_users_getUserFavorites.json"
    favorites = parse_json(mal_pages_dir, name, "/users/USER_1/favorites")
    assert favorites.items == [] and favorites.seen["anime"]


def test_profile_without_statistics(mal_pages_dir: Path) -> None:
    name = "reactivejikan_v4_users_getUserProfile.json"
    (user,) = parse_json(mal_pages_dir, name, "/users/USER_1").items
    assert user["join_date"] == "2017-07-09T00:00:00+00:00"
    assert user["num_completed"] is None and user["favorite_anime_ids"] is None
