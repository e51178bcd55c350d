"""The world moves: one round of change between two crawls, deterministic per seed and round.

Between two crawls of MAL, users add, rescore, drop and remove list entries, pick other
favorites, make and end friendships; new titles start airing; relations and user
recommendations appear and disappear; some lists turn private, some users and anime are
deleted. ``evolve(world, rng, params)`` applies one such round to a copy of the world and
recomputes every aggregate the pages show, so the evolved world is as consistent as a
generated one; ``evolve_world(world, round)`` draws the round's generator from the world's
seed, so round r of seed s is always the same world.

Deleted users and anime leave the world (their pages answer 404, rows that named them go).
A private user stays (MAL still shows the profile and the user in friends' lists) but the
list answers like a hidden one; the ground truth (``export.processed_tables``) leaves private
users out, with their list rows and friendships.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from mal_replica import generators as gen
from mal_replica import vocab
from mal_replica.params import DAY, EvolveParams
from mal_replica.world import World

# Mixed into the world's seed so evolution never reuses a generation stream.
EVOLVE_STREAM = 0xE70


def evolve_world(world: World, round_number: int, params: EvolveParams | None = None) -> World:
    """Round ``round_number`` (1, 2, ...) of the world's evolution."""
    rng = np.random.default_rng([world.params.seed, EVOLVE_STREAM, round_number])
    evolved = evolve(world, rng, params or EvolveParams())
    evolved.meta["round"] = round_number
    return evolved


