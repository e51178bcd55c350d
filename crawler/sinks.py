"""The landing-table and crawl-queue sinks (``ANIMEREC_SINKS = ["landing"]`` / ``["queue"]``).

``landing`` appends items to the warehouse's landing tables: the DuckDB file of
``load_settings().duckdb_path`` locally, BigQuery load jobs in production. Items are buffered
and written in batches (one transaction, or one load job per table, per batch) so a crawl does
not pay a warehouse round trip per item, and the DuckDB file is opened only for the moment of
a write: DuckDB allows one writing process, and Dagster or dbt may need it between batches.

``queue`` pushes items onto a Redis Stream (``animerec:items``) for a downstream consumer, in
pipelined batches of XADD.

Neither loses items when its backend fails: a failed batch stays buffered and is tried again
with the next batch; what still cannot be written when the spider closes goes to a JSON lines
file under ``<ANIMEREC_JSONL_DIR>/unsent/`` (replayable, same format as the ``jsonl`` sink)
and the close raises ``SinkWriteError`` naming that file. The buffer is bounded: while a
backend stays down, once it holds ``ANIMEREC_SINK_MAX_BUFFER`` items they are spilled to such
a file too (counted in ``spilled``), so memory stays flat however long the outage lasts.

Neither duplicates items when a batch is sent again: every item carries its ``item_id``
(``crawler.pipelines.ItemIdPipeline``). The stream sink adds an entry only if its id was not
added before (a dedupe key set in the same Lua call as the XADD); the landing sink's DuckDB
writer skips ids the table holds, and its BigQuery writer retries only the tables whose load
failed, each load under a job id derived from its rows, which BigQuery refuses to run twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd
from scrapy.settings import BaseSettings

from animerec_assets.contracts.landing import LANDING_COLUMNS, LANDING_TABLE_COLUMNS
from animerec_assets.lib.crash_points import crash_point

if TYPE_CHECKING:
    from google.cloud.bigquery import LoadJobConfig

log = logging.getLogger(__name__)

DEFAULT_LANDING_BATCH = 5_000
DEFAULT_QUEUE_BATCH = 500
DEFAULT_MAX_BUFFER = 50_000
ITEMS_STREAM = "animerec:items"
STREAM_FIELD = "item"  # each stream entry holds one item as JSON under this field


class SinkWriteError(RuntimeError):
    """A sink's backend refused its last items; they were saved to a file instead."""


def current_crawl_hour(now: datetime | None = None) -> str:
    """The ``crawl_hour`` value of the current UTC hour (the landing tables' partition)."""
    from animerec_assets.lib.landing import crawl_hour_value

    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return crawl_hour_value(pd.Timestamp(moment.replace(minute=0, second=0, microsecond=0)))


