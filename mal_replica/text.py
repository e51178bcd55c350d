"""Deterministic prose and display formats shared by the pages, the API and the export.

Text is derived from ids (not stored) so a million-user world does not carry megabytes of
synopses; the same id always gives the same words. Date formats follow what MAL prints, and
the export truncates timestamps to the precision those formats show, so ground truth equals
what a careful parser can read.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import numpy as np

from mal_replica import vocab

MINUTE = 60
HOUR = 3600
DAY = 86_400


def _pick(key: str, options: tuple[str, ...], count: int) -> list[str]:
    seed = zlib.crc32(key.encode())
    return [options[(seed >> (3 * i) ^ i * 2654435761) % len(options)] for i in range(count)]


def synopsis(anime_id: int, title: str, genres: list[str]) -> str:
    tags = ", ".join(g.lower() for g in genres[:3]) or "anime"
    body = " ".join(_pick(f"syn{anime_id}", vocab.REVIEW_SENTENCES, 2))
    return f"{title} is a story of {tags}. {body} [Written by the replica]"


def review_text(review_id: int, title: str) -> str:
    lines = _pick(f"rev{review_id}", vocab.REVIEW_SENTENCES, 5)
    return f"About {title}. " + " ".join(lines)


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=UTC)


def month_day_year(ts: int) -> str:
    """'Apr 1, 1998' — MAL's aired dates, join dates, review dates."""
    moment = utc(ts)
    return f"{moment:%b} {moment.day}, {moment.year}"


def clock(ts: int) -> str:
    """'2:25 PM'."""
    moment = utc(ts)
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M} {moment:%p}"


def month_day_year_clock(ts: int) -> str:
    """'Nov 10, 2022 2:25 PM' — friends since, older history entries."""
    return f"{month_day_year(ts)} {clock(ts)}"


def relative(ts: int, now: int) -> str:
    """MAL's recency wording: 'Now', '7 minutes ago', '5 hours ago', 'Yesterday, 2:25 PM',
    'Jan 11, 6:54 AM' (this year) or 'Dec 30, 2024 3:48 PM'."""
    delta = now - int(ts)
    if delta < MINUTE:
        return "Now"
    if delta < HOUR:
        minutes = delta // MINUTE
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    if delta < DAY:
        hours = delta // HOUR
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    moment, today = utc(ts), utc(now)
    if (today.date() - moment.date()).days == 1:
        return f"Yesterday, {clock(ts)}"
    if moment.year == today.year:
        return f"{moment:%b} {moment.day}, {clock(ts)}"
    return month_day_year_clock(ts)


def single_date(types: np.ndarray, episodes: np.ndarray) -> np.ndarray:
    """MAL prints one aired date (no 'to ...') for movies, music and one-episode titles."""
    return np.isin(types, ["Movie", "Music"]) | (episodes == 1)


def aired(start_ts: int, end_ts: int, airing_status: int, single_date: bool) -> str:
    """The 'Aired:' row: 'Apr 1, 1998 to Sep 30, 1998', 'Oct 5, 2024 to ?', or one date."""
    if airing_status == 2:
        return f"{month_day_year(start_ts)} to ?" if not single_date else month_day_year(start_ts)
    if single_date:
        return month_day_year(start_ts)
    end = month_day_year(end_ts) if end_ts >= 0 else "?"
    return f"{month_day_year(start_ts)} to {end}"


def duration(minutes: int, episodes: int) -> str:
    """The 'Duration:' row: '24 min. per ep.', '1 hr. 50 min.' (no 'per ep.' for one episode)."""
    if minutes >= 60:
        hours, rest = divmod(int(minutes), 60)
        value = f"{hours} hr. {rest} min." if rest else f"{hours} hr."
    else:
        value = f"{int(minutes)} min."
    return value + (" per ep." if episodes != 1 else "")


def season(start_ts: int) -> str:
    moment = utc(start_ts)
    name = ("Winter", "Spring", "Summer", "Fall")[(moment.month - 1) // 3]
    return f"{name} {moment.year}"


def mdy_short(ts: int) -> str:
    """load.json's '*_date_string' in the owner's MM-DD-YY format."""
    return f"{utc(ts):%m-%d-%y}"


def thousands(value: int) -> str:
    return f"{int(value):,}"


def iso(ts: int) -> str:
    """Jikan's timestamps: '2024-05-01T12:00:00+00:00'."""
    return utc(ts).isoformat()
