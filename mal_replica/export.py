"""Ground truth: the world as the five processed tables (plus reviews and history).

The export states what a complete crawl of the site can observe, at the precision the pages
show it: canonical MAL URLs (data_contracts.md), timestamps truncated to the minute (MAL
prints minutes), review dates to the day, ``anime_anime`` as relations ∪ recommendations merged
per ordered pair (a recommendation appears on both anime's pages, so both directions), and
``user_user`` in both directions (each friend's list shows the other). Review sub-scores exist
only in the Jikan API, so they are None for ``source="mal"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mal_replica import text, vocab
from mal_replica.world import World

MAL = "https://myanimelist.net"
CDN = "https://cdn.myanimelist.net"
SOURCES = ("mal", "jikan")
PROCESSED_TABLES = ("anime", "user", "user_anime", "anime_anime", "user_user")
SCORE_COLUMNS = [f"score_{s:02d}_count" for s in range(10, 0, -1)]


def _timestamps(seconds: np.ndarray, unit: str = "min") -> pd.Series:
    values = pd.to_datetime(pd.Series(seconds, dtype="int64"), unit="s")
    return values.dt.floor(unit)


def lists_by(keys: np.ndarray, values: np.ndarray, n: int) -> list[list]:
    """Ragged lists of ``values`` per key 0..n-1 (keys need not be sorted)."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    ordered = values[order]
    return [list(ordered[bounds[i] : bounds[i + 1]]) for i in range(n)]


def pic_urls(world: World, host: str = CDN) -> list[list[str]]:
    pics = world.pictures
    url = (
        host
        + "/images/anime/"
        + pics["bucket"].astype(str)
        + "/"
        + pics["pic_id"].astype(str)
        + ".jpg"
    ).to_numpy()
    return lists_by(pics["anime"].to_numpy(), url, len(world.anime))


def anime_table(world: World) -> pd.DataFrame:
    a = world.anime
    n = len(a)
    types = a["type"].to_numpy()
    episodes = a["num_episodes"].to_numpy()
    one_date = text.single_date(types, episodes)
    start = a["start_ts"].to_numpy()
    end = a["end_ts"].to_numpy()
    pics = pic_urls(world)
    clubs = lists_by(
        world.club_anime["anime"].to_numpy(),
        world.clubs["name"].to_numpy()[world.club_anime["club"].to_numpy()],
        n,
    )
    table = pd.DataFrame(
        {
            "anime_id": a["anime_id"].astype("int64"),
            "anime_url": MAL + "/anime/" + a["anime_id"].astype(str),
            "title": a["title"],
            "synopsis": [
                text.synopsis(i, t, g)
                for i, t, g in zip(a["anime_id"], a["title"], a["genres"], strict=True)
            ],
            "main_pic": [p[0] if p else None for p in pics],
            "type": a["type"],
            "source_type": a["source"],
            "num_episodes": pd.array(np.where(episodes > 0, episodes, 0), dtype="Int64"),
            "status": np.asarray(vocab.AIRING_STATUS, dtype=object)[a["airing_status"]],
            "start_date": _timestamps(start, "D"),
            "end_date": _timestamps(np.where(end >= 0, end, 0), "D"),
            "season": [
                text.season(s) if t == "TV" else None for s, t in zip(start, types, strict=True)
            ],
            "studios": a["studios"],
            "genres": a["genres"],
            "score": a["score"].astype("Float64"),
            "score_count": a["score_count"].astype("int64"),
            "score_rank": pd.array(a["score_rank"], dtype="Int64"),
            "popularity_rank": a["popularity_rank"].astype("int64"),
            "members_count": a["members_count"].astype("int64"),
            "favorites_count": a["favorites_count"].astype("int64"),
            "watching_count": a["watching_count"].astype("int64"),
            "completed_count": a["completed_count"].astype("int64"),
            "on_hold_count": a["on_hold_count"].astype("int64"),
            "dropped_count": a["dropped_count"].astype("int64"),
            "plan_to_watch_count": a["plan_to_watch_count"].astype("int64"),
            "total_count": a["total_count"].astype("int64"),
            **{c: a[c].astype("int64") for c in SCORE_COLUMNS},
            "clubs": clubs,
            "pics": pics,
            "rating": a["rating"],
        }
    )
    table.loc[episodes <= 0, "num_episodes"] = pd.NA
    table.loc[(end < 0) | one_date, "end_date"] = pd.NaT
    table.loc[a["score_rank"].to_numpy() < 0, "score_rank"] = pd.NA
    table.loc[a["score_count"].to_numpy() == 0, "score"] = pd.NA
    return table


