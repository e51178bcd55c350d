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
