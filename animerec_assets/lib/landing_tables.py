"""Landing tables in a DuckDB warehouse, typed from the crawler's contract.

The Dagster crawl asset writes landing through the IO manager after ``create_landing_tables``;
``append_landing`` is for the places that fill landing without it (the dbt benchmark's
synthetic world, test fixtures). Creating the tables from the landing contract
(``animerec_assets.contracts.landing``) keeps their types the ones the crawler declares, and
appending BY NAME means a frame may list its columns in any order.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from animerec_assets.contracts.landing import LANDING_TABLE_COLUMNS

LANDING_SCHEMA = "landing"


class LandingContractError(ValueError):
    """A frame does not fit the landing table it is meant for."""


def landing_ddl(item_type: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for one landing table, columns as the crawler declares."""
    if item_type not in LANDING_TABLE_COLUMNS:
        raise LandingContractError(
            f"unknown landing table {item_type!r}; known: {sorted(LANDING_TABLE_COLUMNS)}"
        )
    columns = ", ".join(
        f'"{name}" {sql_type}' for name, sql_type in LANDING_TABLE_COLUMNS[item_type]
    )
    return f'CREATE TABLE IF NOT EXISTS {LANDING_SCHEMA}."{item_type}" ({columns})'


def create_landing_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Every landing table of the contract, created empty where missing."""
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {LANDING_SCHEMA}")
    for item_type in LANDING_TABLE_COLUMNS:
        connection.execute(landing_ddl(item_type))


def append_landing(
    connection: duckdb.DuckDBPyConnection, item_type: str, frame: pd.DataFrame
) -> int:
    """Append ``frame`` to ``landing.<item_type>`` (created if missing); returns rows written.

    Columns the frame lacks are NULL; a column the contract does not know is refused rather
    than silently dropped.
    """
    known = {name for name, _ in LANDING_TABLE_COLUMNS.get(item_type, [])}
    unknown = sorted(set(frame.columns) - known)
    if item_type in LANDING_TABLE_COLUMNS and unknown:
        raise LandingContractError(f"landing.{item_type} has no columns {unknown}")
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {LANDING_SCHEMA}")
    connection.execute(landing_ddl(item_type))
    if frame.empty:
        return 0
    connection.register("_landing_frame", frame)
    try:
        connection.execute(
            f'INSERT INTO {LANDING_SCHEMA}."{item_type}" BY NAME SELECT * FROM _landing_frame'
        )
    finally:
        connection.unregister("_landing_frame")
    return len(frame)
