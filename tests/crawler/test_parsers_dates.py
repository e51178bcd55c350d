"""MAL date strings -> ISO, relative ones resolved against the crawl time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.parsers.dates import resolve_date, split_aired, unix_to_iso

NOW = datetime(2026, 1, 17, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Now", "2026-01-17T12:00:00"),
        ("7 hours ago", "2026-01-17T05:00:00"),
        ("1 minute ago", "2026-01-17T11:59:00"),
        ("an hour ago", "2026-01-17T11:00:00"),
        ("3 days ago", "2026-01-14T12:00:00"),
        ("Yesterday, 2:25 PM", "2026-01-16T14:25:00"),
        ("Today, 12:05 AM", "2026-01-17T00:05:00"),
        ("Jan 11, 6:54 AM", "2026-01-11T06:54:00"),
        ("Dec 30, 4:57 PM", "2025-12-30T16:57:00"),  # no year, would be future: last year
        ("Dec 30, 2025 3:48 PM", "2025-12-30T15:48:00"),
        ("Nov 10, 2022 2:25 PM", "2022-11-10T14:25:00"),
        ("Feb 26, 2014", "2014-02-26"),
        ("Apr 1998", "1998-04"),
        ("1998", "1998"),
        ("2022-12-06T07:42:00+00:00", "2022-12-06T07:42:00+00:00"),
        ("?", None),
        ("Not available", None),
        ("Feb 31, 2014", None),
        ("gibberish", None),
        (None, None),
    ],
)
def test_resolve_date(text: str | None, expected: str | None) -> None:
    assert resolve_date(text, NOW) == expected


def test_split_aired() -> None:
    assert split_aired("Apr 1, 1998 to Sep 30, 1998", NOW) == ("1998-04-01", "1998-09-30")
    assert split_aired("Oct 20, 1999 to ?", NOW) == ("1999-10-20", None)
    assert split_aired("Aug 25, 2001", NOW) == ("2001-08-25", None)
    assert split_aired(None, NOW) == (None, None)


def test_unix_to_iso() -> None:
    assert unix_to_iso(1249947791) == "2009-08-10T23:43:11"
    assert unix_to_iso(0) is None and unix_to_iso("") is None and unix_to_iso("x") is None
