"""The Jikan-v4-shaped API answers with the keys and JSON types of the recorded responses."""

from __future__ import annotations

import json
import numbers
from pathlib import Path

import httpx
import pytest

from mal_replica.server import ReplicaHandle
from mal_replica.world import World


def missing_keys(real: object, ours: object, path: str = "") -> list[str]:
    """Keys of ``real`` absent from ``ours`` (recursively), and JSON type mismatches."""
    problems: list[str] = []
    if isinstance(real, dict):
        if not isinstance(ours, dict):
            return [f"{path}: expected object"]
        for key, value in real.items():
            if key not in ours:
                problems.append(f"{path}.{key}")
            else:
                problems += missing_keys(value, ours[key], f"{path}.{key}")
    elif isinstance(real, list):
        if not isinstance(ours, list):
            return [f"{path}: expected list"]
        if real and ours:
            problems += missing_keys(real[0], ours[0], f"{path}[0]")
    elif real is not None and ours is not None:
        same = isinstance(real, bool) == isinstance(ours, bool) and (
            (isinstance(real, numbers.Number) and isinstance(ours, numbers.Number))
            or type(real) is type(ours)
        )
        if not same:
            problems.append(f"{path}: {type(real).__name__} vs {type(ours).__name__}")
    return problems


def rich_user(world: World) -> str:
    fav = set(world.favorites["user"])
    friends = set(world.friendships["a"]) | set(world.friendships["b"])
    hist = set(world.history["user"])
    return world.users["username"].iat[min(fav & friends & hist)]


def rich_anime(world: World) -> int:
    rel = set(world.relations["a"])
    recs = set(world.recommendations["a"])
    reviews = set(world.reviews["anime"])
    pos = min(rel & recs & reviews & set(world.anime.index[world.anime["score_count"] > 0]))
    return int(world.anime["anime_id"].iat[pos])


CASES = [
    ("aniprops_v4_anime_6_full.json", "/anime/{a}/full"),
    ("jikanpy_v4_anime_457.json", "/anime/{a}"),
    ("reactivejikan_v4_anime_getAnimeStatistics.json", "/anime/{a}/statistics"),
    ("reactivejikan_v4_anime_getAnimeRecommendations.json", "/anime/{a}/recommendations"),
    ("reactivejikan_v4_anime_getAnimeReviews.json", "/anime/{a}/reviews"),
    ("reactivejikan_v4_anime_getAnimePictures.json", "/anime/{a}/pictures"),
    ("reactivejikan_v4_anime_getAnimeRelations.json", "/anime/{a}/relations"),
    ("jikanpy_v4_users_nekomata1037_full.json", "/users/{u}/full"),
    ("reactivejikan_v4_users_getUserProfile.json", "/users/{u}"),
    ("jikanpy_v4_users_nekomata1037_friends.json", "/users/{u}/friends"),
    ("reactivejikan_v4_users_getUserHistory_anime.json", "/users/{u}/history/anime"),
    ("reactivejikan_v4_users_getUserFavorites.json", "/users/{u}/favorites"),
    ("reactivejikan_v4_users_getUserStatistics.json", "/users/{u}/statistics"),
]


@pytest.mark.parametrize(("recorded", "endpoint"), CASES)
def test_replica_answers_carry_the_recorded_keys(
    mal_pages_dir: Path, replica: ReplicaHandle, world: World, recorded: str, endpoint: str
) -> None:
    real = json.loads((mal_pages_dir / "jikan" / recorded).read_text())
    real.pop("test:source", None)
    url = replica.jikan_base_url + endpoint.format(a=rich_anime(world), u=rich_user(world))
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    ours = response.json()
    assert isinstance(ours["data"], type(real["data"]))
    assert ours["data"], "an empty answer proves nothing about the shape"
    assert missing_keys(real, ours) == []


def test_checker_detects_a_missing_key() -> None:
    assert missing_keys({"data": {"a": 1, "b": [{"c": "x"}]}}, {"data": {"a": 1, "b": [{}]}}) == [
        ".data.b[0].c"
    ]
    assert missing_keys({"x": 1}, {"x": "1"}) == [".x: int vs str"]


def test_jikan_values_agree_with_the_world(replica: ReplicaHandle, world: World) -> None:
    anime_id = rich_anime(world)
    pos = int(world.anime.index[world.anime["anime_id"] == anime_id][0])
    stats = httpx.get(f"{replica.jikan_base_url}/anime/{anime_id}/statistics").json()["data"]
    assert stats["total"] == world.anime["total_count"].iat[pos]
    assert sum(s["votes"] for s in stats["scores"]) == world.anime["score_count"].iat[pos]
    full = httpx.get(f"{replica.jikan_base_url}/anime/{anime_id}/full").json()["data"]
    assert full["members"] == world.anime["members_count"].iat[pos]
    related = {e["mal_id"] for group in full["relations"] for e in group["entry"]}
    expected = world.relations.loc[world.relations["a"] == pos, "b"]
    assert related == set(world.anime["anime_id"].to_numpy()[expected.to_numpy()])
