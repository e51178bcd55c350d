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

An entry that does not fit the contract (someone wrote garbage to the stream) is counted, with
the reason, and skipped; it never fails the hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from animerec_assets.contracts.feedback import (
    FEEDBACK_ACTIONS,
    FEEDBACK_COLUMNS,
    FEEDBACK_HOUR_COLUMN,
    FEEDBACK_LANDING_COLUMNS,
    FEEDBACK_ORIGINS,
    FEEDBACK_TABLE,
    MAX_MODEL_VERSION_LEN,
    MAX_POSITION,
    MAX_SESSION_ID_LEN,
    MAX_USERNAME_LEN,
    REASON_TYPES,
)
from animerec_assets.lib.landing import conform_columns, crawl_hour_value
from animerec_assets.lib.warehouse import Dialect

EVENT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"  # then cut to milliseconds and "Z"
PAGE_SIZE = 10_000  # entries per XRANGE call
MAX_SEQUENCE = 2**64 - 1  # the largest sequence part of a stream entry id
VALUE_CAP = 256  # no valid field is longer; a longer value is cut before it is checked
SAMPLE_CAP = 5  # invalid entries quoted in the log

# Fields an entry carries (the rest of FEEDBACK_COLUMNS is derived from the entry id).
ENTRY_FIELDS: tuple[str, ...] = tuple(
    name for name, _ in FEEDBACK_COLUMNS if name not in ("event_id", "event_time")
)
HOUR_COLUMN = FEEDBACK_HOUR_COLUMN[0]

_ID = r"[1-9][0-9]{0,17}"  # a positive id that fits BIGINT
# Per field: the pattern a valid value matches in full ("" = None where it may be empty).
FIELD_PATTERNS: dict[str, str] = {
    "session_id": rf"[A-Za-z0-9_.:-]{{1,{MAX_SESSION_ID_LEN}}}",
    "username": rf"(?:[A-Za-z0-9_-]{{2,{MAX_USERNAME_LEN}}})?",
    "model_version": rf"[A-Za-z0-9_.:+-]{{1,{MAX_MODEL_VERSION_LEN}}}",
    "anime_id": rf"(?:{_ID})?",
    "position": r"(?:[0-9]{1,4})?",
    "reason_type": "(?:" + "|".join(REASON_TYPES) + ")?",
    "reason_anime_id": rf"(?:{_ID})?",
    "action": "(?:" + "|".join(FEEDBACK_ACTIONS) + ")",
    "origin": "(?:" + "|".join(FEEDBACK_ORIGINS) + ")",
}
# Actions about one card, which must name its anime ("more" asks for the next five).
CARD_ACTIONS = tuple(action for action in FEEDBACK_ACTIONS if action != "more")


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


def _text(value: Any) -> str | None:
    """A field's value as text, cut to VALUE_CAP + 1 (so an over-long one still fails)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value[: VALUE_CAP + 1].decode("utf-8", "replace")
    return str(value)[: VALUE_CAP + 1]


def event_time_of(event_ids: pd.Series) -> pd.Series:
    """ISO-8601 UTC with milliseconds (``2026-11-30T01:02:03.456Z``) from entry ids."""
    millis = pd.to_numeric(event_ids.str.split("-", n=1).str[0], errors="coerce")
    times = pd.to_datetime(millis, unit="ms", utc=True)
    return times.dt.strftime(EVENT_TIME_FORMAT).str[:-3] + "Z"


def event_time_text(moment: datetime | pd.Timestamp) -> str:
    """``moment`` in the ``event_time`` format (for comparing with landed rows as text)."""
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime(EVENT_TIME_FORMAT)[:-3] + "Z"


def entry_problems(raw: pd.DataFrame) -> pd.Series:
    """Per entry, why it does not fit the contract (the first field found), or None."""
    problems = pd.Series([None] * len(raw), index=raw.index, dtype=object)

    def flag(mask: pd.Series, reason: str) -> None:
        fresh = problems.isna() & mask.fillna(False).astype(bool)
        problems[fresh] = reason

    flag(
        ~raw["event_id"].str.fullmatch(r"[0-9]{1,15}-[0-9]{1,20}", na=False),
        "event_id: not an entry id",
    )
    for name, pattern in FIELD_PATTERNS.items():
        values = raw[name]
        flag(values.isna(), f"{name}: missing")
        flag(values.notna() & ~values.str.fullmatch(pattern, na=False), f"{name}: not valid")
    position = pd.to_numeric(raw["position"].where(raw["position"] != ""), errors="coerce")
    flag(position > MAX_POSITION, f"position: above {MAX_POSITION}")
    flag(raw["action"].isin(CARD_ACTIONS) & (raw["anime_id"] == ""), "anime_id: missing for a card")
    return problems


def parse_entries(entries: Sequence[tuple[Any, dict[Any, Any]]], event_hour: str) -> HourOfEvents:
    """The entries that fit the contract as ``landing.feedback`` rows of ``event_hour``; the
    others counted by reason (a few quoted, cut and escaped, for the log)."""
    keys = {name: name.encode() for name in ENTRY_FIELDS}
    raw = pd.DataFrame(
        {
            "event_id": pd.Series([_text(entry_id) for entry_id, _ in entries], dtype=object),
            **{
                name: pd.Series(
                    [_text(fields.get(key, fields.get(name))) for _, fields in entries],
                    dtype=object,
                )
                for name, key in keys.items()
            },
        }
    ).astype("string")
    problems = entry_problems(raw)
    bad = problems.notna()
    invalid = {str(k): int(v) for k, v in problems[bad].value_counts().sort_index().items()}
    samples = [
        f"{raw.at[index, 'event_id']!r}: {problems[index]}"
        for index in problems.index[bad][:SAMPLE_CAP]
    ]
    good = raw[~bad].copy()
    good = good.replace("", pd.NA)  # "" is None in the stream's encoding
    good["event_time"] = event_time_of(good["event_id"].astype("string"))
    good[HOUR_COLUMN] = event_hour
    rows = conform_columns(good, FEEDBACK_LANDING_COLUMNS)
    return HourOfEvents(rows=rows, entries=len(entries), invalid=invalid, samples=samples)


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
    if not pd.Series([keep_from]).str.fullmatch(r"[0-9T:.Z-]{1,32}").all():
        raise ValueError(f"not an event time: {keep_from!r}")
    return f"delete from {table} where event_time < '{keep_from}'"


def _checked_hour(event_hour: str) -> str:
    if not pd.Series([event_hour]).str.fullmatch(r"[0-9: -]{1,32}").all():
        raise ValueError(f"not an event hour: {event_hour!r}")
    return event_hour


def event_hour_value(partition_start: datetime | pd.Timestamp) -> str:
    """The ``event_hour`` of a partition (the same format as the crawl tables' ``crawl_hour``)."""
    return crawl_hour_value(pd.Timestamp(partition_start))
