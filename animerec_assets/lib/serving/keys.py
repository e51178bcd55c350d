"""The Redis key layout of the serving store, and the normalizations that build keys.

Everything lives under one prefix (``animerec`` by default; tests use their own). A publish
writes a complete new *version* namespace, then makes it live with one atomic pointer switch,
so a reader never sees a half-written version::

    {p}:current                  STRING  the live version id (readers start here)
    {p}:previous                 STRING  the version live before it (kept for rollback)
    {p}:versions                 HASH    version id -> JSON {"state": "writing"|"complete", ...}
                                         (a version is registered BEFORE its first key is
                                         written, so a publish that dies leaves traceable debris)
    {p}:publish_lock             STRING  the version holding the publish lock (PX expiry,
                                         refreshed every batch; fences the pointer switch)

    {p}:v:{version}:meta         HASH    version, model_version, published_at, counts
    {p}:v:{version}:user:{user}  STRING  JSON [[anime_id, score, reason, reason_anime_id], ...]
                                         the user's ranked candidates, best first: the top N
                                         (default 100) not on their list, plus the best of their
                                         plan-to-watch titles; {user} = lower(username)
    {p}:v:{version}:list:{user}  STRING  the user's MAL list, packed (``payloads.pack_user_lists``):
                                         5 little-endian uint32 counts, one per status in
                                         ``LIST_STATUSES`` order, then that many uint32 anime ids
                                         per status, each run sorted (4 bytes per entry)
    {p}:v:{version}:similar:{id} STRING  JSON [[anime_id, score], ...] ranked neighbours of {id}
    {p}:v:{version}:anime        HASH    anime_id -> JSON {"title", "main_pic", "type", "score",
                                         "genres", "members", "status", "start_date", "rating",
                                         "franchise_id", "franchise_order", "prequels"}
    {p}:v:{version}:titles       ZSET    score 0, members "{normalized title suffix}\\x1f{id}"
                                         for every word start of the title, so ZRANGEBYLEX
                                         finds "titan" in "attack on titan" by prefix

Version ids are ``YYYYmmddTHHMMSSffffffZ-xxxxxx`` (UTC time + random hex): they sort by
publish time and contain no glob characters, so ``SCAN MATCH {p}:v:{version}:*`` is exact.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

DEFAULT_PREFIX = "animerec"
TITLE_SEPARATOR = "\x1f"
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{2,16}$")
NUMERIC_ID_PATTERN = re.compile(r"^[0-9]{1,12}$")
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_VERSION_PATTERN = re.compile(r"^[0-9]{8}T[0-9]{12}Z-[0-9a-f]{6}$")
_COMBINING_MARKS = r"[\u0300-\u036f]"
_NON_WORD = r"[\W_]+"


class InvalidKeyError(ValueError):
    """A prefix, version or user name that must not become part of a Redis key."""


@dataclass(frozen=True)
class KeyLayout:
    """Builds every key of the layout above for one prefix."""

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not _PREFIX_PATTERN.fullmatch(self.prefix):
            raise InvalidKeyError(f"invalid Redis key prefix {self.prefix!r}")

    @property
    def current(self) -> str:
        return f"{self.prefix}:current"

    @property
    def previous(self) -> str:
        return f"{self.prefix}:previous"

    @property
    def versions(self) -> str:
        return f"{self.prefix}:versions"

    @property
    def publish_lock(self) -> str:
        return f"{self.prefix}:publish_lock"

    @property
    def version_root(self) -> str:
        """What precedes the version id in every versioned key (used by the read script)."""
        return f"{self.prefix}:v:"

    def namespace(self, version: str) -> str:
        return f"{self.version_root}{check_version(version)}"

    def namespace_pattern(self, version: str) -> str:
        return f"{self.namespace(version)}:*"

    def meta(self, version: str) -> str:
        return f"{self.namespace(version)}:meta"

    def user(self, version: str, user_key: str) -> str:
        return f"{self.namespace(version)}{user_suffix(user_key)}"

    def user_list(self, version: str, user_key: str) -> str:
        return f"{self.namespace(version)}{list_suffix(user_key)}"

    def similar(self, version: str, anime_id: int) -> str:
        return f"{self.namespace(version)}{similar_suffix(anime_id)}"

    def anime(self, version: str) -> str:
        return f"{self.namespace(version)}{ANIME_SUFFIX}"

    def titles(self, version: str) -> str:
        return f"{self.namespace(version)}{TITLES_SUFFIX}"


META_SUFFIX = ":meta"
ANIME_SUFFIX = ":anime"
TITLES_SUFFIX = ":titles"


def user_suffix(user_key: str) -> str:
    return f":user:{user_key}"


def list_suffix(user_key: str) -> str:
    return f":list:{user_key}"


def similar_suffix(anime_id: int) -> str:
    return f":similar:{int(anime_id)}"


def new_version(now: datetime | None = None) -> str:
    """A fresh version id that sorts by publish time."""
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%S%f')}Z-{secrets.token_hex(3)}"


def check_version(version: str) -> str:
    if not isinstance(version, str) or not _VERSION_PATTERN.fullmatch(version):
        raise InvalidKeyError(f"invalid version id {version!r}")
    return version


def user_key_of(user_input: str) -> str:
    """The key form of a MAL username or numeric id typed by a person.

    MAL usernames are 2-16 letters, digits, ``_`` or ``-`` and match case-insensitively
    (docs/data_contracts.md), so the key is the lower-cased name. Anything else is refused
    here, before it can reach a Redis key.
    """
    text = (user_input or "").strip()
    if USERNAME_PATTERN.fullmatch(text) or NUMERIC_ID_PATTERN.fullmatch(text):
        return text.lower()
    raise InvalidKeyError(
        "a MAL username is 2-16 letters, digits, '_' or '-' (or give a numeric id)"
    )


def user_keys_of(user_ids: pd.Series) -> pd.Series:
    """Vectorized key form of the user ids found in the data (lower-cased, trimmed)."""
    return user_ids.astype("string").str.strip().str.lower()


def normalize_title(text: str) -> str:
    """Lower-case, accent-free, punctuation-free words separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = re.sub(_COMBINING_MARKS, "", decomposed).lower()
    return re.sub(_NON_WORD, " ", stripped).strip()


def normalize_titles(titles: pd.Series) -> pd.Series:
    """Vectorized ``normalize_title`` for a column of titles."""
    return (
        titles.fillna("")
        .astype(str)
        .str.normalize("NFKD")
        .str.replace(_COMBINING_MARKS, "", regex=True)
        .str.lower()
        .str.replace(_NON_WORD, " ", regex=True)
        .str.strip()
    )