def user_table(world: World) -> pd.DataFrame:
    u = world.users
    clubs = lists_by(
        world.club_members["user"].to_numpy(),
        world.clubs["name"].to_numpy()[world.club_members["club"].to_numpy()],
        len(u),
    )
    return pd.DataFrame(
        {
            "user_id": u["username"],
            "user_url": MAL + "/profile/" + u["username"],
            "last_online_date": _timestamps(u["last_online_ts"].to_numpy()),
            "num_watching": u["num_watching"].astype("int64"),
            "num_completed": u["num_completed"].astype("int64"),
            "num_on_hold": u["num_on_hold"].astype("int64"),
            "num_dropped": u["num_dropped"].astype("int64"),
            "num_plan_to_watch": u["num_plan_to_watch"].astype("int64"),
            "num_days": u["num_days"].astype("float64"),
            "mean_score": u["mean_score"].astype("float64"),
            "clubs": clubs,
        }
    )


def user_anime_table(world: World, source: str = "mal") -> pd.DataFrame:
    """One row per (user, anime) on the user's list, and per favorite or review of an anime
    the list no longer holds (a moved world: evolve.py removes entries, MAL keeps favorites and
    reviews); such rows have no list columns. A generated world has none of them."""
    lists, n_anime = world.lists, len(world.anime)
    list_key = lists["user"].to_numpy().astype(np.int64) * n_anime + lists["anime"].to_numpy()
    fav = world.favorites
    fav_key = fav["user"].to_numpy().astype(np.int64) * n_anime + fav["anime"].to_numpy()
    reviews = world.reviews
    review_key = reviews["user"].to_numpy().astype(np.int64) * n_anime + reviews["anime"].to_numpy()
    unlisted = np.setdiff1d(np.union1d(fav_key, review_key), list_key)
    key = np.r_[list_key, unlisted].astype(np.int64)
    user, item = key // n_anime, key % n_anime
    favorite = np.isin(key, fav_key)

    order = np.argsort(review_key)
    pos = np.searchsorted(review_key[order], key)
    pos = np.minimum(pos, max(len(order) - 1, 0))
    has_review = (
        np.zeros(len(key), dtype=bool) if len(order) == 0 else review_key[order][pos] == key
    )
    row = order[pos] if len(order) else np.zeros(len(key), dtype=np.int64)

    def review_col(column: str, dtype: str) -> pd.array:
        values = reviews[column].to_numpy()[row] if len(order) else np.zeros(len(key))
        result = pd.array(values, dtype=dtype)
        result[~has_review] = pd.NA
        return result

    sub_scores = {}
    for name in ("story", "animation", "sound", "character", "enjoyment"):
        column = f"review_{name}_score"
        if source == "jikan":
            sub_scores[column] = review_col(f"{name}_score", "Int64")
        else:
            sub_scores[column] = pd.array([pd.NA] * len(key), dtype="Int64")
    review_date = _timestamps(
        reviews["review_ts"].to_numpy()[row] if len(order) else np.zeros(len(key)), "D"
    )
    review_date = review_date.where(has_review)
    status_names = np.empty(7, dtype=object)
    for code, name in vocab.STATUS_NAMES.items():
        status_names[code] = name
    list_columns = {
        "score": lists["score"].astype("int64"),
        "status": pd.Categorical(status_names[lists["status"].to_numpy()]),
        "progress": lists["progress"].astype("int64"),
        "last_interaction_date": pd.to_datetime(lists["updated_ts"], unit="s"),
    }
    if len(unlisted):
        missing = len(unlisted)
        list_columns = {
            "score": pd.array([*lists["score"].tolist(), *[pd.NA] * missing], dtype="Int64"),
            "status": pd.Categorical([*list_columns["status"], *[None] * missing]),
            "progress": pd.array([*lists["progress"].tolist(), *[pd.NA] * missing], dtype="Int64"),
            "last_interaction_date": pd.to_datetime(
                pd.Series([*lists["updated_ts"].tolist(), *[None] * missing], dtype="Int64"),
                unit="s",
            ),
        }
    return pd.DataFrame(
        {
            "user_id": pd.Categorical.from_codes(
                user, categories=pd.Index(world.users["username"])
            ),
            "anime_id": world.anime["anime_id"].to_numpy()[item].astype("int64"),
            "favorite": favorite.astype("int64"),
            "review_id": review_col("review_id", "Int64"),
            "review_date": review_date,
            "review_num_useful": review_col("reactions", "Int64"),
            "review_score": review_col("score", "Int64"),
            **sub_scores,
            **list_columns,
        }
    )


