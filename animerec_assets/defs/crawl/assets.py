"""Crawl assets: the hour's batch from the scheduler → crawled items → landing tables.

``crawl/scheduled_batch[hour]`` asks the crawl scheduler what to crawl next.
``crawl/crawled_items[hour]`` crawls it: locally by running the Scrapy spiders in a subprocess
(Scrapy's reactor never lives in the Dagster process), in production by putting the batch on the
Redis Streams queue for the crawler workers. ``landing/<item_type>[hour]`` loads what was crawled
into one landing table per item type, partitioned by ``crawl_hour``: re-materializing an hour
replaces that hour's rows, so a partition never holds duplicates.
"""

# (no postponed annotations: Dagster reads the Config and resource annotations at runtime)

import shutil
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from animerec_assets.contracts.landing import LANDING_TABLE_COLUMNS
from animerec_assets.defs.crawl.partitions import hourly_partitions
from animerec_assets.lib.landing import (
    crawl_hour_value,
    items_to_landing_frames,
    landing_description,
    landing_metadata,
    read_jsonl_items,
)
from animerec_assets.resources import SchedulerResource, WarehouseResource
from animerec_assets.settings import load_settings

KINDS = ("anime", "profile")
DUCKDB_POOL = "duckdb"


class CrawlBatchConfig(dg.Config):
    """How much one hour crawls (the demo raises these to crawl a whole replica world)."""

    anime_per_hour: int = 200
    profiles_per_hour: int = 200


def partition_folder(partition_key: str) -> Path:
    """Where the in-process crawl of one hour writes its JSON lines files."""
    safe = partition_key.replace(":", "").replace(" ", "T")
    return load_settings().crawl_output_dir / "partitions" / safe


@dg.asset(
    key_prefix="crawl",
    group_name="crawl",
    partitions_def=hourly_partitions,
    metadata={"partition_expr": "crawl_hour"},
    kinds={"python", "sqlalchemy"},
    pool=DUCKDB_POOL,
    description="The hour's crawl batch chosen by the crawl scheduler (never-crawled first).",
)
def scheduled_batch(
    context: dg.AssetExecutionContext, config: CrawlBatchConfig, scheduler: SchedulerResource
) -> pd.DataFrame:
    crawl_scheduler = scheduler.get_scheduler()
    try:
        wanted = {"anime": config.anime_per_hour, "profile": config.profiles_per_hour}
        rows = []
        for kind in KINDS:
            urls = crawl_scheduler.schedule(kind, wanted[kind])
            context.log.info(f"scheduled {len(urls)} {kind} URLs (asked for {wanted[kind]})")
            rows += [{"kind": kind, "url": url} for url in urls]
        stats = {kind: s.as_dict() for kind, s in crawl_scheduler.all_stats().items()}
    finally:
        crawl_scheduler.dispose()
    batch = pd.DataFrame(rows, columns=["kind", "url"]).astype("string")
    batch["crawl_hour"] = crawl_hour_value(context.partition_time_window.start)
    batch["crawl_hour"] = batch["crawl_hour"].astype("string")
    context.add_output_metadata(
        {
            "anime_urls": int((batch["kind"] == "anime").sum()),
            "profile_urls": int((batch["kind"] == "profile").sum()),
            "scheduler": dg.MetadataValue.json(stats),
        }
    )
    return batch


def _crawl_in_process(context: dg.AssetExecutionContext, batch: pd.DataFrame) -> dict:
    from crawler.worker import SinkSettings, crawl_batch

    folder = partition_folder(context.partition_key)
    shutil.rmtree(folder, ignore_errors=True)  # a re-run replaces the hour's crawl
    sink = SinkSettings(
        output_dir=folder,
        scrapy_settings={"SCHEDULER_HOOKS": "scheduler", "ANIMEREC_SINKS": ""},
    )
    counts: dict[str, int] = {}
    failed = 0
    for kind in KINDS:
        urls = batch.loc[batch["kind"] == kind, "url"].tolist()
        if not urls:
            continue
        started = time.monotonic()
        result = crawl_batch(kind, urls, sink)
        seconds = time.monotonic() - started
        for item_type, n in result.item_counts.items():
            counts[item_type] = counts.get(item_type, 0) + n
        failed += len(result.failed_urls)
        context.log.info(
            f"crawled {len(urls)} {kind} URLs in {seconds:.1f}s: {result.items} items, "
            f"{len(result.failed_urls)} failed"
        )
    return {"mode": "in-process", "folder": str(folder), "items": counts, "failed_urls": failed}


