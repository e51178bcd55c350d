"""Lookups the app relies on, against a real redis-server."""

from __future__ import annotations

import pandas as pd
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from animerec_assets.lib.serving import (
    InvalidKeyError,
    ServingUnavailableError,
    current_version,
    get_anime,
    get_freshness,
    get_recommendations,
    get_similar,
    get_user_view,
    publish,
    recommend_from_anime,
    search_titles,
)
from animerec_assets.lib.serving.lookup import blend_similar_lists, rank_search_results

ANIME = pd.DataFrame(
    {
        "anime_id": [1, 5, 6, 30, 31, 32],
        "title": [
            "Cowboy Bebop",
            "Cowboy Bebop: Tengoku no Tobira",
            "Trigun",
            "Shingeki no Kyojin",
            "Attack on Titan: Junior High",
            "Pokémon",
        ],
        "main_pic": [f"https://cdn.example/{i}.jpg" for i in range(6)],
        "type": ["TV", "Movie", "TV", "TV", "TV", "TV"],
        "score": [8.75, 8.38, 8.22, 8.54, 6.5, 7.4],
        "genres": [["Action", "Sci-Fi"], ["Action"], ["Action"], ["Drama"], ["Comedy"], ["Kids"]],
        "members_count": [1_900_000, 400_000, 800_000, 3_900_000, 100_000, 600_000],
    }
)
RECS = pd.DataFrame(
    {
        "user_id": ["Xinil"] * 4,
        "anime_id": [6, 30, 32, 31],
        "rank": [1, 2, 3, 4],
        "score": [0.9, 0.8, 0.7, 0.6],
        "reason": [1, "because you completed Cowboy Bebop", None, None],
    }
)
# 30 is planned (kept, the filters decide), 31 dropped since the model ran (not published)
LISTS = pd.DataFrame(
    {
        "user_id": ["xinil", "Xinil", "XINIL"],
        "anime_id": [1, 30, 31],
        "status": ["completed", "plan_to_watch", "dropped"],
    }
)
SIMILAR = pd.DataFrame(
    {
        "animeA": [1, 1, 1, 6, 6],
        "animeB": [5, 6, 30, 1, 31],
        "rank": [1, 2, 3, 1, 2],
        "score": [0.9, 0.8, 0.7, 0.6, 0.5],
    }
)


@pytest.fixture
def published(serving_redis, prefix) -> str:
    publish(
        serving_redis, RECS, SIMILAR, ANIME, model_version="lookup-test", prefix=prefix,
        user_anime=LISTS,
    )  # fmt: skip
    return prefix


def test_recommendations_come_with_cards_and_reasons(serving_redis, published) -> None:
    recs = get_recommendations(serving_redis, "XINIL", published)
    assert [(r.rank, r.anime_id) for r in recs] == [(1, 6), (2, 30), (3, 32)]
    assert recs[0].anime.title == "Trigun" and recs[0].anime.genres == ("Action",)
    assert recs[0].reason_anime_id == 1 and recs[0].reason_anime.title == "Cowboy Bebop"
    assert recs[1].reason == "because you completed Cowboy Bebop"
    assert recs[2].reason is None and recs[2].reason_anime is None
    assert recs[0].score == pytest.approx(0.9)


def test_user_view_holds_the_ranking_and_the_users_own_list(serving_redis, published) -> None:
    view = get_user_view(serving_redis, "xiNIL", published)
    assert view.version == current_version(serving_redis, published)
    assert [r.anime_id for r in view.recommendations] == [6, 30, 32]
    assert view.recommendations[0].anime.title == "Trigun"
    assert view.user_list == {1: "completed", 30: "plan_to_watch", 31: "dropped"}
    bare = get_user_view(serving_redis, "xinil", published, with_cards=False)
    assert [r.anime_id for r in bare.recommendations] == [6, 30, 32]
    assert bare.recommendations[0].anime is None and bare.user_list == view.user_list
    nobody = get_user_view(serving_redis, "nobody", published)
    assert (nobody.version, nobody.recommendations, nobody.user_list) == (view.version, [], None)
    with pytest.raises(InvalidKeyError):
        get_user_view(serving_redis, "a:b", published)


def test_a_version_without_lists_reads_as_no_list(serving_redis, prefix) -> None:
    publish(serving_redis, RECS, SIMILAR, ANIME, model_version="no-lists", prefix=prefix)
    view = get_user_view(serving_redis, "xinil", prefix)
    assert [r.anime_id for r in view.recommendations] == [6, 30, 32, 31]
    assert view.user_list is None


def test_unknown_user_has_no_recommendations(serving_redis, published) -> None:
    assert get_recommendations(serving_redis, "nobody", published) == []
    assert get_recommendations(serving_redis, "12345", published) == []


