"""``privacy/optout``: the crawl scheduler's opt-out list copied into ``landing.optout``.

dbt declares the table as the ``privacy`` source, so the processed models (which exclude those
users) run after it in the same job. The copy replaces the table whole on every run: a user
opted out since the last run is gone from processed, the models and the export after the next.
"""

# No ``from __future__ import annotations``: Dagster inspects the real annotations.

from datetime import UTC, datetime

import dagster as dg

from animerec_assets.defs.keys import DUCKDB_POOL, STAGING
from animerec_assets.lib.optout import replace_optout_sql
from animerec_assets.lib.warehouse import dialect_of
from animerec_assets.resources import SchedulerResource, WarehouseResource

OPTOUT_KEY = dg.AssetKey(["privacy", "optout"])


@dg.asset(
    key=OPTOUT_KEY,
    group_name=STAGING,  # in the transform job, so every dbt run sees the current list
    kinds={"sql"},
    pool=DUCKDB_POOL,
    description=(
        "Users who opted out (`animerec optout add`), copied from the crawl scheduler into "
        "landing.optout; processed leaves every row of theirs out."
    ),
)
def optout(scheduler: SchedulerResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    usernames = scheduler.opted_out_usernames()
    warehouse.ensure_landing_tables()  # the landing schema, on a fresh DuckDB file
    warehouse.read_sql(
        replace_optout_sql(
            usernames, datetime.now(UTC), dialect_of(warehouse), warehouse.gcp_project
        )
    )
    return dg.MaterializeResult(metadata={"opted_out_users": dg.MetadataValue.int(len(usernames))})
