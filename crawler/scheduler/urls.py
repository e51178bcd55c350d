"""Canonical MAL URLs for the scheduler: what may enter the scheduler database and the queue.

The rules themselves (what a username is, what a canonical URL looks like, which paths name an
anime or a profile) live in ``crawler/urls.py``; this module only adds the two doors the
scheduler needs. ``validate_urls`` is the strict door for the database: canonical URLs only, a
whole batch refused at once with a message naming the offending values. ``canonicalize`` is the
lenient door for human input (the web service): the usual MAL URL variants, bare usernames and
anime ids, put in the one canonical form.

Profile keys are case-folded here: MAL usernames are case-insensitive (``/profile/Ryuu3681`` and
``/profile/RYUU3681`` are one page), so the scheduler and the queue key a profile by its
canonical URL with the username in lower case (``crawl_key``). Items keep the display case
the page shows (``user_id``); staging matches users on ``lower(user_id)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from crawler import urls as mal_urls
from crawler.urls import (
    KINDS,
    MAX_URL_LENGTH,
    USERNAME_RE,
    InvalidUsernameError,
    Kind,
    anime_url,
    profile_url,
)

__all__ = [
    "ANIME_ID_PATTERN",
    "KINDS",
    "MAL_ORIGIN",
    "MAX_URL_LENGTH",
    "USERNAME_PATTERN",
    "InvalidUrlError",
    "Kind",
    "anime_url",
    "canonicalize",
    "check_kind",
    "crawl_key",
    "is_canonical",
    "kind_of",
    "profile_url",
    "validate_urls",
]

MAL_ORIGIN = mal_urls.MAL_BASE_URL
USERNAME_PATTERN = USERNAME_RE.pattern.removeprefix("^").removesuffix("$")
ANIME_ID_PATTERN = r"[1-9][0-9]{0,9}"
# Hosts a person may paste (any other host is refused: the service takes MAL links only).
MAL_HOSTS = frozenset({"myanimelist.net", "www.myanimelist.net"})

# The exact strings ``anime_url`` / ``profile_url`` produce. A regex rather than a round trip
# through ``crawler.urls.canonicalize`` because the scheduler checks 10,000-URL batches.
_CANONICAL = {
    "anime": re.compile(rf"{re.escape(MAL_ORIGIN)}/anime/{ANIME_ID_PATTERN}"),
    "profile": re.compile(rf"{re.escape(MAL_ORIGIN)}/profile/{USERNAME_PATTERN}"),
}
_ANIME_ID = re.compile(ANIME_ID_PATTERN)


class InvalidUrlError(mal_urls.InvalidUrlError):
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


def is_canonical(kind: Kind, url: object) -> bool:
    return (
        isinstance(url, str)
        and len(url) <= MAX_URL_LENGTH
        and _CANONICAL[kind].fullmatch(url) is not None
    )


def crawl_key(kind: Kind, url: str) -> str:
    """The scheduler's and the queue's key for a canonical URL: profile usernames lower-cased
    (MAL's usernames are case-insensitive), anime URLs unchanged."""
    return url.lower() if kind == "profile" else url


def validate_urls(kind: str, urls: Iterable[str]) -> list[str]:
    """Check every URL before anything is written; return their crawl keys de-duplicated, in
    order (so ``.../profile/Alice`` and ``.../profile/ALICE`` are one entry).

    Raises InvalidUrlError listing the bad values, so a caller never half-applies a batch.
    """
    checked_kind = check_kind(kind)
    unique = list(dict.fromkeys(urls))
    invalid = [url for url in unique if not is_canonical(checked_kind, url)]
    if invalid:
        raise InvalidUrlError(checked_kind, [str(url) for url in invalid])
    return list(dict.fromkeys(crawl_key(checked_kind, url) for url in unique))


def kind_of(url: str) -> Kind:
    """The kind of a canonical URL; InvalidUrlError (a ValueError) when it is neither."""
    for kind in KINDS:
        if is_canonical(kind, url):
            return kind
    raise InvalidUrlError("anime or profile", [url])


def _pasted_url(text: str) -> tuple[Kind, str] | None:
    """A pasted MAL link (scheme and ``www.`` optional) -> (kind, canonical); None if the text
    is not link-shaped. Paths are read by ``crawler.urls`` like any crawled URL."""
    if "/" not in text:
        return None
    candidate = text if re.match(r"(?i)https?://", text) else f"https://{text}"
    parts = urlsplit(candidate)
    if (parts.hostname or "").lower() not in MAL_HOSTS:
        raise ValueError(f"not a myanimelist.net link: {text[:80]!r}")
    return mal_urls.canonicalize(candidate)


def canonicalize(value: str | int, default_kind: Kind | None = None) -> tuple[Kind, str]:
    """Turn a pasted MAL URL, a username or an anime id into ``(kind, crawl key)``; the result
    always passes ``validate_urls`` (an 11-digit anime id is refused here, not by the DB)."""
    kind, url = _canonicalize(value, default_kind)
    if not is_canonical(kind, url):
        raise ValueError("not a MAL anime/profile URL, username or anime id")
    return kind, url


def _canonicalize(value: str | int, default_kind: Kind | None = None) -> tuple[Kind, str]:
    """Turn a pasted MAL URL, a username or an anime id into ``(kind, crawl key)``.

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
    found = _pasted_url(text)  # InvalidUrlError / InvalidUsernameError are ValueErrors
    if found is not None:
        return found[0], crawl_key(*found)
    if default_kind == "anime" and _ANIME_ID.fullmatch(text):
        return "anime", anime_url(int(text))
    if default_kind in (None, "profile"):
        try:
            return "profile", crawl_key("profile", profile_url(text))
        except InvalidUsernameError:
            pass
    raise ValueError(f"not a MAL anime/profile URL, username or anime id: {text[:80]!r}")
