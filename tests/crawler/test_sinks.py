"""Item sinks chosen by ANIMEREC_SINKS: landing tables in a real DuckDB file, the items stream on
the real Redis server, and what happens to items when a backend refuses them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from animerec_assets.lib.redis_conn import RedisUnavailableError
from crawler.items import make_item
from crawler.pipelines import SinkPipeline, resolve_sink
from crawler.sinks import (
    DuckDBLandingWriter,
    LandingSink,
    RedisStreamSink,
    SinkWriteError,
    bigquery_schema,
    current_crawl_hour,
    decode_entry,
)

NOW = "2024-05-01T13:45:10+00:00"


def anime_item(anime_id: int) -> dict:
    return make_item(
        "anime",
        crawl_date=NOW,
        source="mal",
        url=f"https://myanimelist.net/anime/{anime_id}",
        anime_id=anime_id,
        title=f"Title {anime_id}",
        genres=["Action", "Drama"],
        score=8.5,
    )


def list_item(user: str, anime_id: int) -> dict:
    return make_item(
        "user_anime",
        crawl_date=NOW,
        source="mal",
        url=f"https://myanimelist.net/profile/{user}",
        user_id=user,
        anime_id=anime_id,
        score=7,
        status="completed",
        progress=12,
    )


def landing_rows(path: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(f'SELECT * FROM landing."{table}" ORDER BY ALL').fetchall()


def test_crawl_hour_is_the_current_utc_hour() -> None:
    moment = datetime(2024, 5, 1, 13, 45, 10, tzinfo=UTC)
    assert current_crawl_hour(moment) == "2024-05-01 13:00:00"


def test_landing_sink_appends_batches_to_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    clock = lambda: datetime(2024, 5, 1, 13, 45, tzinfo=UTC)  # noqa: E731
    sink = LandingSink(DuckDBLandingWriter(path), batch_size=2, unsent_dir=tmp_path, clock=clock)
    sink.write(anime_item(1))
    sink.write({"item_type": "discovered_url", "kind": "anime", "url": "x"})  # no landing table
    assert not path.exists()  # buffered: nothing written before a batch is full
    sink.write(list_item("Alice", 1))
    # a full batch is written and the file released, so another process can read it now
    assert len(landing_rows(path, "anime")) == 1 and len(landing_rows(path, "user_anime")) == 1
    sink.write(anime_item(2))
    sink.close()
    with duckdb.connect(str(path), read_only=True) as connection:
        anime = connection.execute(
            "SELECT anime_id, title, genres, score, crawl_hour, typeof(anime_id), typeof(genres)"
            " FROM landing.anime ORDER BY anime_id"
        ).fetchall()
    assert anime == [
        (1, "Title 1", ["Action", "Drama"], 8.5, "2024-05-01 13:00:00", "BIGINT", "VARCHAR[]"),
        (2, "Title 2", ["Action", "Drama"], 8.5, "2024-05-01 13:00:00", "BIGINT", "VARCHAR[]"),
    ]
    assert landing_rows(path, "user_anime")[0][4:9] == ("Alice", 1, 7, "completed", 12)
    assert sink.written == {"anime": 2, "user_anime": 1}
    assert sink.skipped == {"discovered_url": 1}


def test_landing_sink_from_settings_writes_the_settings_warehouse(animerec_home: Path) -> None:
    pipeline = SinkPipeline.from_crawler(get_crawler(settings_dict={"ANIMEREC_SINKS": ["landing"]}))
    (sink,) = pipeline.sinks
    assert isinstance(sink, LandingSink)
    pipeline.process_item(anime_item(7))
    pipeline.close_spider()
    rows = landing_rows(animerec_home / "warehouse.duckdb", "anime")
    assert [row[4] for row in rows] == [7]  # crawl_date, source, url, item_id, then anime_id
    assert rows[0][-1] == current_crawl_hour()


def test_a_refused_landing_batch_is_kept_then_saved_to_a_file(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-file.duckdb"
    blocked.mkdir()  # DuckDB cannot open a directory: every write fails
    unsent = tmp_path / "unsent"
    sink = LandingSink(DuckDBLandingWriter(blocked), batch_size=2, unsent_dir=unsent)
    items = [anime_item(1), anime_item(2), list_item("Bob", 2)]
    for item in items:
        sink.write(item)  # the crawl goes on: a failed batch stays buffered
    assert sink.failed_flushes == 1 and len(sink.buffer) == 3
    with pytest.raises(SinkWriteError, match="could not write 3 items") as raised:
        sink.close()
    (saved,) = unsent.glob("landing-*.jsonl")
    assert str(saved) in str(raised.value)
    restored = [json.loads(line) for line in saved.read_text().splitlines()]
    assert [(i["item_type"], i.get("anime_id")) for i in restored] == [
        ("anime", 1),
        ("anime", 2),
        ("user_anime", 2),
    ]
    assert all(i["crawl_hour"] == current_crawl_hour() for i in restored)


@pytest.fixture
def items_stream(redis_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("REDIS_URL", redis_server_url)
    stream = f"test:items:{uuid.uuid4().hex[:10]}"
    yield stream
    client = redis.Redis.from_url(redis_server_url)
    client.delete(stream)
    client.close()


def test_queue_sink_pushes_items_to_the_stream_in_batches(
    items_stream: str, redis_server_url: str, tmp_path: Path
) -> None:
    settings = {
        "ANIMEREC_SINKS": ["queue"],
        "ANIMEREC_ITEMS_STREAM": items_stream,
        "ANIMEREC_QUEUE_BATCH": 2,
        "ANIMEREC_JSONL_DIR": str(tmp_path),
    }
    pipeline = SinkPipeline.from_crawler(get_crawler(settings_dict=settings))
    (sink,) = pipeline.sinks
    assert isinstance(sink, RedisStreamSink)
    reader = redis.Redis.from_url(redis_server_url)
    items = [anime_item(1), list_item("Alice", 1), anime_item(2)]
    pipeline.process_item(items[0])
    assert reader.xlen(items_stream) == 0
    pipeline.process_item(items[1])
    assert reader.xlen(items_stream) == 2  # one pipelined batch
    pipeline.process_item(items[2])
    pipeline.close_spider()
    entries = reader.xrange(items_stream)
    assert [decode_entry(fields) for _, fields in entries] == items
    reader.close()


def test_queue_sink_refuses_to_start_without_redis(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(RedisUnavailableError):
        RedisStreamSink.from_settings(Settings({"ANIMEREC_JSONL_DIR": str(tmp_path)}))


def test_items_the_stream_refused_are_saved_to_a_file(tmp_path: Path) -> None:
    gone = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    sink = RedisStreamSink(gone, "s", batch_size=1, unsent_dir=tmp_path)
    sink.write(anime_item(1))
    sink.write(anime_item(2))
    with pytest.raises(SinkWriteError, match="queue sink could not write 2 items"):
        sink.close()
    (saved,) = tmp_path.glob("queue-*.jsonl")
    assert [json.loads(line)["anime_id"] for line in saved.read_text().splitlines()] == [1, 2]


def test_decode_entry_rejects_foreign_entries() -> None:
    assert decode_entry({b"item": b'{"item_type": "anime"}'}) == {"item_type": "anime"}
    with pytest.raises(ValueError, match="without an 'item' field"):
        decode_entry({b"kind": b"anime"})
    with pytest.raises(ValueError, match="not a JSON object"):
        decode_entry({"item": "[1]"})


def test_sink_names_and_bigquery_schema() -> None:
    assert resolve_sink("landing") == LandingSink.from_settings
    assert resolve_sink("queue") == RedisStreamSink.from_settings
    with pytest.raises(ValueError, match="'jsonl', 'landing', 'queue'"):
        resolve_sink("parquet")
    schema = dict((name, (kind, mode)) for name, kind, mode in bigquery_schema("anime"))
    assert schema["anime_id"] == ("INT64", "NULLABLE")
    assert schema["genres"] == ("STRING", "REPEATED")
    assert schema["crawl_hour"] == ("STRING", "NULLABLE")
    with pytest.raises(ValueError):
        bigquery_schema("nope")