def save_unsent(folder: Path, sink_name: str, items: list[dict[str, Any]]) -> Path:
    """Write items a backend refused as JSON lines (the ``jsonl`` sink's format)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{sink_name}-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
    return path


def _unsent_dir(settings: BaseSettings) -> Path:
    from crawler.pipelines import output_dir

    return output_dir(settings) / "unsent"


class _BufferedSink:
    """Buffer, flush in batches, keep a failed batch for the next try, save it at close;
    spill the buffer to a file when a backend stays down long enough to fill it."""

    name = "sink"

    def __init__(
        self, batch_size: int, unsent_dir: Path, max_buffer: int = DEFAULT_MAX_BUFFER
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.unsent_dir = unsent_dir
        self.max_buffer = max(max_buffer, batch_size)
        self.buffer: list[dict[str, Any]] = []
        self.failed_flushes = 0
        self.spilled = 0
        self.spill_files: list[Path] = []
        self.flush_at = batch_size  # after a failure: one more batch before trying again

    def _send(self, items: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def _buffer(self, item: dict[str, Any]) -> None:
        self.buffer.append(item)
        if len(self.buffer) >= self.flush_at:
            self.flush(raise_errors=False)

    def flush(self, raise_errors: bool = True) -> None:
        if not self.buffer:
            return
        try:
            self._send(self.buffer)
        except Exception:
            self.failed_flushes += 1
            if raise_errors:
                self.flush_at = len(self.buffer) + self.batch_size
                raise
            if len(self.buffer) >= self.max_buffer:
                path = save_unsent(self.unsent_dir, self.name, self.buffer)
                self.spilled += len(self.buffer)
                self.spill_files.append(path)
                log.exception("%s sink: backend down, %d buffered items spilled to %s",
                              self.name, len(self.buffer), path)  # fmt: skip
                self.buffer = []
                self.flush_at = self.batch_size
                return
            self.flush_at = len(self.buffer) + self.batch_size
            log.exception("%s sink: writing %d items failed; kept for the next batch",
                          self.name, len(self.buffer))  # fmt: skip
            return
        self.buffer = []
        self.flush_at = self.batch_size

    def close(self) -> None:
        try:
            self.flush()
        except Exception as error:
            path = save_unsent(self.unsent_dir, self.name, self.buffer)
            count = len(self.buffer)
            self.buffer = []
            raise SinkWriteError(
                f"{self.name} sink could not write {count} items ({error}); saved to {path}"
            ) from error
        finally:
            self._release()

    def _release(self) -> None:
        """Free backend resources (connections); called once at close."""


# ---- landing tables --------------------------------------------------------------------------


class LandingWriter(Protocol):
    def append(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, int]: ...


class PartialAppendError(RuntimeError):
    """Some tables of a batch were written, others failed: retry only ``failed``."""

    def __init__(self, written: dict[str, int], failed: dict[str, BaseException]) -> None:
        super().__init__(f"landing tables failed: {sorted(failed)} (written: {sorted(written)})")
        self.written = written
        self.failed = failed


def load_job_id(item_type: str, frame: pd.DataFrame) -> str:
    """A BigQuery job id that names the rows being loaded: loading the same rows again reuses
    it, and BigQuery refuses a second job with one id (so a retry cannot append them twice)."""
    if "item_id" in frame.columns and frame["item_id"].notna().all():
        ids = frame["item_id"].astype(str)
    else:
        ids = pd.util.hash_pandas_object(frame.astype(str), index=False).astype(str)
    digest = hashlib.sha256("\n".join([item_type, *ids]).encode()).hexdigest()[:40]
    return f"animerec_landing_{item_type}_{digest}"


class DuckDBLandingWriter:
    """Appends a batch to ``landing.<item_type>`` tables of a DuckDB file, in one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, int]:
        import duckdb

        from animerec_assets.lib.landing_tables import append_landing

        self.path.parent.mkdir(parents=True, exist_ok=True)
        written: dict[str, int] = {}
        with duckdb.connect(str(self.path)) as connection:
            connection.execute("BEGIN TRANSACTION")
            try:
                for item_type, frame in frames.items():
                    written[item_type] = append_landing(connection, item_type, frame)
                connection.execute("COMMIT")
            except Exception:
                connection.execute("ROLLBACK")
                raise
        return written


BIGQUERY_TYPES = {"VARCHAR": "STRING", "BIGINT": "INT64", "DOUBLE": "FLOAT64"}


def bigquery_schema(item_type: str) -> list[tuple[str, str, str]]:
    """(name, BigQuery type, mode) per landing column: lists are REPEATED fields."""
    if item_type not in LANDING_TABLE_COLUMNS:
        raise ValueError(f"unknown landing table {item_type!r}")
    schema = []
    for name, sql_type in LANDING_TABLE_COLUMNS[item_type]:
        mode = "REPEATED" if sql_type.endswith("[]") else "NULLABLE"
        schema.append((name, BIGQUERY_TYPES[sql_type.removesuffix("[]")], mode))
    return schema