@pytest.mark.parametrize("hostile", ["*", "xinil*", "a:b", "user:xinil", "<b>x</b>", " ", "x" * 40])
def test_hostile_user_input_raises_before_touching_redis(serving_redis, published, hostile) -> None:
    with pytest.raises(InvalidKeyError):
        get_recommendations(serving_redis, hostile, published)


def test_similar_anime_are_ranked_with_cards(serving_redis, published) -> None:
    similar = get_similar(serving_redis, 1, prefix=published)
    assert [(s.rank, s.anime_id, s.anime.title) for s in similar] == [
        (1, 5, "Cowboy Bebop: Tengoku no Tobira"),
        (2, 6, "Trigun"),
        (3, 30, "Shingeki no Kyojin"),
    ]
    assert get_similar(serving_redis, 1, limit=1, prefix=published)[0].anime_id == 5
    assert get_similar(serving_redis, 999, prefix=published) == []


@pytest.mark.parametrize(
    ("query", "expected_first"),
    [
        ("cowboy", 1),  # exact-prefix and most popular first
        ("COWBOY BEBOP", 1),  # exact title first
        ("tobira", 5),  # a later word of the title
        ("titan", 31),
        ("pokemon", 32),  # accents ignored
        ("Poké", 32),
    ],
)
def test_title_search(serving_redis, published, query, expected_first) -> None:
    results = search_titles(serving_redis, query, prefix=published)
    assert results and results[0].anime_id == expected_first


def test_title_search_ignores_too_short_or_hostile_queries(serving_redis, published) -> None:
    assert search_titles(serving_redis, "c", prefix=published) == []
    assert search_titles(serving_redis, "*", prefix=published) == []
    assert search_titles(serving_redis, "[\xff", prefix=published) == []
    assert search_titles(serving_redis, "zzzz", prefix=published) == []
    assert [c.anime_id for c in search_titles(serving_redis, "cow[boy", prefix=published)] == []


def test_recommendations_from_named_anime(serving_redis, published) -> None:
    recs = recommend_from_anime(serving_redis, [1, 6], prefix=published)
    ids = [r.anime_id for r in recs]
    assert 1 not in ids and 6 not in ids  # never recommend what they named
    assert set(ids) == {5, 30, 31}
    assert recs[0].anime_id == 5 and recs[0].reason_anime.title == "Cowboy Bebop"
    assert recommend_from_anime(serving_redis, [], prefix=published) == []
    assert recommend_from_anime(serving_redis, [999], prefix=published) == []


def test_blend_rewards_anime_close_to_several_liked_ones() -> None:
    blended = blend_similar_lists({1: [(10, 0.9), (20, 0.8)], 2: [(20, 0.9), (1, 0.8)]})
    assert [anime for anime, _, _ in blended] == [20, 10]
    assert blended[0][2] == 2  # the list where 20 ranked best explains it


def test_rank_search_results_prefers_exact_then_prefix_then_popular() -> None:
    from animerec_assets.lib.serving import AnimeCard

    cards = [
        AnimeCard(1, "One Piece Film", members=10),
        AnimeCard(2, "One Piece", members=5),
        AnimeCard(3, "Piece of Cake", members=100),
    ]
    assert [c.anime_id for c in rank_search_results("piece", cards, 3)] == [3, 1, 2]
    assert next(c.anime_id for c in rank_search_results("one piece", cards, 3)) == 2


def test_freshness_and_cards(serving_redis, published) -> None:
    freshness = get_freshness(serving_redis, published)
    assert freshness.model_version == "lookup-test"
    assert freshness.version == current_version(serving_redis, published)
    assert freshness.counts == {
        "users": 1, "user_lists": 1, "user_list_entries": 3, "similar_lists": 2, "anime": 6,
        "title_entries": 17,
    }  # fmt: skip
    assert get_anime(serving_redis, 32, published).title == "Pokémon"
    assert get_anime(serving_redis, 404, published) is None


def test_nothing_published_reads_as_empty(serving_redis, prefix) -> None:
    assert get_freshness(serving_redis, prefix) is None
    assert get_recommendations(serving_redis, "xinil", prefix) == []
    assert get_similar(serving_redis, 1, prefix=prefix) == []
    assert search_titles(serving_redis, "cowboy", prefix=prefix) == []
    assert current_version(serving_redis, prefix) == ""


def test_redis_down_raises_serving_unavailable() -> None:
    client = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    with pytest.raises(ServingUnavailableError):
        get_freshness(client)
    with pytest.raises(ServingUnavailableError):
        get_recommendations(client, "xinil")
    with pytest.raises(ServingUnavailableError):
        current_version(client)
