"""The moving world: one round of change is deterministic, consistent, and served at once."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

from mal_replica.evolve import evolve_world
from mal_replica.export import processed_tables
from mal_replica.server import ReplicaApp, run_replica
from mal_replica.world import World, generate_world


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(300, 150, seed=7)


@pytest.fixture(scope="module")
def moved(world: World) -> World:
    return evolve_world(world, 1)


def _pairs(frame: pd.DataFrame, a: str, b: str, ids: np.ndarray) -> set[tuple]:
    return set(zip(ids[frame[a].to_numpy()], ids[frame[b].to_numpy()], strict=True))


def test_a_round_is_the_same_for_the_same_seed_and_round(world: World, moved: World) -> None:
    again = evolve_world(world, 1)
    for name in ("anime", "users", "lists", "friendships", "relations", "recommendations"):
        pd.testing.assert_frame_equal(getattr(moved, name), getattr(again, name))
    other = evolve_world(world, 2)
    assert not other.lists.equals(moved.lists)
    assert moved.meta["round"] == 1 and "round" not in world.meta  # the input is untouched
    assert moved.now_ts == world.now_ts + 86_400


def test_every_kind_of_change_happens(world: World, moved: World) -> None:
    names0, names1 = world.users["username"].to_numpy(), moved.users["username"].to_numpy()
    ids0, ids1 = world.anime["anime_id"].to_numpy(), moved.anime["anime_id"].to_numpy()

    def entries(w: World, names: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "user": names[w.lists["user"].to_numpy()],
                "anime": ids[w.lists["anime"].to_numpy()],
                "score": w.lists["score"].to_numpy(),
                "status": w.lists["status"].to_numpy(),
            }
        )
        return frame.set_index(["user", "anime"])

    before, after = entries(world, names0, ids0), entries(moved, names1, ids1)
    surviving_users = set(names1)
    kept_before = before[before.index.get_level_values("user").isin(surviving_users)]
    removed = kept_before.index.difference(after.index)
    added = after.index.difference(before.index)
    both = after.index.intersection(before.index)
    assert len(removed) > 0 and len(added) > 0
    assert (after.loc[both, "score"] != before.loc[both, "score"]).sum() > 0
    assert ((after.loc[both, "status"] == 4) & (before.loc[both, "status"] != 4)).sum() > 0

    friends0 = {frozenset(p) for p in _pairs(world.friendships, "a", "b", names0)}
    friends1 = {frozenset(p) for p in _pairs(moved.friendships, "a", "b", names1)}
    assert friends1 - friends0 and {p for p in friends0 - friends1 if p <= surviving_users}

    new_ids = set(ids1) - set(ids0)
    assert new_ids and min(new_ids) > ids0.max()
    assert (moved.anime.set_index("anime_id").loc[sorted(new_ids), "airing_status"] == 1).all()
    recs0 = _pairs(world.recommendations, "a", "b", ids0)
    recs1 = _pairs(moved.recommendations, "a", "b", ids1)
    assert recs1 - recs0 and recs0 - recs1
    assert _pairs(world.relations, "a", "b", ids0) != _pairs(moved.relations, "a", "b", ids1)
    assert moved.users["private"].sum() > 0

    rounds = [moved]
    for r in range(2, 6):
        rounds.append(evolve_world(rounds[-1], r))
    assert len(rounds[-1].users) < len(world.users)  # users were deleted
    assert set(ids0) - set(rounds[-1].anime["anime_id"])  # anime were deleted


def test_rows_only_name_what_exists_and_aggregates_are_recomputed(moved: World) -> None:
    n_users, n_anime = len(moved.users), len(moved.anime)
    for name, columns, bound in (
        ("lists", ("user",), n_users), ("lists", ("anime",), n_anime),
        ("friendships", ("a", "b"), n_users), ("relations", ("a", "b"), n_anime),
        ("recommendations", ("a", "b"), n_anime), ("favorites", ("user",), n_users),
        ("reviews", ("anime",), n_anime), ("pictures", ("anime",), n_anime),
    ):  # fmt: skip
        for column in columns:
            values = getattr(moved, name)[column].to_numpy()
            assert values.min() >= 0 and values.max() < bound, (name, column)
    assert not moved.lists.duplicated(["user", "anime"]).any()
    counts = np.bincount(moved.lists["anime"], minlength=n_anime)
    assert (moved.anime["total_count"].to_numpy() == counts).all()
    per_user = np.bincount(moved.lists["user"], minlength=n_users)
    assert (moved.users["total_entries"].to_numpy() == per_user).all()
    assert moved.anime["anime_id"].is_monotonic_increasing
    assert moved.users["username"].is_unique and moved.anime["title"].is_unique


def test_ground_truth_leaves_private_users_out(moved: World) -> None:
    hidden = set(moved.users.loc[moved.users["private"], "username"])
    tables = processed_tables(moved)
    assert hidden and not hidden & set(tables["user"]["user_id"])
    assert not hidden & set(tables["user_anime"]["user_id"].astype(str))
    friends = tables["user_user"]
    assert not hidden & (set(friends["userA"]) | set(friends["userB"]))
    # MAL's anime counters still count hidden lists
    assert tables["anime"]["total_count"].sum() == len(moved.lists)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_server_serves_the_moved_world() -> None:
    with run_replica(n_users=120, n_anime=80, seed=4) as replica:
        base = replica.base_url
        start = replica.world
        moved = replica.evolve(rounds=3)
        assert moved["round"] == 3 and replica.app.round == 3
        world = replica.world
        assert world is not start and world.meta["round"] == 3
        gone_users = set(start.users["username"]) - set(world.users["username"])
        private = world.users.loc[world.users["private"], "username"].tolist()
        new_anime = sorted(set(world.anime["anime_id"]) - set(start.anime["anime_id"]))
        assert gone_users and private and new_anime
        name = sorted(gone_users)[0]
        assert _get(f"{base}/profile/{name}")[0] == 404
        assert _get(f"{base}/jikan/v4/users/{name}/full")[0] == 404
        status, body = _get(f"{base}/animelist/{private[0]}/load.json?status=7&offset=0")
        assert status == 400 and "errors" in json.loads(body)
        assert _get(f"{base}/profile/{private[0]}")[0] == 200  # the profile itself still shows
        assert _get(f"{base}/anime/{new_anime[0]}")[0] == 200
        assert _get(f"{base}/jikan/v4/anime/{new_anime[0]}/full")[0] == 200
        health = json.loads(_get(f"{base}/_replica/health")[1])
        assert health["round"] == 3
        bad = urllib.request.Request(f"{base}/_replica/evolve", data=b'{"rounds": 0}')
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(bad, timeout=30)


def test_evolve_every_n_entry_pages() -> None:
    with run_replica(n_users=60, n_anime=40, seed=4, evolve_every=3) as replica:
        ids = replica.world.anime["anime_id"].tolist()
        for anime_id in ids[:7]:
            _get(f"{replica.base_url}/anime/{anime_id}")
        _get(f"{replica.base_url}/anime/{ids[0]}/x/stats")  # sub-pages do not count
        assert replica.app.round == 2
    with pytest.raises(ValueError, match="evolve_every"):
        ReplicaApp(generate_world(5, 5, 0), evolve_every=0)
