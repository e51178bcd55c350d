"""Stable pseudonyms for the usernames of the published dataset.

A pseudonym is ``u_`` + the first 16 hex digits of HMAC-SHA256(key, lower(username)): the same
user gets the same id in every export made with the same key (so people can follow a user across
versions and join the tables), nobody without the key can go from a username to its id, and a
new key unlinks every id. The HMAC is computed by the warehouse in the export's own ``select``
(DuckDB and BigQuery both have SHA-256 over bytes; the key's inner and outer pads are passed as
hex literals), so no row passes through Python. ``pseudonym`` is the same function in Python,
for tests and for answering "which id is mine?".

Locally the key is generated once and kept under ``ANIMEREC_HOME``; in production it is the
``ANIMEREC_EXPORT_PSEUDONYM_KEY`` setting (required there).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from animerec_assets.lib.warehouse import Dialect

PSEUDONYM_PREFIX = "u_"
PSEUDONYM_HEX_DIGITS = 16
KEY_FILE_NAME = "export_pseudonym.key"
PSEUDONYM_KEY_VARIABLE = "ANIMEREC_EXPORT_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
_BLOCK = 64  # SHA-256 block size in bytes

# Every published column holding a username; profile URLs embed one and are blanked instead.
USERNAME_COLUMNS: dict[str, tuple[str, ...]] = {
    "user": ("user_id",),
    "user_anime": ("user_id",),
    "user_user": ("userA", "userB"),
}
PROFILE_URL_COLUMNS: dict[str, tuple[str, ...]] = {"user": ("user_url",)}


class PseudonymKeyError(ValueError):
    """The pseudonym key is missing or too short to keep usernames secret."""


@dataclass(frozen=True)
class UsernamePolicy:
    """How an export writes usernames: pseudonymised with ``key``, or real (``key`` None)."""

    key: bytes | None

    @property
    def pseudonymised(self) -> bool:
        return self.key is not None


REAL_USERNAMES = UsernamePolicy(key=None)


def check_key(key: bytes) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"the export pseudonym key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}"
        )
    return key


def pseudonym(key: bytes, username: str) -> str:
    """The published id of ``username`` (case-insensitive, like MAL usernames)."""
    digest = hmac.new(check_key(key), username.lower().encode("utf-8"), hashlib.sha256)
    return PSEUDONYM_PREFIX + digest.hexdigest()[:PSEUDONYM_HEX_DIGITS]


def _pads(key: bytes) -> tuple[str, str]:
    """HMAC's inner and outer padded keys, as hex (RFC 2104)."""
    block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
    block = block.ljust(_BLOCK, b"\0")
    inner = bytes(byte ^ 0x36 for byte in block)
    outer = bytes(byte ^ 0x5C for byte in block)
    return inner.hex(), outer.hex()


def pseudonym_sql(expression: str, key: bytes, dialect: Dialect) -> str:
    """SQL computing ``pseudonym(key, <expression>)`` per row (NULL stays NULL)."""
    inner, outer = _pads(check_key(key))
    prefix = f"'{PSEUDONYM_PREFIX}'"
    if dialect == "bigquery":
        message = f"cast(lower({expression}) as bytes)"
        inner_digest = f"sha256(from_hex('{inner}') || {message})"
        digest = f"to_hex(sha256(from_hex('{outer}') || {inner_digest}))"
    else:
        message = f"encode(lower({expression}))"
        inner_digest = f"unhex(sha256(unhex('{inner}') || {message}))"
        digest = f"sha256(unhex('{outer}') || {inner_digest})"
    return f"{prefix} || substr({digest}, 1, {PSEUDONYM_HEX_DIGITS})"


def column_replacements(
    table: str, policy: UsernamePolicy, dialect: Dialect, quote: str = '"'
) -> dict[str, str]:
    """Column -> SQL expression replacing it in ``table``'s export (empty: publish as is)."""
    if policy.key is None:
        return {}
    replacements: dict[str, str] = {}
    for column in USERNAME_COLUMNS.get(table, ()):
        replacements[column] = pseudonym_sql(f"{quote}{column}{quote}", policy.key, dialect)
    for column in PROFILE_URL_COLUMNS.get(table, ()):
        replacements[column] = "cast(null as string)" if dialect == "bigquery" else "null::VARCHAR"
    return replacements


def local_key(home: Path) -> bytes:
    """The key kept under ``home``, generated on first use (readable by its owner only).

    Written to a temporary file and hard-linked into place, so two first exports racing (or a
    kill mid-write) never leave a half key or two different keys behind.
    """
    path = home / KEY_FILE_NAME
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        temporary = home / f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            # another export may have created it first: then theirs is the key
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return check_key(path.read_text(encoding="ascii").strip().encode("ascii"))


def username_policy(configured_key: str | None, real_usernames: bool, home: Path) -> UsernamePolicy:
    """Real usernames only when asked for; otherwise the configured key or the local one."""
    if real_usernames:
        return REAL_USERNAMES
    if configured_key:
        return UsernamePolicy(check_key(configured_key.encode("utf-8")))
    return UsernamePolicy(local_key(home))
