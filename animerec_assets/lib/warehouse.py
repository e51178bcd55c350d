"""What the pure modules need of a warehouse: SQL in, a DataFrame out, and its dialect.

The Dagster ``WarehouseResource`` (``animerec_assets/resources``) is one; tests may pass any
object of this shape. Keeping the protocol here lets ``lib/`` run warehouse SQL without
importing Dagster.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import pandas as pd

Dialect = Literal["duckdb", "bigquery"]


class SqlWarehouse(Protocol):
    """``kind`` is ``"duckdb"`` or ``"bigquery"``; ``gcp_project`` qualifies BigQuery tables."""

    @property
    def kind(self) -> str: ...

    @property
    def gcp_project(self) -> str: ...

    def read_sql(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame: ...

    def table_exists(self, schema: str, table: str) -> bool: ...


def dialect_of(warehouse: SqlWarehouse) -> Dialect:
    return "duckdb" if warehouse.kind == "duckdb" else "bigquery"
