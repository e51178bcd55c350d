"""Visitors' feedback events: one hour of the Redis stream → rows of ``landing.feedback``.

The app and the API append events to ``STREAM_KEY`` (``animerec_assets/contracts/feedback.py``):
each entry's fields are the ``FEEDBACK_COLUMNS`` names except ``event_id`` (the entry id) and
``event_time`` (the entry id's millisecond timestamp), values are strings, ``""`` for None.
Entry ids are time-ordered, so an hour of events is one ``XRANGE``.

Crash safety comes from never deleting an event landing may still need: the landing asset does
not trim the stream (the writers bound it with ``MAXLEN``) except for entries past the retention,
which no landing would keep anyway. An hour's landing is what landing already holds for the
hour merged with what the stream holds, keyed by ``event_id``: a re-run, or a run killed between
any two steps, lands every event once, and an hour whose entries ``MAXLEN`` has since evicted
keeps the rows it landed.

Every entry passes the writers' own gate again (``lib/feedback/events.py``
``from_stream_fields``): one that does not fit the contract (someone wrote garbage to the
stream) is counted, by the field it failed on, and skipped; it never fails the hour.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from animerec_assets.contracts.feedback import (
    FEEDBACK_HOUR_COLUMN,
    FEEDBACK_LANDING_COLUMNS,
    FEEDBACK_TABLE,
)
from animerec_assets.lib.feedback.events import (
    EVENT_FIELDS,
    InvalidFeedbackError,
    event_time_of,
    from_stream_fields,
)
from animerec_assets.lib.landing import conform_columns, crawl_hour_value
from animerec_assets.lib.warehouse import Dialect

PAGE_SIZE = 10_000  # entries per XRANGE call
MAX_SEQUENCE = 2**64 - 1  # the largest sequence part of a stream entry id
SAMPLE_CAP = 5  # invalid entries quoted in the log
HOUR_COLUMN = FEEDBACK_HOUR_COLUMN[0]
LANDING_NAMES = [name for name, _ in FEEDBACK_LANDING_COLUMNS]


class StreamReader(Protocol):
    """What landing needs of a Redis client (``redis.Redis`` is one)."""

    def xrange(
        self, name: Any, min: Any = "-", max: Any = "+", count: int | None = None
    ) -> Any: ...


@dataclass
class HourOfEvents:
    """One hour of the stream: the rows that fit the contract, and what was skipped."""

    rows: pd.DataFrame
    entries: int
    invalid: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    @property
    def invalid_count(self) -> int:
        return sum(self.invalid.values())


def entry_id_ms(moment: datetime | pd.Timestamp) -> int:
    """Milliseconds since the epoch: the time part of a stream entry id."""
    return int(pd.Timestamp(moment).timestamp() * 1000)


def hour_id_range(start: datetime | pd.Timestamp, end: datetime | pd.Timestamp) -> tuple[str, str]:
    """The inclusive ``XRANGE`` bounds of the entries added in ``[start, end)``."""
    return f"{entry_id_ms(start)}-0", f"{entry_id_ms(end) - 1}-{MAX_SEQUENCE}"


def read_stream(
    client: StreamReader, key: str, first_id: str, last_id: str, page: int = PAGE_SIZE
) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Every entry of ``key`` from ``first_id`` to ``last_id`` (inclusive), a page at a time."""
    entries: list[tuple[bytes, dict[bytes, bytes]]] = []
    start = first_id
    while True:
        batch = client.xrange(key, min=start, max=last_id, count=page)
        entries.extend(batch)
        if len(batch) < page:
            return entries
        last = batch[-1][0]
        start = "(" + (last.decode() if isinstance(last, bytes) else str(last))


def event_time_text(moment: datetime | pd.Timestamp) -> str:
    """``moment`` as an ``event_time`` (the contract's format, so landed rows compare as text)."""
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime().astimezone(UTC).isoformat(timespec="milliseconds")


def _reason(error: InvalidFeedbackError) -> str:
    """What an invalid entry is counted under: the field it failed on (values stay out, so the
    counts stay a small table whatever garbage was written)."""
    message = str(error)
    if message.startswith("unknown field"):
        return "unknown field"
    found = re.match(r"[a-z_]+", message)
    name = found.group(0) if found else ""
    return f"{name}: invalid" if name in (*EVENT_FIELDS, "event_id") else "not an event"


