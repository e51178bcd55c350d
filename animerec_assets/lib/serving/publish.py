"""Publish a version of the serving store, switch to it atomically, roll back, clean up.

The sequence (key layout in ``keys.py``) is what makes a publish safe to kill at any moment:

1. take the publish lock (``SET NX PX``; a dead publisher's lock simply expires),
2. remove debris: every registered version that is neither current nor previous,
3. register the new version as ``writing``, then write it in pipelined batches (``MSET``,
   ``HSET``, ``ZADD`` of prepared payloads, each batch encoded in the Redis protocol by Arrow
   kernels, ``resp.py``; one round trip per batch, never per row),
4. write its ``meta`` hash last, then one Lua script checks that we still hold the lock and
   moves ``current`` -> ``previous`` and the new version -> ``current`` in one atomic step,
5. ``UNLINK`` versions older than the previous one, in batches, and release the lock.

The lock is refreshed after every batch, writes and removals alike. After any error the
publisher reads ``current`` before it decides: if the switch went through (only its reply was
lost) the publish succeeded; otherwise the live version is untouched. A version of the same
model as the live one never becomes ``previous``, so a publish retried after a lost reply
cannot push the real previous model out of rollback's reach.

Readers only ever follow ``current``, which always names a complete version.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import redis

from animerec_assets.lib.serving.keys import (
    ANIME_SUFFIX,
    TITLES_SUFFIX,
    KeyLayout,
    check_version,
    list_suffix,
    new_version,
    similar_suffix,
    user_suffix,
)
from animerec_assets.lib.serving.payloads import Payloads, prepare_payloads
from animerec_assets.lib.serving.resp import command_batches

DEFAULT_BATCH_SIZE = 2_000
DEFAULT_LOCK_TTL_S = 60.0
UNLINK_BATCH = 1_000

ProgressCallback = Callable[[str, int, int], None]
"""Called after each written batch with (stage, items written so far, items in stage)."""


class PublishError(RuntimeError):
    """The publish could not complete; the live version is unchanged."""


class PublishLockedError(PublishError):
    """Another publish holds the lock."""


class RollbackError(RuntimeError):
    """There is no complete previous version to go back to."""


@dataclass(frozen=True)
class PublishResult:
    version: str
    previous_version: str | None
    model_version: str
    published_at: str
    counts: dict[str, int]
    keys_written: int
    removed_versions: list[str] = field(default_factory=list)
    duration_s: float = 0.0


# KEYS: lock ; ARGV: version, ttl_ms. Refresh the lock only while we still hold it.
_REFRESH_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: lock ; ARGV: version. Release the lock only if it is ours.
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: current, previous, versions, lock ; ARGV: version, registry JSON, model version,
# version root (the current version's meta hash is ARGV[4] .. current .. ':meta').
# The one atomic pointer switch, fenced by the lock. Idempotent: switching to the live version
# again changes nothing. When the live version holds the same model (a publish retried after
# its reply was lost), the previous pointer stays where it is, so the rollback target is
# always the model before this one, never a copy of it. Returns the previous pointer.
_SWITCH = """
if redis.call('GET', KEYS[4]) ~= ARGV[1] then
  return redis.error_reply('LOCKLOST the publish lock expired or was taken over')
end
if not redis.call('HGET', KEYS[3], ARGV[1]) then
  return redis.error_reply('UNREGISTERED the version is not registered')
end
local old = redis.call('GET', KEYS[1])
if old and old ~= ARGV[1] then
  local old_model = redis.call('HGET', ARGV[4] .. old .. ':meta', 'model_version')
  if old_model ~= ARGV[3] then
    redis.call('SET', KEYS[2], old)
  end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return redis.call('GET', KEYS[2])
"""

# KEYS: current, previous, versions. Swap current and previous if previous is complete.
_ROLLBACK = """
local cur = redis.call('GET', KEYS[1])
local prev = redis.call('GET', KEYS[2])
if not prev then
  return redis.error_reply('NOPREVIOUS there is no previous version')
end
local state = redis.call('HGET', KEYS[3], prev)
if not state or not string.find(state, '"complete"', 1, true) then
  return redis.error_reply('INCOMPLETE the previous version is not complete')
