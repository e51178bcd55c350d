"""Read a warehouse table (only the columns its suite needs) and validate it.

The Dagster asset checks (``animerec_assets/defs/transform/checks.py``) call ``run_gate``; the
warehouse is anything with ``read_sql`` and ``kind`` (``animerec_assets.lib.warehouse``).
"""

from __future__ import annotations

from animerec_assets.lib.quality.report import QualityReport
from animerec_assets.lib.quality.suites import columns_needed
from animerec_assets.lib.quality.validate import validate
from animerec_assets.lib.warehouse import SqlWarehouse

# Tables whose rows must name a crawled anime, and where the crawled anime are.
ANIME_REFERENCE = {
    "stg_user_anime": "select anime_id from staging.stg_anime",
    "user_anime": "select anime_id from processed.anime",
}


def run_gate(schema: str, table: str, warehouse: SqlWarehouse) -> QualityReport:
    """Read the table (and the anime it must reference) and validate it."""
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
