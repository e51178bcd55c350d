"""Great Expectations suites as BLOCKING asset checks on the staging and processed tables.

A failed staging gate fails its check, and because the check blocks, the processed step of the
same run never starts: processed keeps its last good state. The check's metadata carries what
failed, why, and sample rows, so the Dagster UI shows exactly which rows to look at.
"""

# (no postponed annotations: Dagster reads context and resource annotations at runtime)

import dagster as dg

from animerec_assets.contracts.processed import PROCESSED_TABLES
from animerec_assets.defs.keys import DUCKDB_POOL, processed_key, staging_key
from animerec_assets.lib.quality.report import QualityReport
from animerec_assets.resources import WarehouseResource

STAGING_GATES = [
    "stg_anime",
    "stg_anime_stats",
    "stg_review",
    "stg_user",
    "stg_user_anime",
    "stg_user_user",
    "stg_anime_relation",
    "stg_anime_recommendation",
]
# every published table
PROCESSED_GATES = list(PROCESSED_TABLES)


def report_metadata(report: QualityReport) -> dict[str, dg.MetadataValue]:
    lines = ["| expectation | columns | rows | % | why |", "|---|---|---|---|---|"]
    lines += [
        f"| {f.expectation} | {', '.join(f.columns)} | {f.unexpected_count} "
        f"| {f.unexpected_percent:.2f} | {f.why} |"
        for f in report.failures
    ]
    metadata = report.to_metadata()
    return {
        "summary": dg.MetadataValue.text(report.summary()),
        "failed_expectations": dg.MetadataValue.md("\n".join(lines)),
        "failing_rows": dg.MetadataValue.json(metadata["failing_rows"]),
        "row_count": dg.MetadataValue.int(report.row_count),
        "expectations_evaluated": dg.MetadataValue.int(report.evaluated),
        "skipped": dg.MetadataValue.json(report.skipped),
    }


def quality_gate(key: dg.AssetKey) -> dg.AssetChecksDefinition:
    """The blocking Great Expectations check of the warehouse table ``key`` = [schema, table]."""
    schema, table = key.path

    @dg.asset_check(
        asset=key,
        name="great_expectations",
        description=f"Great Expectations suite for {schema}.{table}; blocks downstream assets.",
        blocking=True,
        pool=DUCKDB_POOL,
    )
    def gate(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        from animerec_assets.lib.quality.gate import run_gate

        report = run_gate(schema, table, warehouse)
        if not report.success:
            context.log.error(report.summary())
        return dg.AssetCheckResult(
            passed=report.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=report_metadata(report),
        )

    return gate


def all_gates() -> list[dg.AssetChecksDefinition]:
    keys = [staging_key(t) for t in STAGING_GATES] + [processed_key(t) for t in PROCESSED_GATES]
    return [quality_gate(key) for key in keys]