end
redis.call('SET', KEYS[1], prev)
if cur then redis.call('SET', KEYS[2], cur) else redis.call('DEL', KEYS[2]) end
return {prev, cur or false}
"""


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def registered_versions(client: redis.Redis, layout: KeyLayout) -> dict[str, dict]:
    """Every version in the registry with its state record."""
    raw = client.hgetall(layout.versions)
    return {_text(k) or "": json.loads(_text(v) or "{}") for k, v in raw.items()}


def live_versions(client: redis.Redis, layout: KeyLayout) -> tuple[str | None, str | None]:
    current, previous = client.mget(layout.current, layout.previous)
    return _text(current), _text(previous)


def unlink_version(
    client: redis.Redis,
    layout: KeyLayout,
    version: str,
    after_batch: Callable[[], None] | None = None,
) -> int:
    """Delete every key of one version (SCAN + batched UNLINK) and its registry entry.

    ``after_batch`` runs after each UNLINK (the publisher refreshes its lock there: removing a
    large version takes longer than the lock lives).
    """
    removed = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=layout.namespace_pattern(version), count=UNLINK_BATCH):
        batch.append(key)
        if len(batch) >= UNLINK_BATCH:
            removed += client.unlink(*batch)
            batch = []
            if after_batch is not None:
                after_batch()
    if batch:
        removed += client.unlink(*batch)
    client.hdel(layout.versions, version)
    return removed


def forget_users(
    client: redis.Redis, layout: KeyLayout, user_keys: list[str], keep_version: str
) -> int:
    """Unlink these users' keys from every registered version but ``keep_version`` (the
    previous version kept for rollback would otherwise still hold a user who opted out)."""
    if not user_keys:
        return 0
    removed = 0
    for version in sorted(set(registered_versions(client, layout)) - {keep_version}):
        keys = [
            key_of(version, user_key.strip().lower())
            for user_key in user_keys
            for key_of in (layout.user, layout.user_list)
        ]
        for chunk in _chunks(len(keys), UNLINK_BATCH):
            removed += int(client.unlink(*keys[chunk]))
    return removed


def remove_stale_versions(
    client: redis.Redis,
    layout: KeyLayout,
    keep: set[str] | None = None,
    after_batch: Callable[[], None] | None = None,
) -> list[str]:
    """Unlink every registered version that is not current, previous or in ``keep``.

    That is both debris of publishes that died midway and versions older than the previous.
    """
    current, previous = live_versions(client, layout)
    keep = {v for v in (current, previous, *(keep or set())) if v}
    stale = sorted(set(registered_versions(client, layout)) - keep)
    for version in stale:
        unlink_version(client, layout, version, after_batch)
    return stale


class LockLostError(PublishError):
    """The publish lock expired or was taken over."""


def _lock_keeper(
    client: redis.Redis, layout: KeyLayout, version: str, ttl_s: float
) -> Callable[[], None]:
    """A call that extends our lock, or raises LockLostError when it is no longer ours."""
    refresh = client.register_script(_REFRESH_LOCK)
    ttl_ms = int(ttl_s * 1000)

    def keep() -> None:
        if not refresh(keys=[layout.publish_lock], args=[version, ttl_ms]):
            raise LockLostError(f"the publish lock {layout.publish_lock} is no longer ours")

    return keep


LIVE, NOT_LIVE, UNKNOWN = "live", "not live", "unknown"


def _live_after_error(
    client: redis.Redis, layout: KeyLayout, version: str
) -> tuple[str, str | None]:
    """After an error, ask Redis (a few times: the error may be a dropped connection) whether
    ``version`` is live. Returns (LIVE | NOT_LIVE | UNKNOWN, the previous pointer)."""
    for attempt in range(3):
        try:
            current, previous = live_versions(client, layout)
        except redis.RedisError:
            time.sleep(0.2 * (attempt + 1))
            continue
        return (LIVE if current == version else NOT_LIVE), previous
    return UNKNOWN, None


def _acquire_lock(
    client: redis.Redis, layout: KeyLayout, version: str, ttl_s: float, wait_s: float
) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        if client.set(layout.publish_lock, version, nx=True, px=int(ttl_s * 1000)):
            return
        if time.monotonic() >= deadline:
            holder = _text(client.get(layout.publish_lock))
            raise PublishLockedError(f"another publish ({holder}) holds {layout.publish_lock}")
        time.sleep(0.1)


class _Writer:
    """Sends prepared payloads in pipelined batches and keeps the lock alive between them."""

    def __init__(
        self,
        client: redis.Redis,
        layout: KeyLayout,
        version: str,
        batch_size: int,
        lock_ttl_ms: int,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.client = client
        self.layout = layout
        self.version = version
        self.namespace = layout.namespace(version)
        self.batch_size = batch_size
        self.lock_ttl_ms = lock_ttl_ms
        self.on_progress = on_progress
        self.keys_written = 0
        self.refresh_sha = client.script_load(_REFRESH_LOCK)
        self.stage_done: dict[str, int] = {}  # items written per stage over every user part

    def _batches(self, stage: str, head: list[str], columns: list) -> None:
        """Send RESP-encoded batches, each followed by the lock refresh (EVALSHA), keeping
        one batch in flight: batch n+1 travels while Redis still stores batch n."""
        base = self.stage_done.get(stage, 0)
        total = base + len(columns[0])
        self.stage_done[stage] = total
        connection = self.client.connection_pool.get_connection()
        refresh = b"".join(
            bytes(part)
            for part in connection.pack_command(
                "EVALSHA", self.refresh_sha, 1, self.layout.publish_lock, self.version,
                self.lock_ttl_ms,
            )
        )  # fmt: skip
        in_flight: list[int] = []  # rows done once each sent batch is acknowledged
        try:
            done = base
            for size, command in command_batches(head, columns, self.batch_size):
                done += size
                connection.send_packed_command([command, refresh])
                in_flight.append(done)
                if len(in_flight) > 1:
                    self._acknowledge(connection, stage, in_flight.pop(0), total)
            while in_flight:
                self._acknowledge(connection, stage, in_flight.pop(0), total)
        except BaseException:
            # replies may be left unread: never hand this connection back to the pool as is
            connection.disconnect()
            raise
        finally:
            self.client.connection_pool.release(connection)

    def _acknowledge(self, connection, stage: str, done: int, total: int) -> None:
        """Read one batch's two replies: the write's and the lock refresh's."""
        write_error = None
        try:
            connection.read_response()
        except redis.ResponseError as error:
            write_error = error
        still_ours = connection.read_response()
        if write_error is not None:
            raise PublishError(f"redis refused a {stage} batch: {write_error}")
        if not still_ours:
            raise PublishError("the publish lock expired while writing; aborting this publish")
        if self.on_progress is not None:
            self.on_progress(stage, done, total)

    def strings(self, stage: str, keys: np.ndarray, values: np.ndarray | pa.Array) -> None:
        if len(keys):
            self._batches(stage, ["MSET"], [keys, values])
        self.keys_written += len(keys)

    def hash(self, stage: str, key: str, fields: np.ndarray, values: np.ndarray) -> None:
        self._batches(stage, ["HSET", key], [fields, values])
        self.keys_written += 1 if len(fields) else 0

    def sorted_set(self, stage: str, key: str, members: np.ndarray) -> None:
        scores = np.full(len(members), "0", dtype=object)
        self._batches(stage, ["ZADD", key], [scores, members])
        self.keys_written += 1 if len(members) else 0


