"""Sinks never write an item twice when a batch is sent again, and hold a bounded buffer while
their backend is down: a real Redis behind a proxy that loses replies, a Redis that is gone, a
real DuckDB file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis_fault_proxy import FaultyRedisProxy
from test_sinks import anime_item, landing_rows, list_item

from crawler.items import item_id
from crawler.pipelines import ItemIdPipeline
from crawler.sinks import (
    DuckDBLandingWriter,
    LandingSink,
    RedisStreamSink,
    decode_entry,
    load_job_id,
)


def with_ids(items: list[dict]) -> list[dict]:
    pipeline = ItemIdPipeline()
    return [pipeline.process_item(dict(item)) for item in items]


def test_item_ids_are_stable_and_distinct_within_a_page() -> None:
    first = with_ids([anime_item(1), list_item("Alice", 1), list_item("Alice", 2)])
    again = with_ids([anime_item(1), list_item("Alice", 1), list_item("Alice", 2)])
    assert [i["item_id"] for i in first] == [i["item_id"] for i in again]
    assert len({i["item_id"] for i in first}) == 3
    assert first[1]["item_id"] == item_id(first[1]["url"], first[1]["crawl_date"], 0)
    assert first[2]["item_id"] == item_id(first[2]["url"], first[2]["crawl_date"], 1)


def test_a_stream_batch_resent_after_a_lost_reply_adds_each_item_once(
    private_redis, tmp_path: Path
) -> None:
    proxy = FaultyRedisProxy(private_redis.port)
    try:
        proxy.drop_reply_to = b"EVALSHA"  # the batch runs on the server; its replies are lost
        client = redis.Redis.from_url(proxy.url, socket_timeout=3, retry=Retry(NoBackoff(), 0))
        sink = RedisStreamSink(client, "items", batch_size=4, unsent_dir=tmp_path)
        items = with_ids([anime_item(n) for n in range(1, 9)])
        for item in items[:4]:
            sink.write(item)  # the flush fails: the batch stays buffered
        assert sink.failed_flushes == 1 and len(sink.buffer) == 4
        direct = redis.Redis.from_url(private_redis.url)
        assert direct.xlen("items") == 4  # ... although Redis added it
        proxy.drop_reply_to = None
        for item in items[4:]:
            sink.write(item)  # the next flush sends the old batch again, with the new one
        sink.close()
        entries = [decode_entry(fields) for _, fields in direct.xrange("items")]
        assert [e["anime_id"] for e in entries] == list(range(1, 9))
        assert sink.repeats == 4 and sink.sent == 4  # counted by this client: 4 were unknown
    finally:
        proxy.close()


def test_the_buffer_spills_to_files_while_the_stream_is_down(tmp_path: Path) -> None:
    gone = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    sink = RedisStreamSink(gone, "s", batch_size=10, unsent_dir=tmp_path, max_buffer=30)
    largest = 0
    for n in range(1, 101):
        sink.write(anime_item(n))
        largest = max(largest, len(sink.buffer))
    assert largest <= 30 + 10 - 1
    spilled = [
        json.loads(line)["anime_id"]
        for path in sorted(sink.spill_files)
        for line in path.read_text().splitlines()
    ]
    assert sink.spilled == len(spilled) >= 60
    assert sorted(spilled + [i["anime_id"] for i in sink.buffer]) == list(range(1, 101))


def test_a_landing_batch_written_twice_lands_once(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    items = with_ids([anime_item(1), anime_item(2), list_item("Alice", 1)])
    for _ in range(2):  # e.g. the commit's reply was lost and the batch was sent again
        sink = LandingSink(DuckDBLandingWriter(path), batch_size=100, unsent_dir=tmp_path)
        for item in items:
            sink.write(dict(item, crawl_hour="2024-05-01 13:00:00"))
        sink.close()
    assert len(landing_rows(path, "anime")) == 2
    assert len(landing_rows(path, "user_anime")) == 1


def test_bigquery_load_job_ids_name_the_rows() -> None:
    frame = pd.DataFrame({"item_id": ["a", "b"], "anime_id": [1, 2]})
    assert load_job_id("anime", frame) == load_job_id("anime", frame.copy())
    assert load_job_id("anime", frame) != load_job_id("anime", frame.iloc[:1])
    assert load_job_id("anime", frame) != load_job_id("anime_stats", frame)
    assert load_job_id("anime", frame).startswith("animerec_landing_anime_")
