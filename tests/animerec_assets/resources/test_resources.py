"""The environment's resources: what ``build_resources`` picks, and what each one does."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from animerec_assets.contracts.landing import LANDING_TABLE_COLUMNS
from animerec_assets.lib.crawl_manifest import record_completed
from animerec_assets.lib.dbt_paths import DUCKDB_PATH_VAR
from animerec_assets.resources import (
    FolderExportTarget,
    GcsExportTarget,
    InProcessCrawlRunner,
    QueueCrawlRunner,
    RedisResource,
    WarehouseResource,
    build_resources,
)
from animerec_assets.settings import load_settings
from crawler.queue import CrawlQueue
from crawler.urls import anime_url, profile_url
from crawler.worker import CrawlBatchError

HOUR = "2026-11-20-05:00"
START = datetime(2026, 11, 20, 5, tzinfo=UTC)
END = START + timedelta(hours=1)


def test_local_crawls_in_the_run_and_exports_to_a_folder(animerec_home: Path) -> None:
    resources = build_resources(load_settings())
    runner = resources["crawl_runner"]
    assert isinstance(runner, InProcessCrawlRunner)
    assert runner.output_dir == str(animerec_home / "crawl")
    target = resources["export_target"]
    assert isinstance(target, FolderExportTarget)
    assert target.folder == str(animerec_home / "export")


def test_prod_enqueues_for_the_workers_and_exports_to_gcs(
    animerec_home: Path, prod_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in prod_env.items():
        monkeypatch.setenv(name, value)
    resources = build_resources(load_settings())
    runner = resources["crawl_runner"]
    assert isinstance(runner, QueueCrawlRunner)
    assert runner.redis.url == prod_env["REDIS_URL"]
    target = resources["export_target"]
    assert isinstance(target, GcsExportTarget)
    assert target.uri == "gs://animerec-models/artifacts/dataset_export"


def test_in_process_runner_reads_only_its_hours_folder(tmp_path: Path) -> None:
    runner = InProcessCrawlRunner(output_dir=str(tmp_path))
    folder = runner.partition_folder(HOUR)
    assert folder == tmp_path / "partitions" / "2026-11-20-0500"
    (folder / "anime").mkdir(parents=True)
    (folder / "anime" / "batch.jsonl").write_text("{}\n")
    other = runner.partition_folder("2026-11-20-06:00")
    other.mkdir(parents=True)
    (other / "batch.jsonl").write_text("{}\n")
    assert runner.item_files(HOUR, START, END) == [folder / "anime" / "batch.jsonl"]


def test_queue_runner_enqueues_on_redis_and_loads_the_batches_the_manifest_names(
    animerec_home: Path,
) -> None:
    redis = RedisResource(url="", embedded_dir=str(animerec_home / "redis"))
    runner = QueueCrawlRunner(output_dir=str(animerec_home / "crawl"), redis=redis)
    urls = {"anime": [anime_url(1), anime_url(5)], "profile": [profile_url("alice")]}
    summary = runner.crawl(HOUR, urls, lambda _: None)
    assert summary["enqueued"] == {"anime": 2, "profile": 1}
    assert CrawlQueue(redis.get_client()).stats().length == 3

    items = animerec_home / "crawl" / "items"
    items.mkdir(parents=True)
    for name, finished in [("before", START - timedelta(days=1)), ("inside", START),
                           ("after", END + timedelta(days=1))]:  # fmt: skip
        path = items / f"{name}.jsonl"
        path.write_text("{}\n")
        os.utime(path, (finished.timestamp(), finished.timestamp()))  # the clock decides nothing
        record_completed(path, "anime", urls=1, items=1)
    (items / "unfinished.jsonl").write_text("{}\n")  # renamed, never recorded: not loaded
    found = runner.item_files(HOUR, START, END)
    assert [path.name for path in found] == ["after.jsonl", "before.jsonl", "inside.jsonl"]
    assert runner.mark_loaded(HOUR, START, found) == 3
    assert runner.item_files(HOUR + "x", END, END + timedelta(hours=1)) == []  # next hour
    assert len(runner.item_files(HOUR, START, END)) == 3  # a re-run of the hour


def test_landing_waits_for_the_queue_to_drain_or_times_out(animerec_home: Path) -> None:
    redis = RedisResource(url="", embedded_dir=str(animerec_home / "redis"))
    runner = QueueCrawlRunner(
        output_dir=str(animerec_home / "crawl"), redis=redis, drain_timeout_s=1.0,
        drain_poll_s=0.1,
    )  # fmt: skip
    said: list[str] = []
    assert runner.wait_for_batch(HOUR, said.append)["outcome"] == "drained"
    queue = CrawlQueue(redis.get_client())
    queue.enqueue("anime", [anime_url(1), anime_url(2)])
    queue.read("w", 1)  # one in progress, one waiting
    waited = runner.wait_for_batch(HOUR, said.append)
    assert (waited["outcome"], waited["backlog"], waited["pending"]) == ("timed out", 1, 1)
    assert "NOT drained" in said[-1]


def test_a_failed_in_process_crawl_keeps_the_hours_last_crawl(
    animerec_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = InProcessCrawlRunner(output_dir=str(animerec_home / "crawl"))
    hour = runner.partition_folder(HOUR)
    hour.mkdir(parents=True)
    (hour / "earlier.jsonl").write_text("{}\n")

    def half_then_fail(kind, urls, sink):  # type: ignore[no-untyped-def]
        (sink.output_dir / "half.jsonl").write_text("{}\n")  # one batch written, ...
        raise CrawlBatchError("the second batch exited with 3")  # ... the next one failed

    monkeypatch.setattr("crawler.worker.crawl_batch", half_then_fail)
    with pytest.raises(CrawlBatchError):
        runner.crawl(HOUR, {"anime": [anime_url(1)]}, lambda _: None)
    assert [p.name for p in runner.item_files(HOUR, START, END)] == ["earlier.jsonl"]
    assert [p.name for p in hour.parent.iterdir()] == [hour.name]  # nothing half-written left


def test_duckdb_warehouse_creates_landing_and_names_itself_to_dbt(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    warehouse = WarehouseResource(kind="duckdb", duckdb_path=str(path))
    warehouse.ensure_landing_tables()
    warehouse.ensure_landing_tables()  # idempotent
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute(
            "select table_name from information_schema.tables where table_schema = 'landing'"
        ).fetchall()
    assert {name for (name,) in tables} == set(LANDING_TABLE_COLUMNS)
    flag, value = warehouse.dbt_args()
    assert flag == "--vars" and DUCKDB_PATH_VAR in value and str(path) in value
    assert WarehouseResource(kind="bigquery", gcp_project="p").dbt_args() == []
    # dbt's target folder stays put from one hourly run of a step to the next (partial parse)
    staging = warehouse.dbt_target_path("staging")
    assert staging == tmp_path.resolve() / "dbt_target" / "staging"
    assert warehouse.dbt_target_path("processed") != staging
    assert WarehouseResource(kind="bigquery", gcp_project="p").dbt_target_path("staging") is None
