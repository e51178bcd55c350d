"""``serving/redis_recommendations``: publish the model outputs to Redis for the app.

The inputs are loaded by the default ``io_manager`` (the warehouse); the asset writes Redis and
returns only metadata, so nothing is stored back in the warehouse. The publish itself (new
version namespace, one atomic pointer switch, previous kept for rollback) lives in
``animerec_assets/lib/serving``.
"""

# No ``from __future__ import annotations``: Dagster inspects the real annotation of ``context``.

import time

import dagster as dg
import pandas as pd
from pydantic import Field

from animerec_assets.defs.keys import (
    DUCKDB_POOL,
    ML_ANIME_ANIME_RANKED,
    ML_USER_ANIME_RANKED,
    PROCESSED_ANIME,
    PROCESSED_ANIME_ANIME,
    PROCESSED_USER_ANIME,
    SERVING_REDIS_RECOMMENDATIONS,
)
from animerec_assets.resources import RedisResource, WarehouseResource

LOG_EVERY_FRACTION = 0.1
LIST_COLUMNS = ["user_id", "anime_id", "status"]  # all the publish reads of processed.user_anime


class ServingPublish(dg.Config):
    """How long the published lists are (the defaults are ``lib/serving/payloads.py``'s)."""

    top_n: int = Field(
        default=100,
        ge=1,
        le=300,
        description="Ranked recommendations per user not on their list: enough that the "
        "read-time filters still leave 20 (animerec bench serving measures the cost).",
    )
    top_n_plan_to_watch: int = Field(
        default=50,
        ge=0,
        le=300,
        description="The user's own plan-to-watch titles kept beside them, best ranked first "
        "(shown only when a visitor asks to include plan-to-watch).",
    )


def model_version_of(instance: dg.DagsterInstance, key: dg.AssetKey = ML_USER_ANIME_RANKED) -> str:
    """The model version the recommendations came from.

    The ML asset's ``model_version`` metadata when it records one, else the id of the run
    that produced the recommendations, so the app can always say which model it shows.
    """
    records = instance.fetch_materializations(key, limit=1).records
    if not records:
        return "unknown"
    record = records[0]
    materialization = record.asset_materialization
    entry = materialization.metadata.get("model_version") if materialization else None
    if entry is not None:
        return str(getattr(entry, "value", entry))
    return f"run-{record.run_id[:8]}"


class _ProgressLog:
    """Logs each publish stage every ~10% instead of every batch."""

    def __init__(self, log: dg.DagsterLogManager) -> None:
        self.log = log
        self.next_at: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        step = max(1, int(total * LOG_EVERY_FRACTION))
        if done >= self.next_at.get(stage, 0) or done == total:
            self.log.info(f"publishing {stage}: {done:,}/{total:,} ({done / max(total, 1):.0%})")
            self.next_at[stage] = done + step


@dg.asset(
    key=SERVING_REDIS_RECOMMENDATIONS,
    ins={
        "user_anime_ranked": dg.AssetIn(key=ML_USER_ANIME_RANKED),
        "anime_anime_ranked": dg.AssetIn(key=ML_ANIME_ANIME_RANKED),
        "anime": dg.AssetIn(key=PROCESSED_ANIME),
        "anime_relations": dg.AssetIn(key=PROCESSED_ANIME_ANIME),
        "user_lists": dg.AssetIn(key=PROCESSED_USER_ANIME, metadata={"columns": LIST_COLUMNS}),
    },
    group_name="serving",
    kinds={"redis", "python"},
    pool=DUCKDB_POOL,
    description=(
        "Per user the ranked top 100 not on their list (plus their best plan-to-watch titles) "
        "and their MAL list (packed ids per status), ranked similar anime, anime cards (with "
        "franchise and watch order) and a title index, "
        "published to Redis as a new version and switched live atomically."
    ),
)
def redis_recommendations(
    context: dg.AssetExecutionContext,
    config: ServingPublish,
    redis: RedisResource,
    warehouse: WarehouseResource,
    user_anime_ranked: pd.DataFrame,
    anime_anime_ranked: pd.DataFrame,
    anime: pd.DataFrame,
    anime_relations: pd.DataFrame,
    user_lists: pd.DataFrame,
) -> dg.MaterializeResult:
    from animerec_assets.lib.optout import read_opted_out_keys
    from animerec_assets.lib.serving import prepare_catalogue, publish_payloads, user_parts
    from animerec_assets.lib.serving.franchise import with_franchises

    started = time.monotonic()
    model_version = model_version_of(context.instance)
    context.log.info(
        f"preparing payloads: {len(user_anime_ranked):,} user rows, "
        f"{len(anime_anime_ranked):,} similar rows, {len(anime):,} anime, "
        f"{len(user_lists):,} list entries (model {model_version})"
    )
    # users are prepared and written a part at a time (a million users' payloads are GBs)
    parts = user_parts(
        user_anime_ranked,
        user_lists[LIST_COLUMNS],
        top_n_user=config.top_n,
        top_n_planned=config.top_n_plan_to_watch,
    )
    ready = [next(parts)]  # prepared now: bad model output fails before anything is written
    # the cards carry each anime's franchise and watch order for the read-time filters
    catalogue = prepare_catalogue(anime_anime_ranked, with_franchises(anime, anime_relations))
    prepared_s = time.monotonic() - started
    list_bytes: list[int] = []

    def every_part():
        while (part := ready.pop() if ready else next(parts, None)) is not None:
            list_bytes.append(int(part.list_values.nbytes))
            yield part
            del part  # written: not held while the next part is prepared

    result = publish_payloads(
        redis.get_client(),
        catalogue,
        model_version=model_version,
        on_progress=_ProgressLog(context.log),
        # opted-out users: absent from the new version (not in processed), and unlinked from
        # the version kept for rollback
        forget=read_opted_out_keys(warehouse),
        user_parts=every_part(),
    )
    context.log.info(
        f"published {result.counts['users']:,} users' lists (top {config.top_n} + up to "
        f"{config.top_n_plan_to_watch} plan-to-watch) in {len(list_bytes)} part(s), "
        f"{result.counts['user_lists']:,} MAL lists ({result.counts['user_list_entries']:,} "
        f"entries, {sum(list_bytes) / 1e6:,.1f} MB packed)"
    )
    context.log.info(
        f"version {result.version} is live (previous {result.previous_version}); "
        f"removed {result.removed_versions or 'nothing'}"
    )
    return dg.MaterializeResult(
        metadata={
            "version": result.version,
            "previous_version": result.previous_version or "",
            "model_version": result.model_version,
            "published_at": result.published_at,
            "keys_written": result.keys_written,
            **{f"n_{name}": count for name, count in result.counts.items()},
            "removed_versions": ", ".join(result.removed_versions),
            "top_n": config.top_n,
            "top_n_plan_to_watch": config.top_n_plan_to_watch,
            "user_list_bytes": sum(list_bytes),
            "prepare_seconds": round(prepared_s, 3),
            "duration_seconds": round(time.monotonic() - started, 3),
        }
    )
