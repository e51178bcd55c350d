"""Crawl items → landing-table frames that match the crawler's declared contract.

A row that cannot be cast to its table's types (a 23-digit number, a non-finite float, a dict
where text belongs) goes to ``landing.quarantine`` with the reason and the whole row as JSON, so
one bad row never fails the hour's landing; the rest of the hour lands.

The warehouse creates a landing table from the first frame it is given and appends later
frames by position, so every frame must carry exactly the columns of the landing contract
(``animerec_assets.contracts.landing.LANDING_COLUMNS``), in that order, with stable types —
even when a crawl produced no row of that kind, or a page lacked a field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from animerec_assets.contracts.landing import (
    LANDING_COLUMNS,
    LANDING_TABLE_COLUMNS,
    QUARANTINE_TABLE,
    ColumnType,
)

CRAWL_HOUR_FORMAT = "%Y-%m-%d %H:%M:%S"

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
RAW_TEXT_CAP = 10_000  # longer strings are cut inside a quarantined row's JSON
URL_CAP = 2048


class LandingItemError(ValueError):
    """An item that cannot be placed in any landing table."""


def crawl_hour_value(partition_start: pd.Timestamp | str) -> str:
    """The ``crawl_hour`` column value for a partition: its start, as DuckDB compares it."""
    return pd.Timestamp(partition_start).strftime(CRAWL_HOUR_FORMAT)


# ---- what casts: one check per landing type (None = castable) ---------------------------------


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _bigint_problem(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, bool):
        return "a boolean is not a BIGINT"
    if isinstance(value, str):
        try:
            value = int(value.strip()) if value.strip().lstrip("-").isdigit() else float(value)
        except (ValueError, OverflowError):
            return "text that is not a number"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "not a finite number"
        if not value.is_integer():
            return "not a whole number"
        value = int(value)
    if not isinstance(value, int):
        return f"a {type(value).__name__} is not a BIGINT"
    return None if INT64_MIN <= value <= INT64_MAX else "outside BIGINT's range"


def _double_problem(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return f"a {type(value).__name__} is not a DOUBLE"
    try:
        number = float(value)
    except OverflowError:
        return "not a finite number"
    except ValueError:
        return "not a number"
    return None if math.isfinite(number) else "not a finite number"


def _varchar_problem(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return f"a {type(value).__name__} is not text"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text that is not valid Unicode (a lone surrogate)"
    return None


_SCALAR_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "BIGINT": _bigint_problem,
    "DOUBLE": _double_problem,
    "VARCHAR": _varchar_problem,
}


def _check_for(sql_type: str) -> Callable[[Any], str | None]:
    if not sql_type.endswith("[]"):
        return _SCALAR_CHECKS[sql_type]
    scalar = _SCALAR_CHECKS[sql_type.removesuffix("[]")]

    def element(entry: Any) -> str | None:
        # list entries go into the warehouse as they are: text must already be text
        if sql_type == "VARCHAR[]" and not isinstance(entry, str):
            return f"a {type(entry).__name__} is not text"
        return scalar(entry)

    def check_list(value: Any) -> str | None:
        if _missing(value):
            return None
        if not isinstance(value, list | tuple):
            return f"a {type(value).__name__} is not a list"
        for entry in value:
            if _missing(entry):
                return "a list with a null entry"
            if (problem := element(entry)) is not None:
                return f"list entry: {problem}"
        return None

    return check_list


def row_problems(item_type: str, frame: pd.DataFrame) -> pd.Series:
    """Per row, why it cannot be cast to ``landing.<item_type>`` (first column found), or None."""
    problems = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for name, sql_type in LANDING_COLUMNS[item_type]:
        if name not in frame.columns or name == "crawl_hour":
            continue
        found = frame[name].map(_check_for(sql_type))
        fresh = problems.isna() & found.notna()
        problems[fresh] = name + ": " + found[fresh].astype(str)
    return problems


# ---- conforming castable rows -------------------------------------------------------------------


def _as_int(value: Any) -> int | None:
    if _missing(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.lstrip("-").isdigit() else int(float(text))
    return int(value)


def _conform_column(values: pd.Series, sql_type: str) -> pd.Series:
    if sql_type.endswith("[]"):
        # Lists stay Python lists (None where the page had none) so the warehouse stores arrays.
        return values.map(lambda v: list(v) if isinstance(v, list | tuple) else None).astype(object)
    if sql_type == "BIGINT":  # exact: through Python ints, never through float64
        return pd.Series(pd.array([_as_int(v) for v in values], dtype="Int64"), index=values.index)
    if sql_type == "DOUBLE":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    return values.map(lambda v: None if _missing(v) else str(v)).astype("string")


def conform_to_landing(item_type: str, frame: pd.DataFrame, crawl_hour: str) -> pd.DataFrame:
    """``frame`` with exactly the columns of ``landing.<item_type>``, in order, typed.

    The rows must be castable (``row_problems`` finds nothing); ``items_to_landing_frames``
    sends the others to the quarantine.
    """
    if item_type not in LANDING_TABLE_COLUMNS:
        raise LandingItemError(f"unknown item_type {item_type!r}")
    frame = frame.assign(crawl_hour=crawl_hour)
    return conform_columns(frame, LANDING_TABLE_COLUMNS[item_type])


def conform_columns(frame: pd.DataFrame, columns: Sequence[tuple[str, ColumnType]]) -> pd.DataFrame:
    """``frame`` with exactly ``columns``, in order, typed as the landing vocabulary says
    (missing columns are NULL); the values must be castable."""
    conformed: dict[str, pd.Series] = {}
    for name, sql_type in columns:
        if name in frame.columns:
            values = _conform_column(frame[name], sql_type)
        else:
            values = _conform_column(pd.Series([None] * len(frame), index=frame.index), sql_type)
        conformed[name] = values
    return pd.DataFrame(conformed, columns=[name for name, _ in columns]).reset_index(drop=True)


def _json_safe(value: Any) -> Any:
    """A value JSON can hold: non-finite floats as text, long strings cut, odd types as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        if len(value) > RAW_TEXT_CAP:
            value = value[:RAW_TEXT_CAP] + f"...[{len(value) - RAW_TEXT_CAP} more characters]"
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)  # exact, and readable by any JSON parser
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return repr(value)


