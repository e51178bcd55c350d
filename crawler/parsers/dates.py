"""MAL's many date spellings -> ISO-8601 strings, relative ones resolved against crawl time.

MAL writes "5 hours ago", "Yesterday, 2:25 PM", "Jan 1, 4:57 PM" (this year), "Dec 30, 2025
3:48 PM", "Feb 26, 2014", "Apr 1998" or "?". The landing tables keep what could be read as an
ISO string (date-only or partial dates stay partial) and None for the rest; staging casts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_UNITS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
_TIME = r"(\d{1,2}):(\d{2})\s*([AaPp][Mm])"
_AGO = re.compile(r"^(\d+|an?|one)\s+(second|minute|hour|day|week)s?\s+ago$", re.I)
_DAY_WORD = re.compile(rf"^(today|yesterday),?\s+{_TIME}$", re.I)
_FULL = re.compile(rf"^([A-Za-z]{{3,9}})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})(?:,?\s+{_TIME})?$")
_NO_YEAR = re.compile(rf"^([A-Za-z]{{3,9}})\.?\s+(\d{{1,2}}),?\s+{_TIME}$")
_MONTH_YEAR = re.compile(r"^([A-Za-z]{3,9})\.?,?\s+(\d{4})$")
_YEAR = re.compile(r"^(\d{4})$")
_ISO = re.compile(r"^\d{4}-\d{2}(-\d{2}([T ][\d:.]+([+-]\d{2}:?\d{2}|Z)?)?)?$")


def _naive_utc(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now


def _month(name: str) -> int | None:
    return _MONTHS.get(name[:3].lower())


def _clock(hour: str, minute: str, ampm: str) -> tuple[int, int]:
    h = int(hour) % 12 + (12 if ampm.lower() == "pm" else 0)
    return h, int(minute)


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def resolve_date(text: str | None, now: datetime) -> str | None:
    """One MAL date string -> ISO-8601 (None when it names no date)."""
    if text is None:
        return None
    text = re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()
    if not text or text in {"?", "-", "N/A"} or text.lower() in {"not available", "unknown"}:
        return None
    if _ISO.match(text):
        return text
    base = _naive_utc(now)
    lowered = text.lower()
    if lowered in {"now", "just now"}:
        return _iso(base)
    if m := _AGO.match(text):
        count = 1 if m.group(1).lower() in {"a", "an", "one"} else int(m.group(1))
        return _iso(base - count * _UNITS[m.group(2).lower()])
    if m := _DAY_WORD.match(text):
        day = base.date() - timedelta(days=1 if m.group(1).lower() == "yesterday" else 0)
        h, mi = _clock(m.group(2), m.group(3), m.group(4))
        return _iso(datetime(day.year, day.month, day.day, h, mi))
    if (m := _FULL.match(text)) and (month := _month(m.group(1))):
        try:
            if m.group(4):
                h, mi = _clock(m.group(4), m.group(5), m.group(6))
                return _iso(datetime(int(m.group(3)), month, int(m.group(2)), h, mi))
            return datetime(int(m.group(3)), month, int(m.group(2))).date().isoformat()
        except ValueError:
            return None
    if (m := _NO_YEAR.match(text)) and (month := _month(m.group(1))):
        h, mi = _clock(m.group(3), m.group(4), m.group(5))
        try:
            moment = datetime(base.year, month, int(m.group(2)), h, mi)
            if moment > base + timedelta(days=1):  # "Dec 30" read in January: last year
                moment = moment.replace(year=base.year - 1)
        except ValueError:
            return None
        return _iso(moment)
    if (m := _MONTH_YEAR.match(text)) and (month := _month(m.group(1))):
        return f"{int(m.group(2)):04d}-{month:02d}"
    if m := _YEAR.match(text):
        return m.group(1)
    return None


def split_aired(text: str | None, now: datetime) -> tuple[str | None, str | None]:
    """'Apr 1, 1998 to Sep 30, 1998' -> ('1998-04-01', '1998-09-30'); one date -> (d, None)."""
    if not text:
        return None, None
    parts = re.split(r"\s+to\s+", text.strip(), maxsplit=1)
    start = resolve_date(parts[0], now)
    end = resolve_date(parts[1], now) if len(parts) > 1 else None
    return start, end


def unix_to_iso(value: int | str | None) -> str | None:
    """A unix time (MAL's ``updated_at``) -> ISO UTC; 0/empty -> None."""
    try:
        seconds = int(value) if value is not None and value != "" else 0
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    return _iso(datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None))
