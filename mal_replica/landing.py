"""The replica's world written straight into the landing tables, in chunks of users.

A full crawl of the replica at MAL size takes days; the scale work needs what such a crawl
would have left in landing, now. This writes the world model of ``mal_replica.world`` in the
exact layout of the landing contract (``animerec_assets.contracts.landing``: canonical URLs,
ISO date strings at the precision the pages print, lists as lists), without serving or parsing
a page.

Why chunks: ``generate_world`` holds every row of every table at once (200k users peaked at
4.2 GB), so a million users do not fit. Here the anime catalogue (and everything about anime:
relations, recommendations, pictures, anime clubs) is generated once, exactly as
``generate_world`` would for the seed; users then come in chunks, each drawn by the world's own
generators from a per-chunk seed, and only per-anime counters survive a chunk. Peak memory
is one chunk plus the catalogue, whatever the total.

What chunking changes, on purpose: the first chunk is exactly ``generate_world``'s users
(a world that fits in one chunk is identical row for row); friendships and user clubs stay
inside a chunk; usernames that collide with an earlier chunk get ``-<row>`` appended (a
form no generated name has); review ids continue across chunks. Anime aggregates (status
counts, score histogram, members, favorites, ranks) count every chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from animerec_assets.contracts.landing import LANDING_COLUMNS
from mal_replica import generators as gen
from mal_replica import text, vocab
from mal_replica.export import CDN, MAL, SCORE_COLUMNS, lists_by
from mal_replica.params import WorldError, resolve_params
from mal_replica.world import World

LANDING_SCHEMA = "landing"
# Every table a crawl fills; crawl errors do not happen in a generated world.
LANDING_TABLES = tuple(table for table in LANDING_COLUMNS if table != "crawl_error")
DEFAULT_CHUNK_USERS = 50_000
ISO_SECONDS = "%Y-%m-%dT%H:%M:%S+00:00"
ISO_DAY = "%Y-%m-%d"
CRAWL_HOUR = "%Y-%m-%d-%H:00"

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class LandingSummary:
    """What was written: rows per landing table, users, chunks."""

    rows: dict[str, int]
    users: int
    anime: int
    chunks: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def chunk_sizes(n_users: int, chunk_users: int) -> list[int]:
    """Users per chunk: full chunks, then the remainder."""
    if chunk_users < 1:
        raise WorldError(f"chunk_users must be at least 1, got {chunk_users}")
    full, rest = divmod(n_users, chunk_users)
    return [chunk_users] * full + ([rest] if rest else [])


def disambiguate_usernames(names: np.ndarray, first_row: int, seen: set[str]) -> np.ndarray:
    """Rename the names an earlier chunk already used (MAL matches names case-insensitively).

    ``-<global row>`` cannot collide: generated names never end in '-' followed by digits
    only, and rows are unique. Names are cut to 16 characters, MAL's limit.
    """
    lowered = [name.lower() for name in names]
    clash = np.fromiter((name in seen for name in lowered), dtype=bool, count=len(lowered))
    out = names.copy()
    for row in np.nonzero(clash)[0]:
        suffix = f"-{first_row + row}"
        out[row] = names[row][: 16 - len(suffix)] + suffix
    seen.update(name.lower() for name in out)
    return out


# --------------------------------------------------------------------------------------------
# DuckDB helpers: frames are registered, then turned into landing rows by SQL


def _iso(column: str, unit: str = "minute", fmt: str = ISO_SECONDS) -> str:
    return f"strftime(date_trunc('{unit}', epoch_ms(({column}) * 1000)), '{fmt}')"


def _crawl_columns(crawl_ts: str) -> str:
    """crawl_date, source and crawl_hour of the (simulated) fetch at ``crawl_ts`` seconds."""
    return (
        f"strftime(epoch_ms(({crawl_ts}) * 1000), '{ISO_SECONDS}') AS crawl_date, "
        f"'mal' AS source, strftime(epoch_ms(({crawl_ts}) * 1000), '{CRAWL_HOUR}') AS crawl_hour"
    )


def _snapshot_id(kind: str, parent: str, crawl_ts: str) -> str:
    """One id per parent crawl, shared by the sets that crawl read (docs/data_contracts.md)."""
    return f"{kind} || ':' || {parent} || ':' || cast({crawl_ts} AS BIGINT)"


def _insert(connection: duckdb.DuckDBPyConnection, table: str, select: str) -> int:
    inserted = connection.execute(
        f'INSERT INTO {LANDING_SCHEMA}."{table}" BY NAME {select}'
    ).fetchone()
    return int(inserted[0]) if inserted else 0


def _create_landing(connection: duckdb.DuckDBPyConnection) -> None:
    from animerec_assets.lib.landing_tables import landing_ddl

    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {LANDING_SCHEMA}")
    for table in LANDING_TABLES:
        connection.execute(landing_ddl(table))


# --------------------------------------------------------------------------------------------
# users, one chunk at a time


def _write_user_chunk(
    connection: duckdb.DuckDBPyConnection,
    world: World,
    anime_ids: np.ndarray,
    first_row: int,
    rows: dict[str, int],
) -> None:
    """Every user-side landing table for the chunk's users (positions are chunk-local)."""
    users = world.users
    now = world.params.now_ts
    # each profile fetched once on the day after the world's present, spread over the day
    crawl_ts = (now + (first_row + np.arange(len(users))) % 86_400).astype(np.int64)
    user_frame = pd.DataFrame(
        {
            "pos": np.arange(len(users), dtype=np.int32),
            "username": users["username"].to_numpy(),
            "crawl_ts": crawl_ts,
            "last_online_ts": users["last_online_ts"].to_numpy(),
            "join_ts": users["join_ts"].to_numpy(),
            **{
                f"num_{name}": users[f"num_{name}"].to_numpy()
                for name in vocab.STATUS_NAMES.values()
            },
            "num_days": users["num_days"].to_numpy(),
            "mean_score": users["mean_score"].to_numpy(),
        }
    )
    clubs = world.clubs
    member_frame = pd.DataFrame(
        {
            "user": world.club_members["user"].to_numpy(),
            "club_name": clubs["name"].to_numpy()[world.club_members["club"].to_numpy()],
        }
    )
    favorite_frame = pd.DataFrame(
        {
            "user": world.favorites["user"].to_numpy(),
            "anime_id": anime_ids[world.favorites["anime"].to_numpy()],
            "rank": world.favorites["rank"].to_numpy(),
        }
    )
    lists = world.lists
    list_frame = pd.DataFrame(
        {
            "user": lists["user"].to_numpy(),
            "anime_id": anime_ids[lists["anime"].to_numpy()],
            "score": lists["score"].to_numpy(),
            "status": lists["status"].to_numpy(),
            "progress": lists["progress"].to_numpy(),
            "updated_ts": lists["updated_ts"].to_numpy(),
        }
    )
    history = world.history
    history_frame = pd.DataFrame(
        {
            "user": history["user"].to_numpy(),
            "anime_id": anime_ids[history["anime"].to_numpy()],
            "episode": history["episode"].to_numpy(),
            "watched_ts": history["watched_ts"].to_numpy(),
        }
    )
    friends = world.friendships
    friend_frame = pd.DataFrame(
        {
            "a": np.r_[friends["a"].to_numpy(), friends["b"].to_numpy()],
            "b": np.r_[friends["b"].to_numpy(), friends["a"].to_numpy()],
            "since_ts": np.r_[friends["since_ts"].to_numpy(), friends["since_ts"].to_numpy()],
        }
    )
    reviews = world.reviews
    review_frame = pd.DataFrame(
        {
            "review_id": reviews["review_id"].to_numpy(),
            "user": reviews["user"].to_numpy(),
            "anime_id": anime_ids[reviews["anime"].to_numpy()],
            "review_ts": reviews["review_ts"].to_numpy(),
            "reactions": reviews["reactions"].to_numpy(),
            "score": reviews["score"].to_numpy(),
            "tag": reviews["tag"].to_numpy(),
            "preliminary": reviews["preliminary"].to_numpy(),
        }
    )
    # MAL's status codes index this list (1-based; code 5 is unused)
    status_names = ", ".join(
        f"'{vocab.STATUS_NAMES[code]}'" if code in vocab.STATUS_NAMES else "NULL"
        for code in range(1, gen.STATUS_CODES)
    )
    frames = {
        "_users": user_frame,
        "_members": member_frame,
        "_favorites": favorite_frame,
        "_lists": list_frame,
        "_history": history_frame,
        "_friends": friend_frame,
        "_reviews": review_frame,
    }
    for name, frame in frames.items():
        connection.register(name, frame)
    profile = f"'{MAL}/profile/' || u.username"
    crawl = _crawl_columns("u.crawl_ts")
    snapshot = _snapshot_id("'user'", "u.username", "u.crawl_ts")
    statements = {
        "user": f"""
            WITH club_lists AS (
                SELECT "user", list(club_name ORDER BY club_name) AS clubs
                FROM _members GROUP BY "user"),
            favorite_lists AS (
                SELECT "user", list(anime_id ORDER BY rank) AS ids
                FROM _favorites GROUP BY "user")
            SELECT {crawl}, {profile} AS url, u.username AS user_id, {profile} AS user_url,
                {_iso("u.last_online_ts")} AS last_online_date,
                {_iso("u.join_ts", "day", ISO_DAY)} AS join_date,
                u.num_watching, u.num_completed, u.num_on_hold, u.num_dropped,
                u.num_plan_to_watch, u.num_days, u.mean_score,
                coalesce(c.clubs, []::VARCHAR[]) AS clubs,
                coalesce(f.ids, []::BIGINT[]) AS favorite_anime_ids
            FROM _users u
            LEFT JOIN club_lists c ON c."user" = u.pos
            LEFT JOIN favorite_lists f ON f."user" = u.pos
            ORDER BY u.pos""",
        "user_anime": f"""
            SELECT {crawl}, {profile} AS url, u.username AS user_id, l.anime_id, l.score,
                [{status_names}][l.status] AS status, l.progress,
                {_iso("l.updated_ts")} AS last_interaction_date, {snapshot} AS snapshot_id
            FROM _lists l JOIN _users u ON u.pos = l."user"
            ORDER BY l."user", l.anime_id""",
        "user_history": f"""
            SELECT {crawl}, {profile} AS url, u.username AS user_id, h.anime_id, h.episode,
                {_iso("h.watched_ts")} AS history_date
            FROM _history h JOIN _users u ON u.pos = h."user"
            ORDER BY h."user", h.watched_ts DESC""",
        "user_user": f"""
            SELECT {crawl}, {profile} AS url, u.username AS userA, v.username AS userB,
                {_iso("f.since_ts")} AS friendship_date, {snapshot} AS snapshot_id
            FROM _friends f JOIN _users u ON u.pos = f.a JOIN _users v ON v.pos = f.b
            ORDER BY f.a, f.b""",
        "review": f"""
            SELECT {crawl}, '{MAL}/reviews.php?id=' || r.review_id AS url, r.review_id,
                r.anime_id, u.username AS user_id,
                {_iso("r.review_ts", "day", ISO_DAY)} AS review_date,
                r.reactions AS review_num_useful, r.score AS review_score,
                CASE WHEN r.preliminary THEN [r.tag, 'preliminary'] ELSE [r.tag] END
                    AS review_tags
            FROM _reviews r JOIN _users u ON u.pos = r."user"
            ORDER BY r.review_id""",
        # every profile crawl read its whole list and friends: complete snapshots
        "crawl_snapshot": f"""
            WITH list_sizes AS (SELECT "user", count(*) AS n FROM _lists GROUP BY "user"),
            friend_counts AS (SELECT a AS "user", count(*) AS n FROM _friends GROUP BY a),
            sets AS (
                SELECT u.pos, 'user_anime' AS set_name, coalesce(l.n, 0) AS item_count
                FROM _users u LEFT JOIN list_sizes l ON l."user" = u.pos
                UNION ALL
                SELECT u.pos, 'user_user', coalesce(f.n, 0)
                FROM _users u LEFT JOIN friend_counts f ON f."user" = u.pos)
            SELECT {crawl}, {profile} AS url, 'user' AS parent_kind, u.username AS parent_id,
                s.set_name, {snapshot} AS snapshot_id, 1 AS complete, s.item_count
            FROM sets s JOIN _users u ON u.pos = s.pos
            ORDER BY u.pos, s.set_name""",
    }
    try:
        for table, select in statements.items():
            rows[table] += _insert(connection, table, select)
    finally:
        for name in frames:
            connection.unregister(name)


