"""Visitors' feedback: the hour's events from the Redis stream → ``landing.feedback``, and the
online metrics per model version that dbt's feedback tables give.

``landing/feedback[hour]`` reads the hour's stream entries (ids are time-ordered), merges them
with what landing already holds for that hour (keyed by ``event_id``) and hands the hour to the
warehouse IO manager, which replaces the partition; an hour with nothing new is not rewritten
(the run records an observation instead). It never trims the stream except for entries past the
retention (the writers bound the stream with ``MAXLEN``), so a re-run or a SIGKILL anywhere
leaves no event lost and none twice (``animerec_assets/lib/feedback/landing.py``).
Events older than the retention are deleted from landing and trimmed from the stream here;
dbt drops them from staging and the feedback tables.

``feedback/online_metrics`` shows the feedback tables as metadata: rates per model version and
per reason type (table and chart), and the anime visitors often mark "not for me" for a reason.
Nothing here changes a model.
"""

# (no postponed annotations: Dagster reads the Config and resource annotations at runtime)

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from animerec_assets.contracts.feedback import FEEDBACK_TABLE, STREAM_KEY
from animerec_assets.defs.crawl.partitions import hourly_partitions
from animerec_assets.defs.keys import (
    DUCKDB_POOL,
    FEEDBACK,
    FEEDBACK_ONLINE_METRICS,
    LANDING,
    LANDING_FEEDBACK,
)
from animerec_assets.lib.crash_points import crash_point
from animerec_assets.lib.feedback.landing import (
    HOUR_COLUMN,
    entry_id_ms,
    event_hour_value,
    event_time_text,
    expired_rows_sql,
    hour_id_range,
    hour_rows_sql,
    landing_table_sql,
    merge_hour,
    parse_entries,
    read_stream,
    retention_start,
)
from animerec_assets.lib.feedback.metrics import (
    FEEDBACK_SCHEMA,
    FEEDBACK_TABLES,
    RATES,
    feedback_table_sql,
    newest_versions,
    online_chart_png,
    reasons_markdown,
    turned_down_anime,
    turned_down_markdown,
    versions_markdown,
)
from animerec_assets.lib.warehouse import dialect_of
from animerec_assets.resources import RedisResource, WarehouseResource
from animerec_assets.settings import load_settings


def _value_counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.dropna().value_counts().sort_index().items()}


def _deleted(result: pd.DataFrame) -> int | None:
    """DuckDB answers a DELETE with its row count; BigQuery with no rows."""
    return int(result.iloc[0, 0]) if len(result.columns) and len(result) else None


@dg.asset(
    key=LANDING_FEEDBACK,
    group_name=LANDING,
    partitions_def=hourly_partitions,
    metadata={"partition_expr": HOUR_COLUMN},
    kinds={"redis", "duckdb"},
    pool=DUCKDB_POOL,
    output_required=False,
    description=(
        "Visitors' feedback events of the hour, from the Redis stream; one row per event_id "
        "(re-runs merge, never duplicate; a re-run with nothing new only observes). Invalid "
        "entries are counted and skipped."
    ),
)
def landing_feedback(
    context: dg.AssetExecutionContext, redis: RedisResource, warehouse: WarehouseResource
) -> Iterator[dg.Output[pd.DataFrame]]:
    window = context.partition_time_window
    event_hour = event_hour_value(window.start)
    retention_days = load_settings().feedback_retention_days
    keep_from = retention_start(datetime.now(UTC), retention_days)

    client = redis.get_client()
    first_id, last_id = hour_id_range(window.start, window.end)
    hour = parse_entries(read_stream(client, STREAM_KEY, first_id, last_id), event_hour)
    if hour.invalid:
        context.log.warning(
            f"skipped {hour.invalid_count} invalid stream entries {hour.invalid}; e.g. "
            + "; ".join(hour.samples)
        )

    warehouse.ensure_feedback_table()
    table = landing_table_sql(dialect_of(warehouse), warehouse.gcp_project or None)
    exists = warehouse.table_exists(LANDING, FEEDBACK_TABLE)
    landed = warehouse.read_sql(hour_rows_sql(table, event_hour)) if exists else hour.rows.iloc[:0]
    rows = merge_hour(landed, hour.rows, event_time_text(keep_from))

    # Retention: only events no landing keeps anyway leave the warehouse and the stream.
    expired = (
        _deleted(warehouse.read_sql(expired_rows_sql(table, event_time_text(keep_from))))
        if exists
        else 0
    )
    trimmed = int(client.xtrim(STREAM_KEY, minid=f"{entry_id_ms(keep_from)}-0", approximate=False))
    new_rows = len(rows) - int(rows["event_id"].isin(landed["event_id"]).sum())
    context.log.info(
        f"feedback {event_hour}: {hour.entries} stream entries, {hour.invalid_count} invalid, "
        f"{len(landed)} landed before, {new_rows} new, {len(rows)} rows; retention "
        f"{retention_days} days: {expired} landed rows deleted, {trimmed} stream entries trimmed"
    )
    metadata: dict[str, dg.RawMetadataValue] = {
        "rows": len(rows),
        "new_rows": new_rows,
        "stream_entries": hour.entries,
        "invalid_entries": hour.invalid_count,
        "invalid_reasons": dg.MetadataValue.json(hour.invalid),
        "actions": dg.MetadataValue.json(_value_counts(rows["action"])),
        "model_versions": dg.MetadataValue.json(_value_counts(rows["model_version"])),
        "retention_days": retention_days,
        "expired_rows_deleted": expired if expired is not None else -1,
        "stream_entries_trimmed": trimmed,
    }
    if new_rows == 0 and len(landed):
        # Nothing new for an hour that has landed: the warehouse already holds it (retention
        # deleted its own rows above), so it is not rewritten. The IO manager replaces an hour
        # with a DELETE then an INSERT; skipping keeps a re-run of an hour whose entries the
        # stream's MAXLEN has evicted from ever passing between the two.
        context.log_event(
            dg.AssetObservation(
                asset_key=LANDING_FEEDBACK, partition=context.partition_key, metadata=metadata
            )
        )
        return
    # a SIGKILL from here until the IO manager has replaced the hour loses nothing: the
    # stream still holds the hour's new events, and a re-run merges them again
    crash_point("feedback_landing_before_write")
    yield dg.Output(rows, metadata=metadata)


