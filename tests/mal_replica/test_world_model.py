"""The synthetic world: deterministic, internally consistent, learnable, and scalable."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from mal_replica import vocab
from mal_replica.params import WorldError
from mal_replica.world import World, generate_world


def test_same_seed_same_world_and_other_seed_other_world(world: World) -> None:
    again = generate_world(**{**world.params.__dict__})
    for name in ("anime", "users", "lists", "relations", "recommendations", "friendships"):
        pd.testing.assert_frame_equal(getattr(world, name), getattr(again, name))
    other = generate_world(n_users=600, n_anime=300, seed=8)
    assert not world.lists[["user", "anime"]].equals(other.lists[["user", "anime"]])


def test_ids_are_sparse_unique_and_increasing(world: World) -> None:
    ids = world.anime["anime_id"].to_numpy()
    assert (np.diff(ids) > 0).all()
    assert ids[-1] > len(ids)  # holes, like MAL's
    assert world.users["user_id"].is_unique


def test_usernames_follow_mal_rules_and_are_unique_ignoring_case(world: World) -> None:
    names = world.users["username"]
    assert names.map(lambda n: re.fullmatch(r"[A-Za-z0-9_\-]{2,16}", n) is not None).all()
    assert names.str.lower().is_unique


def test_anime_stats_are_computed_from_the_list_rows(world: World) -> None:
    a, lists = world.anime, world.lists
    per_status = ["watching", "completed", "on_hold", "dropped", "plan_to_watch"]
    total = sum(a[f"{s}_count"] for s in per_status)
    assert (total == a["total_count"]).all()
    assert a["total_count"].sum() == len(lists)
    assert (np.bincount(lists["anime"], minlength=len(a)) == a["members_count"]).all()
    histogram = sum(a[f"score_{s:02d}_count"] for s in range(1, 11))
    assert (histogram == a["score_count"]).all()
    assert a["score_count"].sum() == int((lists["score"] > 0).sum())
    scored = a["score_count"] > 0
    mean = (
        sum(s * a[f"score_{s:02d}_count"] for s in range(1, 11))[scored] / a["score_count"][scored]
    )
    assert np.allclose(mean.round(2), a.loc[scored, "score"])
    assert (a["favorites_count"].sum()) == len(world.favorites)


def test_ranks_follow_scores_and_members(world: World) -> None:
    a = world.anime
    ranked = a[a["score_rank"] > 0].sort_values("score_rank")
    assert (np.diff(ranked["score"].to_numpy()) <= 1e-9).all()
    assert (a.loc[a["score_count"] == 0, "score_rank"] == -1).all()
    by_pop = a.sort_values("popularity_rank")
    assert (np.diff(by_pop["members_count"].to_numpy()) <= 0).all()
    assert sorted(a["popularity_rank"]) == list(range(1, len(a) + 1))


def test_user_profile_numbers_match_their_lists(world: World) -> None:
    u, lists = world.users, world.lists
    for code, name in vocab.STATUS_NAMES.items():
        expected = np.bincount(lists["user"][lists["status"] == code], minlength=len(u))
        assert (u[f"num_{name}"].to_numpy() == expected).all()
    scored = lists[lists["score"] > 0]
    mean = scored.groupby("user")["score"].mean().round(2)
    assert np.allclose(u.loc[mean.index, "mean_score"], mean)
    assert (u.loc[~u.index.isin(mean.index), "mean_score"] == 0).all()
    last_update = lists.groupby("user")["updated_ts"].max()
    assert (u.loc[last_update.index, "last_online_ts"] >= last_update).all()
    assert (lists["updated_ts"] <= world.now_ts).all()
    assert (u["total_entries"] == 0).any(), "some users keep an empty list, as on MAL"


def test_list_rows_respect_airing_and_episodes(world: World) -> None:
    lists, a = world.lists, world.anime
    joined = lists.join(a[["airing_status", "num_episodes"]], on="anime")
    assert not joined[["user", "anime"]].duplicated().any()
    not_aired = joined["airing_status"] == 2
    assert (joined.loc[not_aired, "status"] == 6).all()
    assert not ((joined["airing_status"] == 1) & (joined["status"] == 2)).any()
    completed = joined["status"] == 2
    assert (joined.loc[completed, "progress"] == joined.loc[completed, "num_episodes"]).all()
    assert (joined.loc[joined["status"] == 6, ["score", "progress"]] == 0).all().all()
    assert joined["score"].between(0, 10).all()


def test_relations_are_symmetrical(world: World) -> None:
    rel = world.relations
    forward = set(zip(rel["a"], rel["b"], rel["relation_type"], strict=True))
    for a, b, kind in forward:
        assert (b, a, vocab.RELATION_INVERSE[kind]) in forward or (
            kind == "Spin-Off"
            and (
                b,
                a,
                "Parent Story",
            )
            in forward
        )
    assert (rel["a"] != rel["b"]).all()


def test_favorites_are_best_completed_entries_at_most_ten(world: World) -> None:
    fav = world.favorites.merge(world.lists, on=["user", "anime"])
    assert len(fav) == len(world.favorites)
    assert (fav["status"] == 2).all() and (fav["score"] >= 8).all()
    assert world.favorites.groupby("user").size().max() <= 10


def test_friends_reviews_history_are_consistent(world: World) -> None:
    fr = world.friendships
    assert (fr["a"] < fr["b"]).all() and not fr[["a", "b"]].duplicated().any()
    same_group = (
        world.users["group"].to_numpy()[fr["a"]] == world.users["group"].to_numpy()[fr["b"]]
    ).mean()
    assert same_group > 0.5, "friendships should show taste homophily"
    reviews = world.reviews.merge(world.lists, on=["user", "anime"], suffixes=("", "_list"))
    assert len(reviews) == len(world.reviews)
    assert (reviews["score"] == reviews["score_list"]).all()
    assert world.reviews["review_id"].is_unique
    history = world.history.merge(world.lists, on=["user", "anime"])
    assert len(history) == len(world.history)
    assert (history["episode"] <= history["progress"]).all()
    assert (history["episode"] >= 1).all()


@pytest.mark.parametrize(
    "overrides",
    [
        {"n_users": 0},
        {"n_anime": 1},
        {"popular_share": 0.7, "secondary_share": 0.5},
        {"unscored_share": 1.5},
        {"now": "not a date"},
    ],
)
def test_bad_parameters_raise_a_clear_error(overrides: dict) -> None:
    args = {"n_users": 10, "n_anime": 10, "seed": 0, **overrides}
    with pytest.raises(WorldError):
        generate_world(**args)


def _hit_rate(scores: np.ndarray, held: np.ndarray, k: int = 10) -> float:
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    return float((top == held[:, None]).any(axis=1).mean())


def test_taste_is_learnable_item_knn_beats_popularity() -> None:
    """Hold out one liked anime per user; cosine item-kNN must find it far more often."""
    world = generate_world(n_users=1500, n_anime=600, seed=3)
    lists = world.lists
    n_users, n_anime = len(world.users), len(world.anime)
    liked = lists[(lists["status"] == 2) & (lists["score"] >= 7)]
    rng = np.random.default_rng(0)
    liked = liked.iloc[rng.permutation(len(liked))].drop_duplicates("user")
    size = np.bincount(lists["user"], minlength=n_users)
    liked = liked[size[liked["user"]] >= 5]
    held_key = liked["user"].to_numpy().astype(np.int64) * n_anime + liked["anime"].to_numpy()
    key = lists["user"].to_numpy().astype(np.int64) * n_anime + lists["anime"].to_numpy()
    train = lists[~np.isin(key, held_key)]
    x = sp.csr_matrix(
        (np.ones(len(train)), (train["user"], train["anime"])), shape=(n_users, n_anime)
    )
    norms = np.sqrt(np.asarray(x.power(2).sum(axis=0))).ravel() + 1e-9
    similarity = (x.T @ x).toarray() / norms[:, None] / norms[None, :]
    np.fill_diagonal(similarity, 0.0)
    users = liked["user"].to_numpy()
    seen = x[users].toarray() > 0
    knn = np.asarray(x[users] @ similarity)
    knn[seen] = -np.inf
    popularity = np.tile(np.asarray(x.sum(axis=0)).ravel(), (len(users), 1))
    popularity[seen] = -np.inf
    held = liked["anime"].to_numpy()
    knn_hits, pop_hits = _hit_rate(knn, held), _hit_rate(popularity, held)
    assert knn_hits > 1.8 * pop_hits and knn_hits - pop_hits > 0.1, (knn_hits, pop_hits)


def test_generation_is_vectorized_enough_to_scale() -> None:
    started = time.perf_counter()
    big = generate_world(n_users=20_000, n_anime=2000, seed=1)
    elapsed = time.perf_counter() - started
    assert len(big.lists) > 20_000 * 30
    # ~1.5 s on an idle core; generous for a shared CI machine, fatal for per-user loops
    assert elapsed < 30, f"20k users took {elapsed:.1f}s"