def _enqueue_for_workers(context: dg.AssetExecutionContext, batch: pd.DataFrame) -> dict:
    from animerec_assets.lib.redis_conn import redis_client
    from crawler.queue import CrawlQueue

    queue = CrawlQueue(redis_client())
    enqueued = {
        kind: queue.enqueue(kind, batch.loc[batch["kind"] == kind, "url"].tolist())
        for kind in KINDS
    }
    context.log.info(f"enqueued for the crawler workers: {enqueued}")
    return {"mode": "queue", "enqueued": enqueued, "queue": queue.stats().as_dict()}


@dg.asset(
    key_prefix="crawl",
    group_name="crawl",
    partitions_def=hourly_partitions,
    kinds={"scrapy"},
    description=(
        "Crawl the hour's batch: in a Scrapy subprocess locally, on the crawler workers' "
        "queue in production. Items are JSON lines files the landing tables load."
    ),
)
def crawled_items(context: dg.AssetExecutionContext, scheduled_batch: pd.DataFrame):
    if load_settings().env == "prod":
        summary = _enqueue_for_workers(context, scheduled_batch)
    else:
        summary = _crawl_in_process(context, scheduled_batch)
    return dg.MaterializeResult(
        metadata={
            "urls": len(scheduled_batch),
            "summary": dg.MetadataValue.json(summary),
            **{f"items/{k}": v for k, v in sorted(summary.get("items", {}).items())},
        }
    )


def _worker_files_for_hour(context: dg.AssetExecutionContext) -> list[Path]:
    """Production: the batch files the queue workers finished within this hour."""
    window = context.partition_time_window
    start, end = window.start.timestamp(), window.end.timestamp()
    folder = load_settings().crawl_output_dir / "items"
    return [p for p in sorted(folder.glob("*.jsonl")) if start <= p.stat().st_mtime < end]


def _ensure_landing_tables(warehouse: WarehouseResource) -> None:
    """Create landing tables from the crawler's contract before the IO manager appends to them
    (it would otherwise infer types from the first frame, e.g. an all-NULL list column)."""
    if warehouse.kind != "duckdb":
        return
    import duckdb

    from animerec_assets.lib.landing_tables import LANDING_SCHEMA, landing_ddl

    with duckdb.connect(warehouse.duckdb_path) as connection:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {LANDING_SCHEMA}")
        for item_type in LANDING_TABLE_COLUMNS:
            connection.execute(landing_ddl(item_type))


@dg.multi_asset(
    outs={
        item_type: dg.AssetOut(
            key=dg.AssetKey(["landing", item_type]),
            metadata={"partition_expr": "crawl_hour"},
            description=landing_description(item_type),
            kinds={"duckdb"},
        )
        for item_type in LANDING_TABLE_COLUMNS
    },
    group_name="landing",
    partitions_def=hourly_partitions,
    deps=[crawled_items],
    pool=DUCKDB_POOL,
    can_subset=False,
)
def landing_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    if load_settings().env == "prod":
        files = _worker_files_for_hour(context)
    else:
        files = sorted(partition_folder(context.partition_key).rglob("*.jsonl"))
    items = read_jsonl_items(files)
    hour = crawl_hour_value(context.partition_time_window.start)
    frames = items_to_landing_frames(items, hour)
    _ensure_landing_tables(warehouse)
    context.log.info(
        "landing rows: " + ", ".join(f"{name}={len(frame)}" for name, frame in frames.items())
    )
    for item_type, frame in frames.items():
        yield dg.Output(frame, output_name=item_type, metadata=landing_metadata(frames, item_type))
