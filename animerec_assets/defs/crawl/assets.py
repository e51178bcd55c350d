"""Crawl assets: the hour's batch from the scheduler → crawled items → landing tables.

``crawl/scheduled_batch[hour]`` asks the crawl scheduler what to crawl next.
``crawl/crawled_items[hour]`` hands the batch to the ``crawl_runner`` resource: locally it runs
the Scrapy spiders in a subprocess, in production it puts the batch on the Redis Streams queue
for the crawler workers (``animerec_assets/resources/crawl.py``). ``landing/<item_type>[hour]``
loads what was crawled into one landing table per item type, partitioned by ``crawl_hour``:
re-materializing an hour replaces that hour's rows, so a partition never holds duplicates.
"""

# (no postponed annotations: Dagster reads the Config and resource annotations at runtime)

import dagster as dg
import pandas as pd

from animerec_assets.contracts.landing import LANDING_TABLE_COLUMNS
from animerec_assets.defs.crawl.partitions import hourly_partitions
from animerec_assets.defs.keys import DUCKDB_POOL, LANDING, landing_key
from animerec_assets.lib.landing import (
    crawl_hour_value,
    items_to_landing_frames,
    landing_description,
    landing_metadata,
    read_jsonl_items,
)
from animerec_assets.resources import CrawlRunnerResource, SchedulerResource, WarehouseResource

KINDS = ("anime", "profile")


class CrawlBatchConfig(dg.Config):
    """How much one hour crawls (the demo raises these to crawl a whole replica world)."""

    anime_per_hour: int = 200
    profiles_per_hour: int = 200


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
def crawled_items(
    context: dg.AssetExecutionContext,
    crawl_runner: CrawlRunnerResource,
    scheduled_batch: pd.DataFrame,
) -> dg.MaterializeResult:
    urls_by_kind = {
        kind: scheduled_batch.loc[scheduled_batch["kind"] == kind, "url"].tolist() for kind in KINDS
    }
    summary = crawl_runner.crawl(context.partition_key, urls_by_kind, context.log.info)
    return dg.MaterializeResult(
        metadata={
            "urls": len(scheduled_batch),
            "summary": dg.MetadataValue.json(summary),
            **{f"items/{k}": v for k, v in sorted(summary.get("items", {}).items())},
        }
    )


@dg.multi_asset(
    outs={
        item_type: dg.AssetOut(
            key=landing_key(item_type),
            metadata={"partition_expr": "crawl_hour"},
            description=landing_description(item_type),
            kinds={"duckdb"},
        )
        for item_type in LANDING_TABLE_COLUMNS
    },
    group_name=LANDING,
    partitions_def=hourly_partitions,
    deps=[crawled_items],
    pool=DUCKDB_POOL,
    can_subset=False,
)
def landing_tables(
    context: dg.AssetExecutionContext,
    crawl_runner: CrawlRunnerResource,
    warehouse: WarehouseResource,
):
    window = context.partition_time_window
    waited = crawl_runner.wait_for_batch(context.partition_key, context.log.info)
    files = crawl_runner.item_files(context.partition_key, window.start, window.end)
    frames = items_to_landing_frames(read_jsonl_items(files), crawl_hour_value(window.start))
    warehouse.ensure_landing_tables()
    context.log.info(
        f"landing {len(files)} batch files ({waited['outcome']}): "
        + ", ".join(f"{name}={len(frame)}" for name, frame in frames.items())
    )
    for item_type, frame in frames.items():
        yield dg.Output(
            frame,
            output_name=item_type,
            metadata={
                **landing_metadata(frames, item_type),
                "files": len(files),
                "queue": waited["outcome"],
            },
        )
    # every output is stored by now: only then are the files marked as this hour's
    crawl_runner.mark_loaded(context.partition_key, window.start, files)