class OnlineMetricsConfig(dg.Config):
    """When an anime counts as often turned down for a reason (reported, nothing changes)."""

    min_cards: int = 20
    min_not_for_me_rate: float = 0.5


def _feedback_table(warehouse: WarehouseResource, table: str) -> pd.DataFrame:
    if not warehouse.table_exists(FEEDBACK_SCHEMA, table):
        return pd.DataFrame()
    return warehouse.read_sql(
        feedback_table_sql(dialect_of(warehouse), table, warehouse.gcp_project or None)
    )


@dg.asset(
    key=FEEDBACK_ONLINE_METRICS,
    deps=[dg.AssetKey([FEEDBACK, table]) for table in FEEDBACK_TABLES],
    group_name=FEEDBACK,
    kinds={"python"},
    pool=DUCKDB_POOL,
    description=(
        "Online metrics per model version (like, not for me, not interested, MAL click-through, "
        "picks per session, per reason type) and the anime often turned down for a reason."
    ),
)
def online_metrics(
    context: dg.AssetExecutionContext, config: OnlineMetricsConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    by_version, by_reason, anime_dislikes = (
        _feedback_table(warehouse, table) for table in FEEDBACK_TABLES
    )
    if by_version.empty:
        context.log.info("no feedback yet: nothing to measure")
        return dg.MaterializeResult(metadata={"model_versions": 0, "cards": 0})
    flagged = turned_down_anime(anime_dislikes, config.min_cards, config.min_not_for_me_rate)
    newest = newest_versions(by_version).iloc[-1]
    png = online_chart_png(by_version, by_reason)
    context.log.info(
        f"{len(by_version)} model versions with feedback; newest {newest['model_version']}: "
        f"{int(newest['cards'])} cards; {len(flagged)} anime often turned down"
    )
    return dg.MaterializeResult(
        metadata={
            "model_versions": len(by_version),
            "cards": int(by_version["cards"].sum()),
            "sessions": int(by_version["sessions"].sum()),
            "newest_version": dg.MetadataValue.text(str(newest["model_version"])),
            **{
                f"newest {label}": float(newest[rate]) if pd.notna(newest[rate]) else 0.0
                for rate, label in RATES.items()
            },
            "newest picks per session": float(newest["picks_per_session"]),
            "by_model_version": dg.MetadataValue.md(versions_markdown(by_version)),
            "by_reason": dg.MetadataValue.md(reasons_markdown(by_reason)),
            "chart": dg.MetadataValue.md(
                f"![online metrics](data:image/png;base64,{base64.b64encode(png).decode()})"
            ),
            "often_turned_down": len(flagged),
            "often_turned_down_anime": dg.MetadataValue.md(turned_down_markdown(flagged.head(50))),
        },
    )