def anime_anime_table(world: World) -> pd.DataFrame:
    ids = world.anime["anime_id"].to_numpy()
    rel = world.relations
    related = pd.DataFrame(
        {
            "animeA": ids[rel["a"].to_numpy()],
            "animeB": ids[rel["b"].to_numpy()],
            "related": 1,
            "relation_type": rel["relation_type"].to_numpy(),
        }
    )
    recs = world.recommendations
    low, high = ids[recs["a"].to_numpy()], ids[recs["b"].to_numpy()]
    low, high = np.minimum(low, high), np.maximum(low, high)
    url = (
        MAL
        + "/recommendations/anime/"
        + pd.Series(low).astype(str)
        + "-"
        + pd.Series(high).astype(str)
    )
    one_way = pd.DataFrame(
        {
            "animeA": low,
            "animeB": high,
            "recommendation": 1,
            "recommendation_url": url.to_numpy(),
            "num_recommenders": recs["num_recommenders"].to_numpy(),
        }
    )
    both = pd.concat(
        [one_way, one_way.rename(columns={"animeA": "animeB", "animeB": "animeA"})],
        ignore_index=True,
    )
    merged = both.merge(related, on=["animeA", "animeB"], how="outer")
    merged["recommendation"] = merged["recommendation"].fillna(0).astype("int64")
    merged["related"] = merged["related"].fillna(0).astype("int64")
    merged["num_recommenders"] = merged["num_recommenders"].astype("Int64")
    merged = merged.sort_values(["animeA", "animeB"], kind="stable").reset_index(drop=True)
    return merged[
        [
            "animeA",
            "animeB",
            "recommendation",
            "recommendation_url",
            "num_recommenders",
            "related",
            "relation_type",
        ]
    ].astype({"animeA": "int64", "animeB": "int64"})


def user_user_table(world: World) -> pd.DataFrame:
    names = world.users["username"].to_numpy()
    f = world.friendships
    a, b = f["a"].to_numpy(), f["b"].to_numpy()
    since = _timestamps(f["since_ts"].to_numpy())
    table = pd.DataFrame(
        {
            "userA": np.r_[names[a], names[b]],
            "userB": np.r_[names[b], names[a]],
            "friends": 1,
            "friendship_date": pd.concat([since, since], ignore_index=True),
        }
    )
    return table.sort_values(["userA", "userB"], kind="stable").reset_index(drop=True)


def reviews_table(world: World, source: str = "mal") -> pd.DataFrame:
    r = world.reviews
    table = pd.DataFrame(
        {
            "review_id": r["review_id"].astype("int64"),
            "anime_id": world.anime["anime_id"].to_numpy()[r["anime"].to_numpy()],
            "user_id": world.users["username"].to_numpy()[r["user"].to_numpy()],
            "review_date": _timestamps(r["review_ts"].to_numpy(), "D"),
            "review_num_useful": r["reactions"].astype("int64"),
            "review_score": r["score"].astype("int64"),
            "review_tags": [
                [tag, "preliminary"] if pre else [tag]
                for tag, pre in zip(r["tag"], r["preliminary"], strict=True)
            ],
        }
    )
    for name in ("story", "animation", "sound", "character", "enjoyment"):
        column = f"review_{name}_score"
        if source == "jikan":
            table[column] = r[f"{name}_score"].astype("Int64")
        else:
            table[column] = pd.array([pd.NA] * len(r), dtype="Int64")
    return table


def history_table(world: World) -> pd.DataFrame:
    h = world.history
    return pd.DataFrame(
        {
            "user_id": world.users["username"].to_numpy()[h["user"].to_numpy()],
            "anime_id": world.anime["anime_id"].to_numpy()[h["anime"].to_numpy()],
            "episode": h["episode"].astype("int64"),
            "history_date": _timestamps(h["watched_ts"].to_numpy()),
        }
    )


def processed_tables(world: World, source: str = "mal") -> dict[str, pd.DataFrame]:
    """All ground-truth tables, keyed by table name (the five processed ones first)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    return without_private_users(
        world,
        {
            "anime": anime_table(world),
            "user": user_table(world),
            "user_anime": user_anime_table(world, source),
            "anime_anime": anime_anime_table(world),
            "user_user": user_user_table(world),
            "reviews": reviews_table(world, source),
            "history": history_table(world),
        },
    )


def without_private_users(world: World, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The world as a crawl can know it: users whose list turned private (evolve.py) are gone
    from the processed tables, with their list rows and friendships (on either side). Anime
    aggregates still count them, as MAL's do; their reviews stay, as reviews do."""
    if "private" not in world.users or not world.users["private"].any():
        return tables
    hidden = set(world.users.loc[world.users["private"].to_numpy(bool), "username"])
    user_anime = tables["user_anime"]
    user_anime = user_anime[~user_anime["user_id"].isin(hidden)].reset_index(drop=True)
    user_anime["user_id"] = user_anime["user_id"].cat.remove_unused_categories()
    friends = tables["user_user"]
    friends = friends[~(friends["userA"].isin(hidden) | friends["userB"].isin(hidden))]
    users = tables["user"]
    return {
        **tables,
        "user": users[~users["user_id"].isin(hidden)].reset_index(drop=True),
        "user_anime": user_anime,
        "user_user": friends.reset_index(drop=True),
    }


def write_parquet(tables: dict[str, pd.DataFrame], out_dir: Path) -> dict[str, Path]:
    """One Parquet file per table; the folder is created, existing files are replaced."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, table in tables.items():
        path = out_dir / f"{name}.parquet"
        table.to_parquet(path, index=False)
        written[name] = path
    return written
