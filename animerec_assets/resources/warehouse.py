"""The warehouse: the IO manager that stores asset outputs, and ad-hoc SQL against it."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd

from animerec_assets.settings import Settings


class WarehouseResource(dg.ConfigurableResource):
    """Read-only SQL against the warehouse, returning pandas DataFrames.

    ``kind`` is ``duckdb`` (local, the file at ``duckdb_path``) or ``bigquery`` (production).
    """

    kind: str
    duckdb_path: str = ""
    gcp_project: str = ""
    location: str = ""

    def read_sql(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        if self.kind == "duckdb":
            import duckdb

            with duckdb.connect(self.duckdb_path, read_only=False) as connection:
                return connection.execute(sql, params or []).df()
        from google.cloud import bigquery

        client = bigquery.Client(project=self.gcp_project, location=self.location or None)
        return client.query(sql).to_dataframe()

    def table_exists(self, schema: str, table: str) -> bool:
        if self.kind == "duckdb":
            found = self.read_sql(
                "select count(*) as n from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            )
            return bool(found["n"].iloc[0])
        found = self.read_sql(
            f"select count(*) as n from `{self.gcp_project}.{schema}.INFORMATION_SCHEMA.TABLES` "
            f"where table_name = '{table}'"
        )
        return bool(found["n"].iloc[0])

    def ensure_landing_tables(self) -> None:
        """Create the landing tables from the crawler's contract before the IO manager appends
        to them (DuckDB would otherwise infer types from the first frame, e.g. an all-NULL list
        column). BigQuery's IO manager creates tables with the frames' declared types itself."""
        if self.kind != "duckdb":
            return
        import duckdb

        from animerec_assets.lib.landing_tables import create_landing_tables

        with duckdb.connect(self.duckdb_path) as connection:
            create_landing_tables(connection)

    def ensure_feedback_table(self) -> None:
        """``landing.feedback`` typed from the feedback contract (DuckDB; BigQuery's IO manager
        creates it from the frame's declared types)."""
        if self.kind != "duckdb":
            return
        import duckdb

        from animerec_assets.lib.landing_tables import create_feedback_table

        with duckdb.connect(self.duckdb_path) as connection:
            create_feedback_table(connection)

    def dbt_args(self) -> list[str]:
        """What a ``dbt`` invocation adds to build on this warehouse (the profile target
        already names the BigQuery project; DuckDB needs the run's file)."""
        if self.kind != "duckdb":
            return []
        from animerec_assets.lib.dbt_paths import duckdb_path_args

        return duckdb_path_args(self.duckdb_path)


def warehouse_io_manager(settings: Settings) -> dg.ConfigurableIOManagerFactory:
    """The ONE warehouse IO manager: DuckDB locally, BigQuery in production."""
    if settings.warehouse == "duckdb":
        from dagster_duckdb_pandas import DuckDBPandasIOManager

        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        return DuckDBPandasIOManager(database=str(settings.duckdb_path))
    from dagster_gcp_pandas import BigQueryPandasIOManager

    return BigQueryPandasIOManager(
        project=settings.gcp_project or "", location=settings.bigquery_location
    )


def warehouse_resource(settings: Settings) -> WarehouseResource:
    return WarehouseResource(
        kind=settings.warehouse,
        duckdb_path=str(settings.duckdb_path),
        gcp_project=settings.gcp_project or "",
        location=settings.bigquery_location or "",
    )