class BigQueryLandingWriter:
    """Appends a batch with one load job per landing table (``WRITE_APPEND``), production only.

    Load jobs rather than streaming inserts: they are free, atomic per table, and the rows are
    queryable at once for dbt's hourly run.
    """

    def __init__(self, project: str, dataset: str = "landing", location: str | None = None):
        from google.cloud import bigquery

        self.bigquery = bigquery
        self.client = bigquery.Client(project=project, location=location)
        self.dataset = f"{project}.{dataset}"

    def job_config(self, item_type: str) -> LoadJobConfig:
        bq = self.bigquery
        return bq.LoadJobConfig(
            write_disposition=bq.WriteDisposition.WRITE_APPEND,
            create_disposition=bq.CreateDisposition.CREATE_IF_NEEDED,
            schema=[bq.SchemaField(n, t, mode=m) for n, t, m in bigquery_schema(item_type)],
            # a column the contract added (always NULLABLE) joins a table created before it
            schema_update_options=[bq.SchemaUpdateOption.ALLOW_FIELD_ADDITION],
        )

    def append(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, int]:
        from google.api_core.exceptions import Conflict

        written: dict[str, int] = {}
        failed: dict[str, BaseException] = {}
        for item_type, frame in frames.items():
            job_id = load_job_id(item_type, frame)
            try:
                try:
                    job = self.client.load_table_from_dataframe(
                        frame,
                        f"{self.dataset}.{item_type}",
                        job_config=self.job_config(item_type),
                        job_id=job_id,
                    )
                    job.result()  # waits for the load; raises if BigQuery refused it
                    rows = job.output_rows
                except Conflict:  # these rows were loaded (or are loading) under this id
                    earlier = self.client.get_job(job_id)
                    earlier.result()
                    rows = getattr(earlier, "output_rows", 0)
                written[item_type] = int(rows or 0)
            except Exception as error:
                failed[item_type] = error
        if failed:
            raise PartialAppendError(written, failed)
        return written


def landing_writer_from_settings() -> LandingWriter:
    """DuckDB locally, BigQuery in production: the warehouse ``load_settings()`` names."""
    from animerec_assets.settings import SettingsError, load_settings

    settings = load_settings()
    if settings.warehouse == "duckdb":
        return DuckDBLandingWriter(settings.duckdb_path)
    if not settings.gcp_project:
        raise SettingsError("GCP_PROJECT must be set for the BigQuery landing sink")
    return BigQueryLandingWriter(settings.gcp_project, location=settings.bigquery_location)


class LandingSink(_BufferedSink):
    """Items → landing tables, ``crawl_hour`` = the UTC hour each item was written in.

    Records that are not crawl items (the seed spider's ``discovered_url``) have no landing
    table: they are counted in ``skipped`` and left to the other sinks.
    """

    name = "landing"

    def __init__(
        self,
        writer: LandingWriter,
        batch_size: int = DEFAULT_LANDING_BATCH,
        unsent_dir: Path = Path("unsent"),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_buffer: int = DEFAULT_MAX_BUFFER,
    ) -> None:
        super().__init__(batch_size, unsent_dir, max_buffer)
        self.writer = writer
        self.clock = clock
        self.written: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> LandingSink:
        return cls(
            landing_writer_from_settings(),
            settings.getint("ANIMEREC_LANDING_BATCH", DEFAULT_LANDING_BATCH),
            _unsent_dir(settings),
            max_buffer=settings.getint("ANIMEREC_SINK_MAX_BUFFER", DEFAULT_MAX_BUFFER),
        )

    def write(self, item: dict[str, Any]) -> None:
        item_type = item.get("item_type")
        if item_type not in LANDING_COLUMNS:
            if not self.skipped[str(item_type)]:
                log.info("landing sink: %r records have no landing table; skipped", item_type)
            self.skipped[str(item_type)] += 1
            return
        if not item.get("crawl_hour"):
            item = {**item, "crawl_hour": current_crawl_hour(self.clock())}
        self._buffer(item)

    def _send(self, items: list[dict[str, Any]]) -> None:
        from animerec_assets.lib.landing import items_to_landing_frames

        frames: dict[str, pd.DataFrame] = {}
        by_hour: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            by_hour.setdefault(str(item["crawl_hour"]), []).append(item)
        for hour, hour_items in by_hour.items():
            for item_type, frame in items_to_landing_frames(hour_items, hour).items():
                if not frame.empty:
                    frames[item_type] = (
                        pd.concat([frames[item_type], frame], ignore_index=True)
                        if item_type in frames
                        else frame
                    )
        crash_point("sink.before_send")
        try:
            self.written.update(self.writer.append(frames))
        except PartialAppendError as error:
            # what was written must not be sent again with the retry
            self.written.update(error.written)
            self.buffer = [i for i in self.buffer if i.get("item_type") not in error.written]
            raise


