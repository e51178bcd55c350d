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
        rows = one_chunk.execute(f'SELECT count(*) FROM landing."{table}"').fetchone()[0]
        assert rows > 0 or table == "page_gone", table  # a generated world loses no page
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


def test_every_set_row_belongs_to_a_complete_snapshot(one_chunk: duckdb.DuckDBPyConnection) -> None:
    """Each profile and anime crawl closes its sets with a complete crawl_snapshot row whose
    item_count is what the crawl listed, so staging treats the world like a real crawl."""
    for table, parent_kind, parent_column, set_name in (
        ("user_anime", "user", "user_id", "user_anime"),
        ("user_user", "user", "userA", "user_user"),
        ("anime_relation", "anime", "animeA", "anime_relation"),
        ("anime_recommendation", "anime", "animeA", "anime_recommendation"),
    ):
        mismatched = one_chunk.execute(
            f"""
            WITH listed AS (
                SELECT CAST({parent_column} AS VARCHAR) AS parent_id, snapshot_id, count(*) AS n
                FROM landing.{table} GROUP BY ALL)
            SELECT count(*) FROM listed
            LEFT JOIN landing.crawl_snapshot s
                ON s.parent_kind = '{parent_kind}' AND s.set_name = '{set_name}'
                AND s.parent_id = listed.parent_id AND s.snapshot_id = listed.snapshot_id
            WHERE s.complete IS DISTINCT FROM 1 OR s.item_count <> listed.n"""
        ).fetchone()[0]
        assert mismatched == 0, table
    per_parent = one_chunk.execute(
        "SELECT parent_kind, count(*) FROM landing.crawl_snapshot GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert per_parent == [("anime", 2 * ANIME), ("user", 2 * USERS)]


def test_a_recrawl_hour_moves_one_percent_of_the_world() -> None:
    from mal_replica.landing import write_recrawl_landing

    connection = _landing(USERS, USERS)
    summary = write_recrawl_landing(connection, user_fraction=0.1, anime_fraction=0.1, seed=4)
    assert 30 <= summary.users <= 90 and 10 <= summary.anime <= 50
    new = lambda table: connection.execute(  # noqa: E731
        f"SELECT * FROM landing.{table} WHERE crawl_hour = ?", [summary.crawl_hour]
    ).df()
    old_hours = connection.execute(
        "SELECT max(crawl_hour) FROM landing.user WHERE crawl_hour <> ?", [summary.crawl_hour]
    ).fetchone()[0]
    assert summary.crawl_hour > old_hours
    lists = new("user_anime")
    assert lists["snapshot_id"].nunique() == lists["user_id"].nunique() > 0
    snapshots = new("crawl_snapshot")
    assert (snapshots["complete"] == 1).all()
    assert set(snapshots["set_name"]) == {
        "user_anime", "user_user", "anime_relation", "anime_recommendation"
    }  # fmt: skip
    gone = new("page_gone")
    crawled = set(new("user")["user_id"])
    assert not crawled & set(gone.loc[gone["parent_kind"] == "user", "parent_id"])
    assert summary.rows["user"] == len(crawled)