def _draw(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return rng.random(n) < rate


def _when(rng: np.random.Generator, n: int, after: int, until: int) -> np.ndarray:
    """Moments in (after, until]: when this round's changes happened."""
    return until - (rng.random(n) * max(until - after - 1, 0)).astype(np.int64)


def _positions(keep: np.ndarray) -> np.ndarray:
    """Old position -> new position (-1 for removed rows)."""
    return np.where(keep, np.cumsum(keep) - 1, -1)


def _remap(frame: pd.DataFrame, columns: tuple[str, ...], new_pos: np.ndarray) -> pd.DataFrame:
    """Rows whose ``columns`` all survive, with those columns renumbered."""
    keep = np.ones(len(frame), dtype=bool)
    for column in columns:
        keep &= new_pos[frame[column].to_numpy()] >= 0
    frame = frame[keep].copy()
    for column in columns:
        frame[column] = new_pos[frame[column].to_numpy()].astype(frame[column].dtype)
    return frame.reset_index(drop=True)


def evolve(world: World, rng: np.random.Generator, params: EvolveParams) -> World:
    """One round of change applied to a copy of ``world`` (the input is not modified)."""
    params.validate()
    before = world.now_ts
    now = before + int(params.step_days * DAY)
    world_params = replace(
        world.params, now=datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    )
    anime = world.anime.copy()
    users = world.users.copy()
    if "private" not in users.columns:
        users["private"] = False
    tables = {
        name: getattr(world, name).copy()
        for name in (
            "lists", "favorites", "relations", "recommendations", "reviews", "history",
            "friendships", "club_anime", "club_members", "pictures",
        )
    }  # fmt: skip

    # -- deletions: anime and users leave, with every row naming them ---------------------------
    keep_anime = ~_draw(rng, len(anime), params.delete_anime_rate)
    anime_pos = _positions(keep_anime)
    anime = anime[keep_anime].reset_index(drop=True)
    for name, columns in (
        ("lists", ("anime",)), ("favorites", ("anime",)), ("relations", ("a", "b")),
        ("recommendations", ("a", "b")), ("reviews", ("anime",)), ("history", ("anime",)),
        ("club_anime", ("anime",)), ("pictures", ("anime",)),
    ):  # fmt: skip
        tables[name] = _remap(tables[name], columns, anime_pos)

    keep_users = ~_draw(rng, len(users), params.delete_user_rate)
    user_pos = _positions(keep_users)
    users = users[keep_users].reset_index(drop=True)
    for name, columns in (
        ("lists", ("user",)), ("favorites", ("user",)), ("reviews", ("user",)),
        ("history", ("user",)), ("friendships", ("a", "b")), ("club_members", ("user",)),
    ):  # fmt: skip
        tables[name] = _remap(tables[name], columns, user_pos)
    recs = tables["recommendations"]
    first = user_pos[recs["first_recommender"].to_numpy()]
    recs["first_recommender"] = np.where(first >= 0, first, 0).astype(np.int32)

    private = users["private"].to_numpy() | _draw(rng, len(users), params.private_rate)
    users["private"] = private

    # -- new titles start airing -------------------------------------------------------------
    n_new = max(1, round(len(anime) * params.new_anime_share))
    anime, new_anime = _add_anime(world_params, anime, n_new, before, now, rng)
    tables["pictures"] = _add_pictures(tables["pictures"], new_anime, rng)
    n_users, n_anime = len(users), len(anime)

    # -- relations and recommendations appear and disappear ----------------------------------
    tables["relations"] = _move_relations(tables["relations"], new_anime, n_anime, params, rng)
    tables["recommendations"] = _move_recommendations(
        tables["recommendations"], anime, n_users, params, rng
    )

    # -- lists: remove, rescore, drop, add ---------------------------------------------------
    tables["lists"] = _move_lists(tables["lists"], anime, n_users, before, now, params, rng)
    tables["favorites"] = _move_favorites(
        world_params, tables["favorites"], tables["lists"], n_users, params, rng
    )
    tables["friendships"] = _move_friendships(
        tables["friendships"], n_users, before, now, params, rng
    )

    clubs = world.clubs.copy()
    clubs["members_count"] = np.bincount(
        tables["club_members"]["club"], minlength=len(clubs)
    ).astype(np.int64)
    favorite_counts = np.bincount(tables["favorites"]["anime"], minlength=n_anime)
    gen.anime_statistics(anime, gen.list_counters(tables["lists"], n_anime), favorite_counts)
    gen.user_statistics(users, anime, tables["lists"], tables["favorites"])
    return World(
        params=world_params,
        anime=anime,
        users=users,
        clubs=clubs,
        meta=dict(world.meta),
        **tables,
    )


def _add_anime(
    world_params, anime: pd.DataFrame, n_new: int, before: int, now: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """``n_new`` titles with fresh ids that started airing this round; their positions."""
    new = gen.generate_anime(replace(world_params, n_anime=n_new), rng)
    new["anime_id"] = int(anime["anime_id"].max()) + np.cumsum(rng.integers(1, 6, n_new))
    new["group"] = rng.integers(0, world_params.n_groups, n_new).astype(np.int32)
    start = (_when(rng, n_new, before, now) // DAY) * DAY
    new["start_ts"] = start
    new["end_ts"] = -1
    new["airing_status"] = np.int8(1)
    series = new["type"].isin(["TV", "ONA"]).to_numpy()
    new["num_episodes"] = np.where(series, 0, new["num_episodes"].to_numpy())
    gen.add_titles(new, np.arange(n_new), rng)
    taken = set(anime["title"])
    clash = new["title"].isin(taken).to_numpy()
    new.loc[clash, "title"] = new.loc[clash, "title"] + " " + new.loc[clash, "anime_id"].astype(str)
    new["slug"] = [vocab.slugify(t) for t in new["title"]]
    positions = np.arange(len(anime), len(anime) + n_new)
    combined = pd.concat([anime, new[[c for c in anime.columns if c in new.columns]]])
    return combined.reset_index(drop=True), positions


def _add_pictures(
    pictures: pd.DataFrame, new_anime: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    count = 1 + rng.poisson(1.0, len(new_anime))
    owner = np.repeat(new_anime, count)
    first = int(pictures["pic_id"].max()) + 1 if len(pictures) else 10_000
    pic_id = first + np.cumsum(rng.integers(1, 40, len(owner)))
    added = pd.DataFrame(
        {
            "anime": owner.astype(np.int32),
            "pic_id": pic_id.astype(np.int64),
            "bucket": (1 + pic_id % 19).astype(np.int32),
        }
    )
    return pd.concat([pictures, added], ignore_index=True)


def _pair_keys(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b)


def _move_relations(
    relations: pd.DataFrame,
    new_anime: np.ndarray,
    n_anime: int,
    params: EvolveParams,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """End some relations (on both anime's pages); a new title is often a sequel."""
    a, b = relations["a"].to_numpy(), relations["b"].to_numpy()
    keys = _pair_keys(a, b, n_anime)
    ended = np.unique(keys[_draw(rng, len(keys), params.relation_end_rate)])
    relations = relations[~np.isin(keys, ended)]
    sequel = new_anime[_draw(rng, len(new_anime), 0.5)]
    older = rng.integers(0, max(int(new_anime.min()), 1), len(sequel))
    forward = pd.DataFrame({"a": older, "b": sequel, "relation_type": "Sequel"})
    backward = pd.DataFrame({"a": sequel, "b": older, "relation_type": "Prequel"})
    moved = pd.concat([relations, forward, backward], ignore_index=True)
    moved = moved[moved["a"] != moved["b"]].drop_duplicates(["a", "b"])
    moved = moved.astype({"a": np.int32, "b": np.int32})
    return moved.sort_values(["a", "b"], kind="stable").reset_index(drop=True)


def _move_recommendations(
    recs: pd.DataFrame,
    anime: pd.DataFrame,
    n_users: int,
    params: EvolveParams,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Some pairs lose their recommendations, new pairs get a first one, some gain votes."""
    n_anime = len(anime)
    recs = recs[~_draw(rng, len(recs), params.recommendation_end_rate)].copy()
    more = _draw(rng, len(recs), 0.05)
    recs.loc[more, "num_recommenders"] = recs.loc[more, "num_recommenders"] + 1
    wanted = max(1, round(n_anime * params.new_recommendations_per_anime))
    weight = anime["popularity_weight"].to_numpy()
    a = rng.choice(n_anime, wanted, p=weight / weight.sum())
    b = rng.integers(0, n_anime, wanted)
    existing = _pair_keys(recs["a"].to_numpy(), recs["b"].to_numpy(), n_anime)
    keys = np.unique(_pair_keys(a, b, n_anime)[a != b])
    keys = keys[~np.isin(keys, existing)]
    first_id = int(recs["recommendation_id"].max()) + 1 if len(recs) else 100
    added = pd.DataFrame(
        {
            "a": (keys // n_anime).astype(np.int32),
            "b": (keys % n_anime).astype(np.int32),
            "num_recommenders": np.ones(len(keys), dtype=np.int32),
            "first_recommender": rng.integers(0, max(n_users, 1), len(keys)).astype(np.int32),
            "recommendation_id": first_id + np.cumsum(rng.integers(1, 30, len(keys))),
        }
    )
    return pd.concat([recs, added], ignore_index=True)


def _move_lists(
    lists: pd.DataFrame,
    anime: pd.DataFrame,
    n_users: int,
    before: int,
    now: int,
    params: EvolveParams,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Entries removed, rescored, dropped; new ones added (the newest titles among them)."""
    lists = lists[~_draw(rng, len(lists), params.remove_rate)].reset_index(drop=True)
    status = lists["status"].to_numpy().copy()
    score = lists["score"].to_numpy().astype(np.int64)
    updated = lists["updated_ts"].to_numpy().copy()

    rescore = _draw(rng, len(lists), params.rescore_rate) & (status != 6)
    delta = rng.choice(np.asarray([-2, -1, 1, 2]), len(lists))
    score = np.where(rescore, np.clip(np.where(score == 0, 7, score) + delta, 1, 10), score)
    drop = _draw(rng, len(lists), params.drop_rate) & np.isin(status, [1, 3])
    status = np.where(drop, 4, status)
    touched = rescore | drop
    updated = np.where(touched, _when(rng, len(lists), before, now), updated)
    lists["status"] = status.astype(np.int8)
    lists["score"] = score.astype(np.int8)
    lists["updated_ts"] = updated.astype(np.int64)

    n_anime = len(anime)
    adders = np.nonzero(_draw(rng, n_users, params.list_add_share))[0]
    per_user = rng.integers(1, 5, len(adders))
    user = np.repeat(adders, per_user).astype(np.int64)
    airing = anime["airing_status"].to_numpy()
    weight = anime["popularity_weight"].to_numpy() * np.where(airing == 2, 0.0, 1.0)
    newest = anime["start_ts"].to_numpy() > before
    weight = np.where(newest, weight.max(), weight)  # everyone talks about the new season
    item = rng.choice(n_anime, len(user), p=weight / weight.sum())
    keys = np.unique(user * n_anime + item)
    existing = lists["user"].to_numpy().astype(np.int64) * n_anime + lists["anime"].to_numpy()
    keys = keys[~np.isin(keys, existing)]
    user, item = keys // n_anime, keys % n_anime
    m = len(keys)
    new_status = np.where(
        airing[item] == 1, 1, rng.choice(np.asarray([2, 6, 1]), m, p=[0.5, 0.3, 0.2])
    )
    new_score = np.where(new_status == 6, 0, rng.integers(4, 11, m))
    episodes = anime["num_episodes"].to_numpy()[item]
    progress = np.select(
        [new_status == 2, new_status == 6], [episodes, 0], default=np.minimum(1, episodes)
    )
    progress = np.where((new_status == 1) & (episodes <= 0), 1, progress)
    when = _when(rng, m, before, now)
    added = pd.DataFrame(
        {
            "user": user.astype(np.int32),
            "anime": item.astype(np.int32),
            "status": new_status.astype(np.int8),
            "score": new_score.astype(np.int8),
            "progress": progress.astype(np.int32),
            "updated_ts": when.astype(np.int64),
            "created_ts": when.astype(np.int64),
            "is_rewatching": np.zeros(m, dtype=bool),
        }
    )
    moved = pd.concat([lists, added], ignore_index=True)
    return moved.sort_values(["user", "anime"], kind="stable").reset_index(drop=True)


def _move_favorites(
    world_params,
    favorites: pd.DataFrame,
    lists: pd.DataFrame,
    n_users: int,
    params: EvolveParams,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Some users pick their favorites anew among their best-scored completed entries."""
    changed = _draw(rng, n_users, params.favorites_change_share)
    kept = favorites[~changed[favorites["user"].to_numpy()]]
    mine = lists[changed[lists["user"].to_numpy()]]
    picked = gen.generate_favorites(world_params, mine, n_users, rng)
    moved = pd.concat([kept, picked], ignore_index=True)
    return moved.sort_values(["user", "rank"], kind="stable").reset_index(drop=True)


def _move_friendships(
    friendships: pd.DataFrame,
    n_users: int,
    before: int,
    now: int,
    params: EvolveParams,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Some friendships end (both friends' lists lose them), new ones start."""
    friendships = friendships[~_draw(rng, len(friendships), params.friendship_end_rate)]
    if n_users < 2:
        return friendships.reset_index(drop=True)
    wanted = max(1, round(n_users * params.new_friendships_per_user))
    a, b = rng.integers(0, n_users, wanted), rng.integers(0, n_users, wanted)
    keys = np.unique(_pair_keys(a, b, n_users)[a != b])
    existing = _pair_keys(friendships["a"].to_numpy(), friendships["b"].to_numpy(), n_users)
    keys = keys[~np.isin(keys, existing)]
    added = pd.DataFrame(
        {
            "a": (keys // n_users).astype(np.int32),
            "b": (keys % n_users).astype(np.int32),
            "since_ts": _when(rng, len(keys), before, now).astype(np.int64),
        }
    )
    moved = pd.concat([friendships, added], ignore_index=True)
    return moved.sort_values(["a", "b"], kind="stable").reset_index(drop=True)
