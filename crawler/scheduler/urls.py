"""Canonical MAL URLs for the scheduler: what may enter the scheduler database and the queue.

The scheduler stores canonical URLs only (docs/data_contracts.md), so anything else is refused at
the door with a message naming the offending value. ``canonicalize`` is the lenient path for
human input (the web service): it accepts the usual MAL URL variants, usernames and ids, and
turns them into the one canonical form; ``validate_urls`` is the strict path for the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, get_args

Kind = Literal["anime", "profile"]
KINDS: tuple[Kind, ...] = get_args(Kind)

MAL_ORIGIN = "https://myanimelist.net"
MAX_URL_LENGTH = 255
# MAL usernames: 2-16 letters, digits, "_" or "-" (the same rule as crawler/urls.py). Anything
# hostile (spaces, quotes, slashes, dots, percent-escapes, SQL) can never match.
USERNAME_PATTERN = r"[A-Za-z0-9_-]{2,16}"
ANIME_ID_PATTERN = r"[1-9][0-9]{0,9}"

_CANONICAL = {
    "anime": re.compile(rf"{re.escape(MAL_ORIGIN)}/anime/{ANIME_ID_PATTERN}"),
    "profile": re.compile(rf"{re.escape(MAL_ORIGIN)}/profile/{USERNAME_PATTERN}"),
}
# Lenient forms a person may paste: http or https, optional www., an optional slug after the id,
# an optional trailing slash, a query string or fragment (dropped).
_LENIENT_URL = re.compile(
    rf"(?:https?://)?(?:www\.)?myanimelist\.net/"
    rf"(?:(?P<anime>anime)/(?P<anime_id>{ANIME_ID_PATTERN})(?:/[^/?#\s]*)?"
    rf"|(?P<profile>profile)/(?P<username>{USERNAME_PATTERN}))"
    rf"/?(?:[?#][^\s]*)?",
    re.IGNORECASE,
)
_USERNAME = re.compile(USERNAME_PATTERN)
_ANIME_ID = re.compile(ANIME_ID_PATTERN)


class InvalidUrlError(ValueError):
    """Some values are not canonical MAL URLs of the expected kind; nothing was written."""

    def __init__(self, kind: str, invalid: list[str]) -> None:
        self.kind = kind
        self.invalid = invalid
        shown = ", ".join(repr(value[:80]) for value in invalid[:5])
        more = f" and {len(invalid) - 5} more" if len(invalid) > 5 else ""
        super().__init__(
            f"{len(invalid)} value(s) are not canonical {kind} URLs "
            f"({MAL_ORIGIN}/{kind}/...; at most {MAX_URL_LENGTH} characters): {shown}{more}"
        )


def check_kind(kind: str) -> Kind:
    """Return ``kind`` if it names a scheduler table, else raise ValueError."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return kind  # type: ignore[return-value]


def anime_url(anime_id: int) -> str:
    return f"{MAL_ORIGIN}/anime/{int(anime_id)}"


def profile_url(username: str) -> str:
    return f"{MAL_ORIGIN}/profile/{username}"


def is_canonical(kind: Kind, url: object) -> bool:
    return (
        isinstance(url, str)
        and len(url) <= MAX_URL_LENGTH
        and _CANONICAL[kind].fullmatch(url) is not None
    )


def validate_urls(kind: str, urls: Iterable[str]) -> list[str]:
    """Check every URL before anything is written; return them de-duplicated, in order.

    Raises InvalidUrlError listing the bad values, so a caller never half-applies a batch.
    """
    checked_kind = check_kind(kind)
    unique = list(dict.fromkeys(urls))
    invalid = [url for url in unique if not is_canonical(checked_kind, url)]
    if invalid:
        raise InvalidUrlError(checked_kind, [str(url) for url in invalid])
    return unique


def kind_of(url: str) -> Kind:
    """The kind of a canonical URL; ValueError when it is neither."""
    for kind in KINDS:
        if is_canonical(kind, url):
            return kind
    raise InvalidUrlError("anime or profile", [url])


def canonicalize(value: str | int, default_kind: Kind | None = None) -> tuple[Kind, str]:
    """Turn a pasted MAL URL, a username or an anime id into ``(kind, canonical URL)``.

    Bare integers are anime ids; bare strings are usernames unless ``default_kind`` is
    ``"anime"`` (then digit strings are anime ids). Raises ValueError for anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a MAL URL, username or anime id: {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"anime ids are positive integers, got {value}")
        return "anime", anime_url(value)
    if not isinstance(value, str):
        raise ValueError(f"not a MAL URL, username or anime id: {value!r}")
    text = value.strip()
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"value longer than {MAX_URL_LENGTH} characters: {text[:80]!r}...")
    match = _LENIENT_URL.fullmatch(text)
    if match:
        if match.group("anime"):
            return "anime", anime_url(int(match.group("anime_id")))
        return "profile", profile_url(match.group("username"))
    if default_kind == "anime" and _ANIME_ID.fullmatch(text):
        return "anime", anime_url(int(text))
    if default_kind in (None, "profile") and _USERNAME.fullmatch(text):
        return "profile", profile_url(text)
    raise ValueError(f"not a MAL anime/profile URL, username or anime id: {text[:80]!r}")
