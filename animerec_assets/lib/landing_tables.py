"""Landing tables in a DuckDB warehouse, typed from the crawler's contract.

The Dagster crawl asset writes landing through the IO manager after ``create_landing_tables``;
``append_landing`` is for the places that fill landing without it (the dbt benchmark's
synthetic world, test fixtures). Creating the tables from the landing contract
(``animerec_assets.contracts.landing``) keeps their types the ones the crawler declares, and
appending BY NAME means a frame may list its columns in any order.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from animerec_assets.contracts.feedback import FEEDBACK_LANDING_COLUMNS, FEEDBACK_TABLE
from animerec_assets.contracts.landing import LANDING_COLUMNS, LANDING_TABLE_COLUMNS, ColumnType

LANDING_SCHEMA = "landing"
ITEM_ID = "item_id"


class LandingContractError(ValueError):
    """A frame does not fit the landing table it is meant for."""


def landing_ddl(item_type: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for one landing table, columns as the crawler declares."""
    if item_type not in LANDING_TABLE_COLUMNS:
        raise LandingContractError(
            f"unknown landing table {item_type!r}; known: {sorted(LANDING_TABLE_COLUMNS)}"
        )
    return table_ddl(item_type, LANDING_TABLE_COLUMNS[item_type])


def table_ddl(table: str, columns: Sequence[tuple[str, ColumnType]]) -> str:
    """``CREATE TABLE IF NOT EXISTS landing.<table>`` with the contract's column types."""
    declared = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
    return f'CREATE TABLE IF NOT EXISTS {LANDING_SCHEMA}."{table}" ({declared})'


def create_feedback_table(connection: duckdb.DuckDBPyConnection) -> None:
    """``landing.feedback`` from the feedback contract, created empty where missing (the IO
    manager would otherwise infer its types from the first hour's frame)."""
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {LANDING_SCHEMA}")
    connection.execute(table_ddl(FEEDBACK_TABLE, FEEDBACK_LANDING_COLUMNS))


def create_landing_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Every landing table of the contract, created empty where missing."""
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {LANDING_SCHEMA}")
    for item_type in LANDING_TABLE_COLUMNS:
        connection.execute(landing_ddl(item_type))
        _add_missing_columns(connection, item_type)


def _add_missing_columns(connection: duckdb.DuckDBPyConnection, item_type: str) -> None:
    """A table created under an older contract (before items carried an id, before a column
    was added) is rebuilt in the contract's column order with the new columns NULL for its rows
    (writers that insert by position need that order). One transaction: a crash leaves either
    the old table or the rebuilt one."""
    columns = [
        name
        for (name,) in connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [LANDING_SCHEMA, item_type],
        ).fetchall()
    ]
    if item_type not in LANDING_COLUMNS or not columns:
        return  # not an item table (quarantine), or a table just created from the contract
    if all(name in columns for name, _ in LANDING_COLUMNS[item_type]):
        return
    table = f'{LANDING_SCHEMA}."{item_type}"'
    rebuilt = f'{LANDING_SCHEMA}."{item_type}__rebuilt"'
    select = ", ".join(
        f'"{name}"' if name in columns else f'CAST(NULL AS {sql_type}) AS "{name}"'
        for name, sql_type in LANDING_COLUMNS[item_type]
    )
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.execute(f"CREATE TABLE {rebuilt} AS SELECT {select} FROM {table}")
        connection.execute(f"DROP TABLE {table}")
        connection.execute(f'ALTER TABLE {rebuilt} RENAME TO "{item_type}"')
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise


def append_landing(
    connection: duckdb.DuckDBPyConnection, item_type: str, frame: pd.DataFrame
) -> int:
    """Append ``frame`` to ``landing.<item_type>`` (created if missing); returns rows written.

    Columns the frame lacks are NULL; a column the contract does not know is refused rather
    than silently dropped. Rows whose ``item_id`` the table (or the frame) already holds are
    exact repeats and are not written again.
    """
    known = {name for name, _ in LANDING_TABLE_COLUMNS.get(item_type, [])}
    unknown = sorted(set(frame.columns) - known)
    if item_type in LANDING_TABLE_COLUMNS and unknown:
        raise LandingContractError(f"landing.{item_type} has no columns {unknown}")
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {LANDING_SCHEMA}")
    connection.execute(landing_ddl(item_type))
    table = f'{LANDING_SCHEMA}."{item_type}"'
    _add_missing_columns(connection, item_type)
    if frame.empty:
        return 0
    connection.register("_landing_frame", frame)
    try:
        if ITEM_ID in frame.columns and frame[ITEM_ID].notna().any():
            # a batch written again (a retried sink batch, a reloaded file) adds nothing new
            select = f"""
                SELECT * FROM _landing_frame WHERE "{ITEM_ID}" IS NULL
                UNION ALL BY NAME
                SELECT * FROM (
                    SELECT * FROM _landing_frame AS f
                    WHERE f."{ITEM_ID}" IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM {table} AS l WHERE l."{ITEM_ID}" = f."{ITEM_ID}"
                    )
                    QUALIFY row_number() OVER (PARTITION BY f."{ITEM_ID}") = 1
                )"""
        else:
            select = "SELECT * FROM _landing_frame"
        written = connection.execute(f"INSERT INTO {table} BY NAME {select}").fetchone()
    finally:
        connection.unregister("_landing_frame")
    return int(written[0]) if written else len(frame)