def _prefixed(namespace: str, suffixes: pd.Series) -> np.ndarray:
    return (namespace + suffixes).to_numpy(dtype=object)


USER_COUNTS = ("users", "user_lists", "user_list_entries")  # summed over the user parts


def _write_users(writer: _Writer, namespace: str, part: Payloads) -> None:
    user_keys = _prefixed(namespace, ":user:" + pd.Series(part.user_keys, dtype=object))
    assert len(user_keys) == 0 or user_keys[0] == namespace + user_suffix(part.user_keys[0])
    writer.strings("users", user_keys, part.user_values)
    list_keys = _prefixed(namespace, ":list:" + pd.Series(part.list_keys, dtype=object))
    assert len(list_keys) == 0 or list_keys[0] == namespace + list_suffix(part.list_keys[0])
    writer.strings("lists", list_keys, part.list_values)


def _next_part(
    parts: Iterator[Payloads], keep_lock: Callable[[], None], lock_ttl_s: float
) -> Payloads | None:
    """The next user part, the publish lock kept alive while it is being prepared (preparing
    a part may take longer than the lock lives; a lost lock still fails the next batch)."""
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(lock_ttl_s / 3):
            try:
                keep_lock()
            except (LockLostError, redis.RedisError):
                return

    keeper = threading.Thread(target=refresh, name="publish-lock-keeper", daemon=True)
    keeper.start()
    try:
        return next(parts, None)
    finally:
        stop.set()
        keeper.join()