# --------------------------------------------------------------------------------------------
# anime, once, after every chunk counted


def anime_landing_frames(
    anime: pd.DataFrame,
    relations: pd.DataFrame,
    recommendations: pd.DataFrame,
    pictures: pd.DataFrame,
    clubs: pd.DataFrame,
    club_anime: pd.DataFrame,
    crawl_ts: int,
) -> dict[str, pa.Table]:
    """The anime-side landing tables (tens of thousands of rows: Python lists are fine)."""
    n = len(anime)
    ids = anime["anime_id"].to_numpy().astype(np.int64)
    url = np.asarray([f"{MAL}/anime/{i}" for i in ids], dtype=object)
    crawl_date = pd.Timestamp(crawl_ts, unit="s").strftime(ISO_SECONDS)
    crawl_hour = pd.Timestamp(crawl_ts, unit="s").strftime(CRAWL_HOUR)

    def table(columns: dict[str, object], types: dict[str, pa.DataType]) -> pa.Table:
        length = len(next(iter(columns.values())))
        common = {
            "crawl_date": pa.array([crawl_date] * length, pa.string()),
            "source": pa.array(["mal"] * length, pa.string()),
            "crawl_hour": pa.array([crawl_hour] * length, pa.string()),
        }
        arrays = {name: pa.array(values, types.get(name)) for name, values in columns.items()}
        return pa.table({**common, **arrays})

    pic_url = (
        CDN
        + "/images/anime/"
        + pictures["bucket"].astype(str)
        + "/"
        + pictures["pic_id"].astype(str)
        + ".jpg"
    ).to_numpy()
    pics = lists_by(pictures["anime"].to_numpy(), pic_url, n)
    club_names = lists_by(
        club_anime["anime"].to_numpy(),
        clubs["name"].to_numpy()[club_anime["club"].to_numpy()],
        n,
    )
    types = anime["type"].to_numpy()
    episodes = anime["num_episodes"].to_numpy()
    start = anime["start_ts"].to_numpy()
    end = anime["end_ts"].to_numpy()
    no_end = (end < 0) | text.single_date(types, episodes)
    day = ISO_DAY
    score_count = anime["score_count"].to_numpy()
    score_rank = anime["score_rank"].to_numpy()
    strings = pa.list_(pa.string())
    frames = {
        "anime": table(
            {
                "url": url,
                "anime_id": ids,
                "anime_url": url,
                "title": anime["title"].to_numpy(),
                "synopsis": [
                    text.synopsis(i, t, g)
                    for i, t, g in zip(ids, anime["title"], anime["genres"], strict=True)
                ],
                "main_pic": [p[0] if p else None for p in pics],
                "type": types,
                "source_type": anime["source"].to_numpy(),
                "num_episodes": [int(e) if e > 0 else None for e in episodes],
                "status": np.asarray(vocab.AIRING_STATUS, dtype=object)[
                    anime["airing_status"].to_numpy()
                ],
                "start_date": pd.to_datetime(start, unit="s").strftime(day).to_numpy(),
                "end_date": [
                    None if skip else pd.Timestamp(e, unit="s").strftime(day)
                    for e, skip in zip(end, no_end, strict=True)
                ],
                "premiered": [
                    text.season(s) if t == "TV" else None for s, t in zip(start, types, strict=True)
                ],
                "studios": list(anime["studios"]),
                "genres": list(anime["genres"]),
                "score": [
                    float(s) if c > 0 else None
                    for s, c in zip(anime["score"].to_numpy(), score_count, strict=True)
                ],
                "score_count": score_count,
                "score_rank": [int(r) if r > 0 else None for r in score_rank],
                "popularity_rank": anime["popularity_rank"].to_numpy(),
                "members_count": anime["members_count"].to_numpy(),
                "favorites_count": anime["favorites_count"].to_numpy(),
                "rating": anime["rating"].to_numpy(),
            },
            {
                "studios": strings,
                "genres": strings,
                "num_episodes": pa.int64(),
                "score": pa.float64(),
                "score_rank": pa.int64(),
                "end_date": pa.string(),
                "premiered": pa.string(),
                "main_pic": pa.string(),
            },
        ),
        "anime_stats": table(
            {
                "url": url,
                "anime_id": ids,
                **{
                    f"{name}_count": anime[f"{name}_count"].to_numpy()
                    for name in vocab.STATUS_NAMES.values()
                },
                "total_count": anime["total_count"].to_numpy(),
                **{column: anime[column].to_numpy() for column in SCORE_COLUMNS},
                "favorites_count": anime["favorites_count"].to_numpy(),
            },
            {},
        ),
        "anime_pics": table(
            {"url": url + "/pics", "anime_id": ids, "pics": pics}, {"pics": strings}
        ),
        "anime_clubs": table(
            {"url": url + "/clubs", "anime_id": ids, "clubs": club_names}, {"clubs": strings}
        ),
    }
    # one id per anime page crawl, on every set row it listed
    snapshot_ids = np.asarray([f"anime:{i}:{crawl_ts}" for i in ids], dtype=object)
    rel_a, rel_b = ids[relations["a"].to_numpy()], ids[relations["b"].to_numpy()]
    frames["anime_relation"] = table(
        {
            "url": url[relations["a"].to_numpy()],
            "animeA": rel_a,
            "animeB": rel_b,
            "relation_type": relations["relation_type"].to_numpy(),
            "snapshot_id": snapshot_ids[relations["a"].to_numpy()],
        },
        {"relation_type": pa.string(), "snapshot_id": pa.string()},
    )
    # a recommendation pair shows on both anime's pages: one row per direction
    rec_a, rec_b = ids[recommendations["a"].to_numpy()], ids[recommendations["b"].to_numpy()]
    low, high = np.minimum(rec_a, rec_b), np.maximum(rec_a, rec_b)
    pair_url = np.asarray(
        [f"{MAL}/recommendations/anime/{lo}-{hi}" for lo, hi in zip(low, high, strict=True)],
        dtype=object,
    )
    recommenders = recommendations["num_recommenders"].to_numpy().astype(np.int64)
    page_rows = np.r_[recommendations["a"].to_numpy(), recommendations["b"].to_numpy()]
    frames["anime_recommendation"] = table(
        {
            "url": url[page_rows] + "/userrecs",
            "animeA": np.r_[rec_a, rec_b],
            "animeB": np.r_[rec_b, rec_a],
            "recommendation_url": np.r_[pair_url, pair_url],
            "num_recommenders": np.r_[recommenders, recommenders],
            "snapshot_id": snapshot_ids[page_rows],
        },
        {"snapshot_id": pa.string()},
    )
    # every anime page crawl read its whole related and recommended lists
    relation_counts = np.bincount(relations["a"].to_numpy(), minlength=n)
    recommendation_counts = np.bincount(page_rows, minlength=n)
    frames["crawl_snapshot"] = table(
        {
            "url": np.r_[url, url + "/userrecs"],
            "parent_kind": np.full(2 * n, "anime", dtype=object),
            "parent_id": np.r_[ids, ids].astype(str).astype(object),
            "set_name": np.r_[
                np.full(n, "anime_relation", dtype=object),
                np.full(n, "anime_recommendation", dtype=object),
            ],
            "snapshot_id": np.r_[snapshot_ids, snapshot_ids],
            "complete": np.ones(2 * n, dtype=np.int64),
            "item_count": np.r_[relation_counts, recommendation_counts].astype(np.int64),
        },
        {},
    )
    return frames


