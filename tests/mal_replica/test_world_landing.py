"""The world written into landing tables: the crawler's columns, the world's rows, any chunking."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from animerec_assets.contracts.landing import LANDING_COLUMNS
from mal_replica import vocab
from mal_replica.landing import LANDING_TABLES, chunk_sizes, write_world_landing
from mal_replica.params import WorldError
from mal_replica.world import generate_world

USERS, ANIME, SEED = 600, 300, 3


def _landing(n_users: int, chunk_users: int) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    write_world_landing(connection, n_users, ANIME, seed=SEED, chunk_users=chunk_users)
    return connection


@pytest.fixture(scope="module")
def one_chunk() -> duckdb.DuckDBPyConnection:
    return _landing(USERS, USERS)


@pytest.fixture(scope="module")
def chunked() -> duckdb.DuckDBPyConnection:
    return _landing(USERS, 250)  # 250 + 250 + 100


def _frame(connection: duckdb.DuckDBPyConnection, table: str):
    return connection.execute(f'SELECT * FROM landing."{table}"').df()


def test_columns_are_the_crawlers(one_chunk: duckdb.DuckDBPyConnection) -> None:
    for table in LANDING_TABLES:
        described = one_chunk.execute(f'DESCRIBE landing."{table}"').fetchall()
        assert [(name, kind) for name, kind, *_ in described] == LANDING_COLUMNS[table]
        assert one_chunk.execute(f'SELECT count(*) FROM landing."{table}"').fetchone()[0] > 0
        nulls = one_chunk.execute(
            f'SELECT count(*) FROM landing."{table}" '
            "WHERE crawl_date IS NULL OR crawl_hour IS NULL OR url IS NULL OR source <> 'mal'"
        ).fetchone()[0]
        assert nulls == 0, table


def test_one_chunk_is_generate_worlds_world(one_chunk: duckdb.DuckDBPyConnection) -> None:
    world = generate_world(USERS, ANIME, seed=SEED)
    names = world.users["username"].to_numpy()
    ids = world.anime["anime_id"].to_numpy()
    expected = {
        (names[u], int(ids[a]), int(s), vocab.STATUS_NAMES[int(st)], int(p))
        for u, a, s, st, p in world.lists[
            ["user", "anime", "score", "status", "progress"]
        ].itertuples(index=False)
    }
    landed = _frame(one_chunk, "user_anime")
    got = set(
        landed[["user_id", "anime_id", "score", "status", "progress"]].itertuples(index=False)
    )
    assert got == expected
    stats = _frame(one_chunk, "anime_stats").set_index("anime_id").sort_index()
    truth = world.anime.set_index("anime_id").sort_index()
    for column in ("completed_count", "total_count", "score_10_count", "score_01_count"):
        np.testing.assert_array_equal(stats[column].to_numpy(), truth[column].to_numpy())
    anime = _frame(one_chunk, "anime").set_index("anime_id").sort_index()
    np.testing.assert_array_equal(anime["popularity_rank"], truth["popularity_rank"])
    assert list(anime["title"]) == list(truth["title"])
    users = _frame(one_chunk, "user").set_index("user_id").loc[names]
    np.testing.assert_array_equal(users["num_completed"], world.users["num_completed"])
    assert len(_frame(one_chunk, "review")) == len(world.reviews)
    assert len(_frame(one_chunk, "user_user")) == 2 * len(world.friendships)


def test_chunks_keep_names_unique_and_counts_consistent(
    chunked: duckdb.DuckDBPyConnection,
) -> None:
    users = _frame(chunked, "user")
    assert len(users) == USERS
    assert users["user_id"].str.lower().is_unique
    assert users["user_id"].str.len().max() <= 16
    lists = _frame(chunked, "user_anime")
    per_user = lists.groupby("user_id").size()
    declared = users.set_index("user_id")[
        ["num_watching", "num_completed", "num_on_hold", "num_dropped", "num_plan_to_watch"]
    ].sum(axis=1)
    assert (declared[declared > 0] == per_user.reindex(declared[declared > 0].index)).all()
    # anime aggregates count every chunk's lists
    stats = _frame(chunked, "anime_stats").set_index("anime_id")
    members = lists.groupby("anime_id").size()
    assert stats["total_count"].sum() == len(lists)
    assert (stats.loc[members.index, "total_count"] == members).all()
    assert _frame(chunked, "review")["review_id"].is_unique
    friends = _frame(chunked, "user_user")
    assert set(friends["userA"]) <= set(users["user_id"])
    assert set(friends["userB"]) <= set(users["user_id"])


def test_dates_are_iso_strings_staging_can_cast(chunked: duckdb.DuckDBPyConnection) -> None:
    bad = chunked.execute(
        """SELECT count(*) FROM landing.user_anime
        WHERE TRY_CAST(last_interaction_date AS TIMESTAMPTZ) IS NULL
           OR TRY_CAST(crawl_date AS TIMESTAMPTZ) IS NULL"""
    ).fetchone()[0]
    assert bad == 0


def test_bad_parameters_write_nothing() -> None:
    connection = duckdb.connect()
    with pytest.raises(WorldError):
        write_world_landing(connection, 0, ANIME)
    with pytest.raises(WorldError, match="chunk_users"):
        write_world_landing(connection, 10, ANIME, chunk_users=0)
    tables = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'landing'"
    ).fetchone()[0]
    assert tables == 0


def test_chunk_sizes() -> None:
    assert chunk_sizes(10, 4) == [4, 4, 2]
    assert chunk_sizes(8, 4) == [4, 4]
    assert chunk_sizes(3, 10) == [3]
