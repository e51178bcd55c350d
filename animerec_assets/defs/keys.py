"""Asset keys and pool names that more than one stage uses, defined once.

A key is ``[schema, table]`` wherever the warehouse holds the asset (the IO manager and dbt use
the same convention), so a stage that reads another stage's output imports the key from here
instead of spelling it again.
"""

from __future__ import annotations

import dagster as dg

from animerec_assets.contracts.processed import PROCESSED_TABLES

# DuckDB is single-writer across processes: every asset or check that opens the warehouse file
# (directly, through dbt or through the IO manager) holds a slot of this pool. The instance
# (dagster.yaml, deploy/) limits it to one slot.
DUCKDB_POOL = "duckdb"

# Key prefixes of the warehouse layers (= DuckDB schema / BigQuery dataset = asset group).
LANDING = "landing"
STAGING = "staging"
PROCESSED = "processed"
# Visitors' feedback tables and metrics: beside processed, never published (not exported).
FEEDBACK = "feedback"


def landing_key(item_type: str) -> dg.AssetKey:
    """``landing/<item_type>``: the crawl stage writes it, dbt's sources read it."""
    return dg.AssetKey([LANDING, item_type])


def staging_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([STAGING, table])


def processed_key(table: str) -> dg.AssetKey:
    """``processed/<table>``: one of the five published tables that dbt builds."""
    if table not in PROCESSED_TABLES:
        raise ValueError(f"{table!r} is not a processed table ({PROCESSED_TABLES})")
    return dg.AssetKey([PROCESSED, table])


PROCESSED_KEYS = [processed_key(table) for table in PROCESSED_TABLES]
PROCESSED_ANIME = processed_key("anime")
PROCESSED_USER_ANIME = processed_key("user_anime")
PROCESSED_ANIME_ANIME = processed_key("anime_anime")

LANDING_FEEDBACK = landing_key(FEEDBACK)
FEEDBACK_ONLINE_METRICS = dg.AssetKey([FEEDBACK, "online_metrics"])

ML_USER_ANIME_RETRIEVAL = dg.AssetKey(["ml", "user_anime_retrieval"])
ML_USER_ANIME_RANKING_LISTS = dg.AssetKey(["ml", "user_anime_ranking_lists"])
ML_USER_ANIME_RANKED = dg.AssetKey(["ml", "user_anime_ranked"])
ML_ANIME_ANIME_RANKED = dg.AssetKey(["ml", "anime_anime_ranked"])
ML_EVALUATION = dg.AssetKey(["ml", "evaluation"])

SERVING_REDIS_RECOMMENDATIONS = dg.AssetKey(["serving", "redis_recommendations"])
EXPORT_PROCESSED_DATASET = dg.AssetKey(["export", "processed_dataset"])