def parse_entries(
    entries: Sequence[tuple[Any, Mapping[Any, Any]]], event_hour: str
) -> HourOfEvents:
    """The entries that fit the contract (``from_stream_fields``, the writers' own gate) as
    ``landing.feedback`` rows of ``event_hour``; the others counted by reason, a few quoted
    (cut and repr-escaped) for the log."""
    rows: list[dict[str, Any]] = []
    invalid: Counter[str] = Counter()
    samples: list[str] = []
    for entry_id, fields in entries:
        event_id = (
            entry_id.decode("utf-8", "replace") if isinstance(entry_id, bytes) else str(entry_id)
        )
        try:
            event = from_stream_fields(fields)
            event_time = event_time_of(event_id)
        except InvalidFeedbackError as error:
            invalid[_reason(error)] += 1
            if len(samples) < SAMPLE_CAP:
                samples.append(f"{event_id[:40]!r}: {str(error)[:200]}")
            continue
        rows.append(
            {
                "event_id": event_id,
                "event_time": event_time,
                **{name: getattr(event, name) for name in EVENT_FIELDS},
                HOUR_COLUMN: event_hour,
            }
        )
    frame = pd.DataFrame(rows, columns=LANDING_NAMES, dtype=object)
    return HourOfEvents(
        rows=conform_columns(frame, FEEDBACK_LANDING_COLUMNS),
        entries=len(entries),
        invalid=dict(sorted(invalid.items())),
        samples=samples,
    )


def merge_hour(landed: pd.DataFrame, fresh: pd.DataFrame, keep_from: str) -> pd.DataFrame:
    """The hour's rows: those landed before and those read now, once per ``event_id``, without
    events older than ``keep_from`` (an ``event_time``); sorted by entry id."""
    frames = [frame for frame in (landed, fresh) if not frame.empty]
    if not frames:
        return conform_columns(fresh, FEEDBACK_LANDING_COLUMNS)
    merged = conform_columns(pd.concat(frames, ignore_index=True), FEEDBACK_LANDING_COLUMNS)
    merged = merged.drop_duplicates(subset="event_id", keep="first")
    merged = merged[merged["event_time"] >= keep_from]
    if merged.empty:
        return merged.reset_index(drop=True)
    order = merged["event_id"].str.split("-", n=1, expand=True).astype("int64")
    merged = merged.assign(_ms=order[0], _seq=order[1]).sort_values(["_ms", "_seq"])
    return merged.drop(columns=["_ms", "_seq"]).reset_index(drop=True)


def retention_start(now: datetime, days: int) -> datetime:
    """The oldest moment whose events are kept."""
    return now - timedelta(days=days)


def landing_table_sql(dialect: Dialect, project: str | None = None) -> str:
    """``landing.feedback`` as the warehouse's SQL names it."""
    if dialect == "bigquery":
        prefix = f"{project}." if project else ""
        return f"`{prefix}landing.{FEEDBACK_TABLE}`"
    return f'landing."{FEEDBACK_TABLE}"'


def hour_rows_sql(table: str, event_hour: str) -> str:
    """The rows landed for one hour (``event_hour`` comes from the partition key, checked)."""
    return f"select * from {table} where {HOUR_COLUMN} = '{_checked_hour(event_hour)}'"


def expired_rows_sql(table: str, keep_from: str) -> str:
    """Delete landed events older than ``keep_from`` (an ``event_time``, checked)."""
    if not pd.Series([keep_from]).str.fullmatch(r"[0-9T:.+Z-]{1,32}").all():
        raise ValueError(f"not an event time: {keep_from!r}")
    return f"delete from {table} where event_time < '{keep_from}'"


def _checked_hour(event_hour: str) -> str:
    if not pd.Series([event_hour]).str.fullmatch(r"[0-9: -]{1,32}").all():
        raise ValueError(f"not an event hour: {event_hour!r}")
    return event_hour


def event_hour_value(partition_start: datetime | pd.Timestamp) -> str:
    """The ``event_hour`` of a partition (the same format as the crawl tables' ``crawl_hour``)."""
    return crawl_hour_value(pd.Timestamp(partition_start))
