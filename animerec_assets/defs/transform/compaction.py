"""Landing compaction as an asset of its own: drop crawls a newer crawl has superseded.

Not part of the hourly transform: landing only grows by one hour's crawl per run, and
compacting is a table rewrite, so it is materialized on demand (or by a slow schedule). It
changes no staging or processed row (animerec_assets.lib.landing_compaction says why), so
nothing downstream needs to run after it.
"""

# (no postponed annotations: Dagster reads context and resource annotations at runtime)

import dagster as dg

from animerec_assets.contracts.landing import LANDING_COLUMNS
from animerec_assets.defs.keys import DUCKDB_POOL, LANDING
from animerec_assets.lib.landing_compaction import Dialect, compact_landing
from animerec_assets.resources import WarehouseResource


@dg.asset(
    key=dg.AssetKey([LANDING, "compaction"]),
    group_name=LANDING,
    pool=DUCKDB_POOL,
    kinds={"duckdb"},
    description="Deletes landing rows superseded by a newer complete crawl of the same parent.",
)
def landing_compaction(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    existing = [table for table in LANDING_COLUMNS if warehouse.table_exists(LANDING, table)]
    dialect: Dialect = "duckdb" if warehouse.kind == "duckdb" else "bigquery"

    def execute(sql: str) -> int | None:
        result = warehouse.read_sql(sql)
        # DuckDB answers a DELETE with its row count; BigQuery with no rows
        return int(result.iloc[0, 0]) if len(result.columns) and len(result) else None

    deleted = compact_landing(execute, existing, dialect, project=warehouse.gcp_project or None)
    context.log.info(f"landing compaction deleted {deleted}")
    return dg.MaterializeResult(
        metadata={
            "deleted_rows": sum(n for n in deleted.values() if n),
            **{f"deleted_{table}": n for table, n in deleted.items() if n is not None},
        }
    )
