"""Landing tables typed from the crawler's contract; frames that do not fit are refused."""

import duckdb
import pandas as pd
import pytest

from animerec_assets.contracts.landing import LANDING_COLUMNS
from animerec_assets.lib.landing_tables import LandingContractError, append_landing


def test_append_creates_typed_table_and_fills_missing_columns_with_null() -> None:
    with duckdb.connect() as connection:
        written = append_landing(
            connection, "user_anime", pd.DataFrame([{"anime_id": 1, "user_id": "alice"}])
        )
        assert written == 1
        described = connection.execute('describe landing."user_anime"').fetchall()
        assert [(row[0], row[1]) for row in described] == LANDING_COLUMNS["user_anime"]
        row = connection.execute('select user_id, anime_id, score from landing."user_anime"')
        assert row.fetchall() == [("alice", 1, None)]


def test_unknown_columns_and_tables_are_refused_and_nothing_is_written() -> None:
    with duckdb.connect() as connection:
        with pytest.raises(LandingContractError, match="no columns"):
            append_landing(connection, "anime", pd.DataFrame([{"anime_id": 1, "typo": 2}]))
        with pytest.raises(LandingContractError, match="unknown landing table"):
            append_landing(connection, "animes", pd.DataFrame([{"anime_id": 1}]))
        tables = connection.execute("select count(*) from duckdb_tables()").fetchone()[0]
        assert tables == 0


def test_a_table_from_an_older_contract_gains_the_new_columns_in_place() -> None:
    """landing.anime as it was before the age rating (and before item ids): its rows stay,
    the table takes the contract's column order, the new columns are NULL for the old rows."""
    older = [
        (name, sql_type)
        for name, sql_type in LANDING_COLUMNS["anime"]
        if name not in ("rating", "item_id")
    ]
    with duckdb.connect() as connection:
        connection.execute("create schema landing")
        columns = ", ".join(f'"{name}" {sql_type}' for name, sql_type in older)
        connection.execute(f'create table landing."anime" ({columns})')
        connection.execute(
            "insert into landing.\"anime\" (anime_id, title, crawl_hour) values (1, 'Old', 'h0')"
        )
        new = pd.DataFrame([{"anime_id": 2, "title": "New", "rating": "Rx - Hentai"}])
        assert append_landing(connection, "anime", new) == 1
        described = connection.execute('describe landing."anime"').fetchall()
        assert [(row[0], row[1]) for row in described] == LANDING_COLUMNS["anime"]
        rows = connection.execute(
            'select anime_id, title, rating, item_id from landing."anime" order by anime_id'
        ).fetchall()
        assert rows == [(1, "Old", None, None), (2, "New", "Rx - Hentai", None)]