def write_version(
    client: redis.Redis,
    layout: KeyLayout,
    version: str,
    payloads: Payloads,
    *,
    user_parts: Iterable[Payloads] = (),
    batch_size: int = DEFAULT_BATCH_SIZE,
    lock_ttl_s: float = DEFAULT_LOCK_TTL_S,
    on_progress: ProgressCallback | None = None,
) -> tuple[int, dict[str, int]]:
    """Write every key of ``version`` (not its meta): ``payloads`` and then each of
    ``user_parts`` (users only, disjoint from every other part's), pulled one at a time.
    Returns the number of keys written and the version's counts."""
    namespace = layout.namespace(version)
    writer = _Writer(client, layout, version, batch_size, int(lock_ttl_s * 1000), on_progress)
    counts = dict(payloads.counts)
    _write_users(writer, namespace, payloads)
    parts = iter(user_parts)
    keep_lock = _lock_keeper(client, layout, version, lock_ttl_s)
    while (part := _next_part(parts, keep_lock, lock_ttl_s)) is not None:
        _write_users(writer, namespace, part)
        for name in USER_COUNTS:
            counts[name] += part.counts[name]
        del part  # one part in memory at a time: the next is prepared after this is gone
    similar_keys = _prefixed(namespace, ":similar:" + pd.Series(payloads.similar_ids).astype(str))
    assert len(similar_keys) == 0 or similar_keys[0] == namespace + similar_suffix(
        payloads.similar_ids[0]
    )
    writer.strings("similar", similar_keys, payloads.similar_values)
    writer.hash(
        "anime", namespace + ANIME_SUFFIX, payloads.anime_ids.astype(str), payloads.anime_values
    )
    writer.sorted_set("titles", namespace + TITLES_SUFFIX, payloads.title_members)
    return writer.keys_written, counts