# --------------------------------------------------------------------------------------------


def write_world_landing(
    connection: duckdb.DuckDBPyConnection,
    n_users: int,
    n_anime: int,
    seed: int = 0,
    chunk_users: int = DEFAULT_CHUNK_USERS,
    progress: ProgressCallback | None = None,
    **overrides: object,
) -> LandingSummary:
    """Append the world for ``seed`` to every landing table; ``progress(users)`` per chunk.

    ``overrides`` set any other ``WorldParams`` field (e.g. ``mean_list_size``). Raises
    ``WorldError`` before writing anything when the parameters cannot describe a world.
    """
    params = resolve_params(n_users, n_anime, seed, dict(overrides))
    sizes = chunk_sizes(n_users, chunk_users)
    _create_landing(connection)
    rngs = gen.component_rngs(params.seed)
    anime = gen.generate_anime(params, rngs["anime"])
    gen.rate_adult_anime(anime, params.adult_share, rngs["ratings"])
    franchise_root, relations = gen.generate_franchises(params, anime, rngs["franchise"])
    gen.add_titles(anime, franchise_root, rngs["names"])
    anime_ids = anime["anime_id"].to_numpy().astype(np.int64)

    counts = np.zeros((n_anime, gen.STATUS_CODES, gen.SCORES), dtype=np.int64)
    favorites_count = np.zeros(n_anime, dtype=np.int64)
    rows = dict.fromkeys(LANDING_TABLES, 0)
    seen_names: set[str] = set()
    next_review_id = 0
    first_row = 0
    anime_side: dict[str, pd.DataFrame] = {}
    for index, size in enumerate(sizes):
        # chunk 0 is generate_world's own users; later chunks draw from their own seed
        chunk_rngs = rngs if index == 0 else gen.component_rngs([params.seed, index])
        chunk_params = replace(params, n_users=size)
        users = gen.generate_users(chunk_params, chunk_rngs["users"], chunk_rngs["names"])
        if index > 0:
            users["username"] = disambiguate_usernames(
                users["username"].to_numpy(), first_row, seen_names
            )
        else:
            seen_names.update(name.lower() for name in users["username"])
        lists = gen.generate_lists(chunk_params, anime, users, chunk_rngs["lists"])
        favorites = gen.generate_favorites(chunk_params, lists, size, chunk_rngs["favorites"])
        history = gen.generate_history(chunk_params, lists, chunk_rngs["history"])
        friendships = gen.generate_friendships(chunk_params, users, chunk_rngs["friends"])
        reviews = gen.generate_reviews(chunk_params, lists, size, chunk_rngs["reviews"])
        if len(reviews):
            reviews["review_id"] += max(0, next_review_id - int(reviews["review_id"].min()))
            next_review_id = int(reviews["review_id"].max()) + 1
        clubs, club_anime, club_members = gen.generate_clubs(
            chunk_params, anime, users, chunk_rngs["clubs"]
        )
        if index == 0:
            anime_side = {
                "recommendations": gen.generate_recommendations(
                    params, anime, users, rngs["recommendations"]
                ),
                "clubs": clubs,
                "club_anime": club_anime,
                "pictures": gen.generate_pictures(anime, rngs["pictures"]),
            }
        gen.user_statistics(users, anime, lists, favorites)
        counts += gen.list_counters(lists, n_anime)
        favorites_count += np.bincount(favorites["anime"].to_numpy(), minlength=n_anime)
        chunk_world = World(
            params=chunk_params,
            anime=anime,
            users=users,
            lists=lists,
            favorites=favorites,
            relations=relations,
            recommendations=pd.DataFrame(),
            reviews=reviews,
            history=history,
            friendships=friendships,
            clubs=clubs,
            club_anime=club_anime,
            club_members=club_members,
            pictures=pd.DataFrame(),
        )
        _write_user_chunk(connection, chunk_world, anime_ids, first_row, rows)
        first_row += size
        del chunk_world, users, lists, favorites, history, friendships, reviews
        if progress is not None:
            progress(size)

    gen.anime_statistics(anime, counts, favorites_count)
    frames = anime_landing_frames(
        anime,
        relations,
        anime_side["recommendations"],
        anime_side["pictures"],
        anime_side["clubs"],
        anime_side["club_anime"],
        crawl_ts=params.now_ts,
    )
    for table, frame in frames.items():
        connection.register("_anime_frame", frame)
        try:
            rows[table] += _insert(connection, table, "SELECT * FROM _anime_frame")
        finally:
            connection.unregister("_anime_frame")
    return LandingSummary(rows=rows, users=n_users, anime=n_anime, chunks=len(sizes))


