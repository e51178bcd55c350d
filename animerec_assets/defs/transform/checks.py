"""Great Expectations suites as BLOCKING asset checks on the staging and processed tables.

A failed staging gate fails its check, and because the check blocks, the processed step of the
same run never starts: processed keeps its last good state. The check's metadata carries what
failed, why, and sample rows, so the Dagster UI shows exactly which rows to look at.
"""

# (no postponed annotations: Dagster reads context and resource annotations at runtime)

from collections.abc import Callable

import dagster as dg

from animerec_assets.lib.quality.report import QualityReport
from animerec_assets.resources import WarehouseResource

DUCKDB_POOL = "duckdb"
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
PROCESSED_GATES = ["anime", "user", "user_anime", "anime_anime", "user_user"]
# Tables whose rows must name a crawled anime, and where the crawled anime are.
ANIME_REFERENCE = {
    "stg_user_anime": "select anime_id from staging.stg_anime",
    "user_anime": "select anime_id from processed.anime",
}


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


def run_gate(schema: str, table: str, warehouse: WarehouseResource) -> QualityReport:
    """Read the table (and the anime it must reference) and validate it."""
    from animerec_assets.lib.quality import validate
    from animerec_assets.lib.quality.suites import columns_needed

    quote = "`" if warehouse.kind == "bigquery" else '"'
    relation = f"{schema}.{quote}{table}{quote}"
    present = warehouse.read_sql(f"select * from {relation} limit 0").columns
    # only what the suite reads: at 10M user_anime rows the whole table would not fit twice
    wanted = [c for c in present if c in columns_needed(table)] or list(present)
    listed = ", ".join(f"{quote}{c}{quote}" for c in wanted)
    frame = warehouse.read_sql(f"select {listed} from {relation}")
    known = None
    if table in ANIME_REFERENCE:
        known = warehouse.read_sql(ANIME_REFERENCE[table])["anime_id"].dropna().astype("int64")
    return validate(table, frame, known_anime_ids=known)


def quality_gate(schema: str, table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey([schema, table]),
        name="great_expectations",
        description=f"Great Expectations suite for {schema}.{table}; blocks downstream assets.",
        blocking=True,
        pool=DUCKDB_POOL,
    )
    def gate(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
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
    build: Callable[[str, str], dg.AssetChecksDefinition] = quality_gate
    return [build("staging", t) for t in STAGING_GATES] + [
        build("processed", t) for t in PROCESSED_GATES
    ]