# ---- crawl items queue (Redis Stream) --------------------------------------------------------


def encode_entry(item: Mapping[str, Any]) -> dict[str, str]:
    return {STREAM_FIELD: json.dumps(item, ensure_ascii=False, default=str)}


def decode_entry(fields: Mapping[bytes | str, bytes | str]) -> dict[str, Any]:
    """The item of one stream entry (what a consumer of ``animerec:items`` reads)."""
    raw = fields.get(STREAM_FIELD, fields.get(STREAM_FIELD.encode()))
    if raw is None:
        raise ValueError(f"stream entry without an {STREAM_FIELD!r} field: {dict(fields)!r}")
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    item = json.loads(text)
    if not isinstance(item, dict):
        raise ValueError(f"stream entry is not a JSON object: {text[:80]!r}")
    return item


# KEYS: stream, dedupe key ; ARGV: item JSON, dedupe TTL (s), maxlen (0: none).
# Adds the entry only the first time its item id is seen (within the TTL): a batch sent again
# after a lost reply or a failed pipeline adds nothing twice.
_XADD_ONCE = """
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  return false
end
if tonumber(ARGV[3]) > 0 then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'item', ARGV[1])
end
return redis.call('XADD', KEYS[1], '*', 'item', ARGV[1])
"""
DEDUPE_TTL_S = 7 * 24 * 3600


class RedisStreamSink(_BufferedSink):
    """Items → a Redis Stream, one entry per item, pipelined per batch, each added at most
    once per ``item_id`` (a content hash for an item without one) within ``DEDUPE_TTL_S``.

    ``maxlen`` (approximate trimming) is off by default: a consumer that falls behind must not
    lose items; set ``ANIMEREC_ITEMS_STREAM_MAXLEN`` only where losing the oldest is acceptable.
    """

    name = "queue"

    def __init__(
        self,
        client: Any,
        stream: str = ITEMS_STREAM,
        batch_size: int = DEFAULT_QUEUE_BATCH,
        unsent_dir: Path = Path("unsent"),
        maxlen: int | None = None,
        max_buffer: int = DEFAULT_MAX_BUFFER,
    ) -> None:
        super().__init__(batch_size, unsent_dir, max_buffer)
        if not stream:
            raise ValueError("the items stream needs a name")
        self.client = client
        self.stream = stream
        self.maxlen = maxlen
        self.sent = 0
        self.repeats = 0  # items the stream already had (a resent batch)
        self._xadd_once = client.register_script(_XADD_ONCE)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> RedisStreamSink:
        from animerec_assets.lib.redis_conn import redis_client

        return cls(
            redis_client(),
            settings.get("ANIMEREC_ITEMS_STREAM") or ITEMS_STREAM,
            settings.getint("ANIMEREC_QUEUE_BATCH", DEFAULT_QUEUE_BATCH),
            _unsent_dir(settings),
            settings.getint("ANIMEREC_ITEMS_STREAM_MAXLEN", 0) or None,
            max_buffer=settings.getint("ANIMEREC_SINK_MAX_BUFFER", DEFAULT_MAX_BUFFER),
        )

    def write(self, item: dict[str, Any]) -> None:
        self._buffer(item)

    def dedupe_key(self, item: Mapping[str, Any], entry: str) -> str:
        identity = (
            item.get("item_id") or hashlib.sha1(entry.encode(), usedforsecurity=False).hexdigest()
        )
        return f"{self.stream}:seen:{identity}"

    def _send(self, items: list[dict[str, Any]]) -> None:
        pipeline = self.client.pipeline(transaction=False)
        for item in items:
            entry = encode_entry(item)[STREAM_FIELD]
            self._xadd_once(
                keys=[self.stream, self.dedupe_key(item, entry)],
                args=[entry, DEDUPE_TTL_S, self.maxlen or 0],
                client=pipeline,
            )
        added = pipeline.execute()
        crash_point("sink.after_send")  # sent, not yet known to be sent: resent after restart
        fresh = sum(1 for entry_id in added if entry_id)
        self.sent += fresh
        self.repeats += len(items) - fresh

    def _release(self) -> None:
        self.client.close()