# --------------------------------------------------------------------------------------------
# a later crawl hour: some profiles and anime crawled again, after the world moved


@dataclass(frozen=True)
class RecrawlSummary:
    """What one re-crawl hour wrote: its partition, rows per table, parents crawled again."""

    crawl_hour: str
    rows: dict[str, int]
    users: int
    anime: int


def _pick(column: str, seed: int, per_10k: int) -> str:
    """A stable pseudo-random pick of ``per_10k`` in 10 000 keys (DuckDB's hash)."""
    return f"hash(cast({column} AS VARCHAR) || ':{seed}') % 10000 < {per_10k}"


def write_recrawl_landing(
    connection: duckdb.DuckDBPyConnection,
    user_fraction: float = 0.01,
    anime_fraction: float = 0.01,
    seed: int = 1,
    gone_fraction: float = 0.02,
) -> RecrawlSummary:
    """Append one new crawl hour to landing: ``user_fraction`` of the profiles and
    ``anime_fraction`` of the anime crawled again, one hour after the newest crawl so far, with
    the world moved in between (as the benchmark's incremental hour).

    Each re-crawled profile drops ~10 % of its list, rescores ~10 %, adds two anime, ends ~20 %
    of its friendships and changes its mean score; each re-crawled anime gains members and loses
    ~20 % of its recommendations. ``gone_fraction`` of them answer 404 / "private" instead.
    Every re-crawl is a complete snapshot. Derived from each parent's newest crawl in landing,
    in SQL: a million users take seconds.
    """
    if not (0 <= user_fraction <= 1 and 0 <= anime_fraction <= 1 and 0 <= gone_fraction <= 1):
        raise WorldError("fractions must lie in [0, 1]")
    users_10k = round(user_fraction * 10_000)
    anime_10k = round(anime_fraction * 10_000)
    gone_10k = round(gone_fraction * 10_000)
    newest = connection.execute(
        f"SELECT max(epoch(CAST(crawl_date AS TIMESTAMPTZ))) FROM {LANDING_SCHEMA}.user"
    ).fetchone()[0]
    anime_newest = connection.execute(
        f"SELECT max(epoch(CAST(crawl_date AS TIMESTAMPTZ))) FROM {LANDING_SCHEMA}.anime"
    ).fetchone()[0]
    crawl_ts = int(max(newest or 0, anime_newest or 0) // 3600 + 1) * 3600
    crawl = _crawl_columns(f"CAST({crawl_ts} AS BIGINT)")
    crawl_date = pd.Timestamp(crawl_ts, unit="s").strftime(ISO_SECONDS)
    crawl_hour = pd.Timestamp(crawl_ts, unit="s").strftime(CRAWL_HOUR)
    rows: dict[str, int] = {}
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE _recrawl_users AS
        SELECT user_id, {_pick("user_id", seed + 1, gone_10k)} AS gone,
            max(crawl_date) AS crawled
        FROM {LANDING_SCHEMA}.user WHERE {_pick("user_id", seed, users_10k)}
        GROUP BY user_id"""
    )
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE _recrawl_anime AS
        SELECT anime_id, {_pick("anime_id", seed + 1, gone_10k)} AS gone,
            max(crawl_date) AS crawled
        FROM {LANDING_SCHEMA}.anime WHERE {_pick("anime_id", seed, anime_10k)}
        GROUP BY anime_id"""
    )
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE _recrawl_lists AS
        SELECT t.* FROM {LANDING_SCHEMA}.user_anime t
        JOIN _recrawl_users r ON r.user_id = t.user_id
        WHERE r.crawled = t.crawl_date AND NOT r.gone"""
    )
    catalogue = connection.execute(
        f"SELECT count(DISTINCT anime_id) FROM {LANDING_SCHEMA}.anime"
    ).fetchone()[0]
    user_snapshot = _snapshot_id("'user'", "r.user_id", str(crawl_ts))
    anime_snapshot = _snapshot_id("'anime'", "r.anime_id", str(crawl_ts))
    newest_rows = "r.crawled = t.crawl_date AND NOT r.gone"
    entry = "t.user_id || ':' || CAST(t.anime_id AS VARCHAR)"
    pair = "CAST(t.animeA AS VARCHAR) || ':' || CAST(t.animeB AS VARCHAR)"
    statements = {
        "page_gone": f"""
            SELECT {crawl}, '{MAL}/profile/' || r.user_id AS url, 'user' AS parent_kind,
                r.user_id AS parent_id, 'private' AS reason, 200 AS status_code
            FROM _recrawl_users r WHERE r.gone
            UNION ALL BY NAME
            SELECT {crawl}, '{MAL}/anime/' || r.anime_id AS url, 'anime' AS parent_kind,
                CAST(r.anime_id AS VARCHAR) AS parent_id, 'not_found' AS reason,
                404 AS status_code
            FROM _recrawl_anime r WHERE r.gone""",
        "user": f"""
            SELECT t.* REPLACE (
                '{crawl_date}' AS crawl_date,
                '{crawl_hour}' AS crawl_hour,
                CASE WHEN t.mean_score BETWEEN 1 AND 9.9 THEN t.mean_score + 0.1
                     ELSE t.mean_score END AS mean_score)
            FROM {LANDING_SCHEMA}.user t JOIN _recrawl_users r ON r.user_id = t.user_id
            WHERE {newest_rows}""",
        "user_anime": f"""
            SELECT t.* REPLACE (
                '{crawl_date}' AS crawl_date,
                '{crawl_hour}' AS crawl_hour,
                CASE WHEN {_pick(entry, seed + 2, 1000)}
                     THEN t.score % 10 + 1 ELSE t.score END AS score,
                {user_snapshot} AS snapshot_id)
            FROM _recrawl_lists t JOIN _recrawl_users r ON r.user_id = t.user_id
            WHERE NOT {_pick(entry, seed + 3, 1000)}
            UNION ALL BY NAME
            SELECT {crawl}, '{MAL}/profile/' || r.user_id AS url, r.user_id,
                a.anime_id, 8 AS score, 'watching' AS status, 1 AS progress,
                strftime(to_timestamp({crawl_ts}), '{ISO_SECONDS}') AS last_interaction_date,
                {user_snapshot} AS snapshot_id
            FROM _recrawl_users r
            CROSS JOIN (SELECT unnest([0, 1]) AS k) AS extra
            JOIN (SELECT anime_id, row_number() OVER (ORDER BY anime_id) - 1 AS position
                  FROM (SELECT DISTINCT anime_id FROM {LANDING_SCHEMA}.anime)) AS a
                ON a.position = hash(r.user_id || ':' || extra.k || ':{seed}') % {max(catalogue, 1)}
            WHERE NOT r.gone
                AND NOT EXISTS (
                    SELECT 1 FROM _recrawl_lists t
                    WHERE t.user_id = r.user_id AND t.anime_id = a.anime_id)""",
        "user_user": f"""
            SELECT t.* REPLACE (
                '{crawl_date}' AS crawl_date,
                '{crawl_hour}' AS crawl_hour,
                {user_snapshot} AS snapshot_id)
            FROM {LANDING_SCHEMA}.user_user t JOIN _recrawl_users r ON r.user_id = t.userA
            WHERE {newest_rows} AND NOT {_pick("t.userA || ':' || t.userB", seed + 4, 2000)}""",
        "anime": f"""
            SELECT t.* REPLACE (
                '{crawl_date}' AS crawl_date,
                '{crawl_hour}' AS crawl_hour,
                t.members_count + 100 AS members_count)
            FROM {LANDING_SCHEMA}.anime t JOIN _recrawl_anime r ON r.anime_id = t.anime_id
            WHERE {newest_rows}""",
        "anime_stats": _copy_recrawled_anime("anime_stats", "anime_id", crawl_date, crawl_hour),
        "anime_pics": _copy_recrawled_anime("anime_pics", "anime_id", crawl_date, crawl_hour),
        "anime_clubs": _copy_recrawled_anime("anime_clubs", "anime_id", crawl_date, crawl_hour),
        "anime_relation": f"""
            SELECT t.* REPLACE (
                '{crawl_date}' AS crawl_date,
                '{crawl_hour}' AS crawl_hour, {anime_snapshot} AS snapshot_id)
            FROM {LANDING_SCHEMA}.anime_relation t
            JOIN _recrawl_anime r ON r.anime_id = t.animeA
            WHERE NOT r.gone AND t.crawl_date = (
                SELECT max(crawl_date) FROM {LANDING_SCHEMA}.anime_relation s
                WHERE s.animeA = t.animeA)""",
        "anime_recommendation": f"""
            SELECT t.* REPLACE (
                '{crawl_date}' AS crawl_date,
                '{crawl_hour}' AS crawl_hour, t.num_recommenders + 1 AS num_recommenders,
                {anime_snapshot} AS snapshot_id)
            FROM {LANDING_SCHEMA}.anime_recommendation t
            JOIN _recrawl_anime r ON r.anime_id = t.animeA
            WHERE NOT r.gone
                AND NOT {_pick(pair, seed + 5, 2000)}
                AND t.crawl_date = (
                    SELECT max(crawl_date) FROM {LANDING_SCHEMA}.anime_recommendation s
                    WHERE s.animeA = t.animeA)""",
    }
    for table, select in statements.items():
        rows[table] = _insert(connection, table, select)
    # the re-crawls just written read whole sets: complete snapshots with their sizes
    rows["crawl_snapshot"] = _insert(
        connection,
        "crawl_snapshot",
        f"""
        SELECT {crawl}, '{MAL}/profile/' || r.user_id AS url, 'user' AS parent_kind,
            r.user_id AS parent_id, s.set_name, {user_snapshot} AS snapshot_id, 1 AS complete,
            CASE s.set_name
                WHEN 'user_anime' THEN (SELECT count(*) FROM {LANDING_SCHEMA}.user_anime t
                    WHERE t.crawl_hour = '{crawl_hour}' AND t.user_id = r.user_id)
                ELSE (SELECT count(*) FROM {LANDING_SCHEMA}.user_user t
                    WHERE t.crawl_hour = '{crawl_hour}' AND t.userA = r.user_id)
            END AS item_count
        FROM _recrawl_users r CROSS JOIN (SELECT unnest(['user_anime', 'user_user']) AS set_name) s
        WHERE NOT r.gone
        UNION ALL BY NAME
        SELECT {crawl}, '{MAL}/anime/' || r.anime_id AS url, 'anime' AS parent_kind,
            CAST(r.anime_id AS VARCHAR) AS parent_id, s.set_name,
            {anime_snapshot} AS snapshot_id, 1 AS complete,
            CASE s.set_name
                WHEN 'anime_relation' THEN (SELECT count(*) FROM {LANDING_SCHEMA}.anime_relation t
                    WHERE t.crawl_hour = '{crawl_hour}' AND t.animeA = r.anime_id)
                ELSE (SELECT count(*) FROM {LANDING_SCHEMA}.anime_recommendation t
                    WHERE t.crawl_hour = '{crawl_hour}' AND t.animeA = r.anime_id)
            END AS item_count
        FROM _recrawl_anime r
        CROSS JOIN (SELECT unnest(['anime_relation', 'anime_recommendation']) AS set_name) s
        WHERE NOT r.gone""",
    )
    counted = connection.execute(
        "SELECT (SELECT count(*) FROM _recrawl_users), (SELECT count(*) FROM _recrawl_anime)"
    ).fetchone()
    for temp in ("_recrawl_users", "_recrawl_anime", "_recrawl_lists"):
        connection.execute(f"DROP TABLE {temp}")
    return RecrawlSummary(crawl_hour=crawl_hour, rows=rows, users=counted[0], anime=counted[1])


def _copy_recrawled_anime(table: str, key: str, crawl_date: str, crawl_hour: str) -> str:
    return f"""
        SELECT t.* REPLACE (
            '{crawl_date}' AS crawl_date, '{crawl_hour}' AS crawl_hour)
        FROM {LANDING_SCHEMA}.{table} t JOIN _recrawl_anime r ON r.anime_id = t.{key}
        WHERE NOT r.gone AND t.crawl_date = (
            SELECT max(crawl_date) FROM {LANDING_SCHEMA}.{table} s WHERE s.{key} = t.{key})"""