def quarantine_row(item: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """One ``landing.quarantine`` row: the item whole (as JSON) and why it did not land."""
    url = item.get("url")
    return {
        "item_type": str(item.get("item_type"))[:64],
        "url": url[:URL_CAP] if isinstance(url, str) else None,
        "reason": reason[:1000],
        "raw": json.dumps(_json_safe(dict(item)), ensure_ascii=False, allow_nan=False),
    }


def _object_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows as object columns: Python ints stay exact (from_records would make float64)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pd.DataFrame(
        {name: pd.Series([row.get(name) for row in rows], dtype=object) for name in names},
        index=pd.RangeIndex(len(rows)),
    )


def items_to_landing_frames(
    items: Iterable[Mapping[str, Any]], crawl_hour: str
) -> dict[str, pd.DataFrame]:
    """Group items by ``item_type`` into conformed frames, one per landing table (every table
    gets one, even empty); rows that cannot be cast go to the ``quarantine`` frame instead."""
    grouped: dict[str, list[Mapping[str, Any]]] = {name: [] for name in LANDING_COLUMNS}
    quarantined: list[dict[str, Any]] = []
    for item in items:
        item_type = item.get("item_type")
        if isinstance(item_type, str) and item_type in grouped:
            grouped[item_type].append(item)
        else:
            quarantined.append(quarantine_row(item, "item_type: not a landing table"))
    frames: dict[str, pd.DataFrame] = {}
    for name, rows in grouped.items():
        frame = _object_frame(rows)
        problems = row_problems(name, frame)
        bad = problems.notna()
        for position in problems.index[bad]:
            quarantined.append(quarantine_row(rows[position], str(problems[position])))
        frames[name] = conform_to_landing(name, frame[~bad], crawl_hour)
    frames[QUARANTINE_TABLE] = conform_to_landing(
        QUARANTINE_TABLE, _object_frame(quarantined), crawl_hour
    )
    return frames


def quarantine_counts(frames: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Quarantined rows per item type (what the landing asset shows in its metadata)."""
    quarantine = frames.get(QUARANTINE_TABLE)
    if quarantine is None or quarantine.empty:
        return {}
    counts = quarantine["item_type"].astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.sort_index().items()}


def landing_description(table: str) -> str:
    if table == QUARANTINE_TABLE:
        return "Crawled rows that could not be cast to their landing table, with the reason."
    return f"Crawled `{table}` items, one partition per crawl hour."


def landing_metadata(frames: Mapping[str, pd.DataFrame], table: str) -> dict[str, int]:
    """Metadata for one landing table's output: its rows, and the rows of its kind quarantined
    (for the quarantine table itself: every quarantined row)."""
    quarantined = quarantine_counts(frames)
    if table == QUARANTINE_TABLE:
        return {"rows": len(frames[table]), "quarantined": sum(quarantined.values())}
    return {"rows": len(frames[table]), "quarantined": quarantined.get(table, 0)}


def read_jsonl_items(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every item in the given JSON lines files (a crawl's output), in order.

    A line that is not valid JSON (a crawl killed mid-write) is skipped, not fatal: the item it
    held is recrawled later because its URL was never marked crawled.
    """
    items: list[dict[str, Any]] = []
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                line = line.strip()
                if not line:
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(item, dict):
                    items.append(item)
    return items