def publish_payloads(
    client: redis.Redis,
    payloads: Payloads,
    *,
    model_version: str,
    prefix: str | None = None,
    version: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lock_ttl_s: float = DEFAULT_LOCK_TTL_S,
    lock_wait_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    forget: list[str] | None = None,
    user_parts: Iterable[Payloads] = (),
) -> PublishResult:
    """Write prepared payloads as a new version and make it live atomically.

    ``forget``: user keys (opted-out users) to unlink from the versions kept for rollback too;
    the new version simply does not have them (it is written whole from the model's output).
    ``user_parts``: further users (``prepare_user_part``, disjoint sets), written into the same
    version before the one switch; a generator keeps only one part in memory at a time."""
    started = time.monotonic()
    layout = KeyLayout(prefix) if prefix else KeyLayout()
    version = check_version(version or new_version())
    wait_s = lock_ttl_s + 5.0 if lock_wait_s is None else lock_wait_s
    _acquire_lock(client, layout, version, lock_ttl_s, wait_s)
    keep_lock = _lock_keeper(client, layout, version, lock_ttl_s)
    counts = payloads.counts
    keys_written = 0
    published_at = ""
    removed: list[str] = []
    previous: str | None = None
    try:
        removed = remove_stale_versions(client, layout, after_batch=keep_lock)
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        client.hset(
            layout.versions,
            version,
            json.dumps({"state": "writing", "started_at": started_at}),
        )
        keys_written, counts = write_version(
            client,
            layout,
            version,
            payloads,
            user_parts=user_parts,
            batch_size=batch_size,
            lock_ttl_s=lock_ttl_s,
            on_progress=on_progress,
        )
        published_at = datetime.now(UTC).isoformat(timespec="seconds")
        keys_written += 1
        client.hset(
            layout.meta(version),
            mapping={
                "version": version,
                "model_version": model_version,
                "published_at": published_at,
                "keys_written": keys_written,
                **{f"n_{name}": value for name, value in counts.items()},
            },
        )
        record = {"state": "complete", "started_at": started_at, "published_at": published_at}
        switch = client.register_script(_SWITCH)
        try:
            previous = _text(
                switch(
                    keys=[layout.current, layout.previous, layout.versions, layout.publish_lock],
                    args=[version, json.dumps(record), model_version, layout.version_root],
                )
            )
        except redis.ResponseError as error:
            raise PublishError(f"pointer switch refused: {error}") from error
    except Exception as error:
        # Whatever failed, Redis says what happened: a switch whose reply was lost is a
        # success (raising would make the caller publish again); anything else left the live
        # version untouched, and our half-written version is debris to remove now if we can
        # (the next publish removes it otherwise).
        state, previous = _live_after_error(client, layout, version)
        if state == UNKNOWN:
            _release_lock(client, layout, version)
            raise PublishError(
                f"publish of {version} failed ({error!r}) and Redis cannot tell whether it is "
                "live; a retry checks before it writes"
            ) from error
        if state == NOT_LIVE:
            with contextlib.suppress(redis.RedisError):
                unlink_version(client, layout, version)
            _release_lock(client, layout, version)
            if isinstance(error, PublishError):
                raise
            raise PublishError(f"publish of {version} failed: {error!r}") from error
    except BaseException:
        _release_lock(client, layout, version)
        raise
    # live: remove what rollback no longer needs while the lock is ours (not at any price:
    # the next publish removes what is left)
    with contextlib.suppress(redis.RedisError, LockLostError):
        removed += remove_stale_versions(client, layout, after_batch=keep_lock)
    # opted-out users leave the versions kept for rollback too (the next publish repeats this
    # should Redis fail here: the list comes from the warehouse every time)
    with contextlib.suppress(redis.RedisError):
        forget_users(client, layout, list(forget or []), version)
    _release_lock(client, layout, version)
    return PublishResult(
        version=version,
        previous_version=previous,
        model_version=model_version,
        published_at=published_at or datetime.now(UTC).isoformat(timespec="seconds"),
        counts=counts,
        keys_written=keys_written,
        removed_versions=removed,
        duration_s=time.monotonic() - started,
    )


def _release_lock(client: redis.Redis, layout: KeyLayout, version: str) -> None:
    with contextlib.suppress(redis.RedisError):
        client.register_script(_RELEASE_LOCK)(keys=[layout.publish_lock], args=[version])


def publish(
    client: redis.Redis,
    user_recs: pd.DataFrame,
    similar: pd.DataFrame,
    anime: pd.DataFrame,
    *,
    model_version: str,
    prefix: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lock_ttl_s: float = DEFAULT_LOCK_TTL_S,
    lock_wait_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    forget: list[str] | None = None,
    user_anime: pd.DataFrame | None = None,
) -> PublishResult:
    """Validate and publish model outputs as a new live version.

    ``user_recs``: user_id, anime_id, rank, score and optionally reason / reason_anime_id;
    ``similar``: animeA, animeB, rank, score; ``anime``: the processed anime table;
    ``user_anime``: the users' lists (user_id, anime_id, status), published beside them.
    Raises ``PublishInputError`` on bad input before writing anything.
    """
    payloads = prepare_payloads(user_recs, similar, anime, user_anime=user_anime)
    return publish_payloads(
        client,
        payloads,
        model_version=model_version,
        prefix=prefix,
        batch_size=batch_size,
        lock_ttl_s=lock_ttl_s,
        lock_wait_s=lock_wait_s,
        on_progress=on_progress,
        forget=forget,
    )


def rollback(client: redis.Redis, prefix: str | None = None) -> tuple[str, str | None]:
    """Make the previous version live again (the current one becomes previous).

    Returns (now live, now previous). Raises RollbackError when there is nothing to go back to.
    """
    layout = KeyLayout(prefix) if prefix else KeyLayout()
    script = client.register_script(_ROLLBACK)
    try:
        live, previous = script(keys=[layout.current, layout.previous, layout.versions])
    except redis.ResponseError as error:
        raise RollbackError(str(error)) from error
    return _text(live) or "", _text(previous) if previous else None
