"""Turn the model outputs into the compact strings the serving store holds.

Pure and vectorized: the per-user and per-anime JSON payloads are built by DuckDB in one
``string_agg`` pass (millions of recommendation rows never go through a Python loop), and the
input is validated first, so bad model output raises ``PublishInputError`` before a single key
is written (the live version stays untouched).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from animerec_assets.contracts.landing import USER_ANIME_STATUSES
from animerec_assets.lib.serving.keys import TITLE_SEPARATOR, normalize_titles, user_keys_of

TOP_N_USER = 100  # enough that read-time filters still leave 20 (bench serving measures it)
TOP_N_PLAN_TO_WATCH = 50  # the user's own plan-to-watch titles kept beside them, best first
LIST_STATUSES: tuple[str, ...] = tuple(USER_ANIME_STATUSES.values())  # packed-list order
PLAN_TO_WATCH_CODE = LIST_STATUSES.index("plan_to_watch")
LIST_HEADER_BYTES = 4 * len(LIST_STATUSES)
LIST_COLUMNS = ("user_id", "anime_id", "status")
TOP_N_SIMILAR = 50
MAX_TITLE_SUFFIXES = 8
USER_CHUNK_ROWS = 2_000_000  # recommendation rows per DuckDB pass (bounds its memory)

USER_COLUMNS = ("user_id", "anime_id", "rank", "score")
SIMILAR_COLUMNS = ("animeA", "animeB", "rank", "score")
ANIME_COLUMNS = ("anime_id", "title")


class PublishInputError(ValueError):
    """The model output cannot be published as it is (nothing was written)."""


@dataclass(frozen=True)
class Payloads:
    """Everything one version holds, ready to be written."""

    user_keys: np.ndarray  # str, lower-cased usernames
    user_values: np.ndarray  # str, JSON arrays
    similar_ids: np.ndarray  # int64
    similar_values: np.ndarray  # str, JSON arrays
    anime_ids: np.ndarray  # int64
    anime_values: np.ndarray  # str, JSON objects
    title_members: np.ndarray  # str, "normalized suffix\x1fanime_id"
    list_keys: np.ndarray = dataclasses.field(  # str, lower-cased usernames
        default_factory=lambda: np.array([], dtype=object)
    )
    list_values: pa.Array = dataclasses.field(  # binary, ``pack_user_lists``
        default_factory=lambda: pa.array([], pa.binary())
    )
    list_entries: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {
            "users": len(self.user_keys),
            "user_lists": len(self.list_keys),
            "user_list_entries": self.list_entries,
            "similar_lists": len(self.similar_ids),
            "anime": len(self.anime_ids),
            "title_entries": len(self.title_members),
        }


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise PublishInputError(f"{name}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise PublishInputError(f"{name}: missing columns {missing}; has {list(frame.columns)}")


def _require_ids(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values != np.floor(values))
        if bad.any():
            example = frame.loc[bad, column].iloc[0]
            raise PublishInputError(
                f"{name}.{column}: {int(bad.sum())} value(s) are not integer ids, e.g. {example!r}"
            )


def _require_finite(frame: pd.DataFrame, column: str, name: str) -> None:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if bad.any():
        example = frame[column].to_numpy()[bad][0]
        raise PublishInputError(
            f"{name}.{column}: {int(bad.sum())} value(s) are not finite numbers, e.g. {example!r}"
        )


def split_reason(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(reason text, reason anime id) from whichever reason columns the model produced.

    The model may give a ``reason_anime_id`` column, a ``reason`` column holding either a text
    ("because you completed X") or an anime id, or neither.
    """
    index = frame.index
    text = pd.Series(pd.NA, index=index, dtype="string")
    anime = pd.Series(pd.NA, index=index, dtype="Int64")
    if "reason" in frame.columns:
        raw = frame["reason"]
        as_number = pd.to_numeric(raw, errors="coerce")
        is_id = as_number.notna() & (as_number == np.floor(as_number))
        anime = anime.mask(is_id, as_number.where(is_id).astype("Int64"))
        text = raw.where(~is_id & raw.notna()).astype("string")
    if "reason_anime_id" in frame.columns:
        given = pd.to_numeric(frame["reason_anime_id"], errors="coerce").astype("Int64")
        anime = given.fillna(anime)
    return text, anime


def _as_arrow_strings(values: pd.Series) -> pa.Array:
    return pa.array(values.astype(str).to_numpy(dtype=object), type=pa.string())


def _user_keys(user_ids: pd.Series) -> pa.Array:
    """Lower-cased, trimmed user ids (Arrow kernels: no Python loop over millions of rows)."""
    return pc.utf8_lower(pc.utf8_trim_whitespace(_as_arrow_strings(user_ids)))


def prepare_user_payloads(
    recs: pd.DataFrame,
    top_n: int = TOP_N_USER,
    user_lists: UserLists | None = None,
    top_n_planned: int = TOP_N_PLAN_TO_WATCH,
) -> pd.DataFrame:
    """One row per user: (user_key, payload JSON of the best ``top_n``, best first).

    With ``user_lists`` (``clean_user_lists``), a recommended anime the user already has on
    their list (a list newer than the model) is dropped, and one on their plan-to-watch list is
    kept apart: the best ``top_n_planned`` of those come on top of the ``top_n`` (read-time
    filters show them only when asked). A (user, anime) pair listed twice keeps its best rank:
    the one aggregation pass counts duplicates, and only when there are some does the
    de-duplicating query run.
    """
    _require_columns(recs, USER_COLUMNS, "user recommendations")
    _require_ids(recs, ("anime_id",), "user recommendations")
    _require_finite(recs, "score", "user recommendations")
    _require_finite(recs, "rank", "user recommendations")
    if recs["user_id"].isna().any():
        raise PublishInputError("user recommendations.user_id: missing user ids")
    keys = _user_keys(recs["user_id"])
    if pc.any(pc.equal(keys, "")).as_py():
        raise PublishInputError("user recommendations.user_id: empty user ids")
    reason_text, reason_anime = split_reason(recs)
    anime_ids = recs["anime_id"].to_numpy(dtype="int64")
    status = (
        list_status(keys, anime_ids, user_lists)
        if user_lists is not None
        else np.full(len(recs), -1, dtype=np.int8)
    )
    table = pa.table(
        {
            "planned": status == PLAN_TO_WATCH_CODE,
            "user_key": keys,
            "anime_id": recs["anime_id"].to_numpy(dtype="int64"),
            "rank": recs["rank"].to_numpy(dtype="float64"),
            "score": recs["score"].to_numpy(dtype="float64"),
            "reason": pa.nulls(len(recs), pa.string())
            if reason_text.isna().all()
            else pa.array(reason_text.to_numpy(dtype=object, na_value=None), pa.string()),
            "reason_anime_id": pa.array(
                reason_anime.to_numpy(dtype="int64", na_value=0),
                mask=reason_anime.isna().to_numpy(),
            ),
        }
    )
    listed = (status >= 0) & (status != PLAN_TO_WATCH_CODE)
    if listed.any():
        table = table.filter(pa.array(~listed))
    parts = [
        _user_payloads_of(part, top_n, top_n_planned)
        for part in user_chunks(table, USER_CHUNK_ROWS)
    ]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def user_chunks(table: pa.Table, max_rows: int) -> list[pa.Table]:
    """The rows cut into whole-user chunks of about ``max_rows``, in user_key order.

    DuckDB's aggregation holds every group's row lists at once (20M rows peaked near 12 GiB);
    chunks of contiguous user_key ranges bound that, and concatenating their sorted outputs
    keeps the whole result sorted by user_key.
    """
    if table.num_rows <= max_rows:
        return [table]
    keys = table.column("user_key")
    distinct = pc.unique(keys)
    ordered = pc.take(distinct, pc.sort_indices(distinct))
    position = pc.index_in(keys, value_set=ordered).to_numpy(zero_copy_only=False)
    n_chunks = -(-table.num_rows // max_rows)
    chunk = position.astype(np.int64) * n_chunks // len(ordered)
    order = np.argsort(chunk, kind="stable")
    bounds = np.searchsorted(chunk[order], np.arange(n_chunks + 1))
    ordered_rows = table.take(pa.array(order))
    return [
        ordered_rows.slice(start, stop - start)
        for start, stop in itertools.pairwise(bounds)
        if stop > start
    ]


def _user_payloads_of(table: pa.Table, top_n: int, top_n_planned: int) -> pd.DataFrame:
    """One chunk's user payloads, by Arrow string kernels and NumPy (no per-row Python).

    Rows are taken in (user, rank, -score, anime id) order; when the model handed them over
    like that already (its ranked table is user by user, best first) nothing is sorted. A
    (user, anime) pair listed twice keeps its best row. Then the best ``top_n`` rows that are
    not planned and the best ``top_n_planned`` planned rows of each user, in rank order.
    """
    if table.num_rows == 0:
        return pd.DataFrame({"user_key": pd.Series(dtype=object), "payload": []})
    keys = table.column("user_key").combine_chunks()
    users = pc.unique(keys)
    code = pc.index_in(keys, value_set=users).to_numpy(zero_copy_only=False).astype(np.int64)
    anime = table.column("anime_id").to_numpy()
    rank = table.column("rank").to_numpy()
    score = table.column("score").to_numpy()
    same_user = code[1:] == code[:-1]
    in_order = bool(
        int((~same_user).sum()) + 1 == len(users)  # one run of rows per user
        and (~same_user | (rank[1:] > rank[:-1])).all()  # best first
    )
    order = None if in_order else np.lexsort((anime, -score, rank, code))
    if order is not None:
        table = table.take(pa.array(order))
        code, anime, score = code[order], anime[order], score[order]
    planned = table.column("planned").to_numpy(zero_copy_only=False).astype(bool)
    first = ~pd.Series(code * (1 << 32) + anime).duplicated().to_numpy()  # best row of a pair
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    user_of_row = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(code)]))
    kept_planned = np.cumsum(first & planned)
    kept_other = np.cumsum(first & ~planned)

    def position(running: np.ndarray) -> np.ndarray:
        """1-based place of each row among its user's rows of the same kind."""
        at_start = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0)
        return running - at_start[user_of_row]

    keep = first & np.where(
        planned, position(kept_planned) <= top_n_planned, position(kept_other) <= top_n
    )
    rows = _row_json(table.filter(pa.array(keep)))
    kept_code = code[keep]
    bounds = np.r_[np.flatnonzero(np.r_[True, kept_code[1:] != kept_code[:-1]]), len(kept_code)]
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(bounds.astype(np.int32)), rows), ",")
    payload = pc.binary_join_element_wise("[", joined, "]", "")
    user_keys = pc.take(users, pa.array(kept_code[bounds[:-1]]))
    by_key = pc.sort_indices(user_keys)
    return pd.DataFrame(
        {
            "user_key": pc.take(user_keys, by_key).to_numpy(zero_copy_only=False).astype(object),
            "payload": pc.take(payload, by_key).to_numpy(zero_copy_only=False).astype(object),
        }
    )


def _row_json(table: pa.Table) -> pa.Array:
    """``[anime_id,score,reason,reason_anime_id]`` of every row, score with 5 decimals."""
    anime = pc.cast(table.column("anime_id"), pa.string())
    scaled = np.round(table.column("score").to_numpy() * 1e5).astype(np.int64)
    magnitude = np.abs(scaled)
    whole = pc.cast(pa.array(magnitude // 100_000), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(magnitude % 100_000), pa.string()), 5, "0")
    sign = pc.if_else(pa.array(scaled < 0), "-", "")
    reason_id = pc.fill_null(pc.cast(table.column("reason_anime_id"), pa.string()), "null")
    reason = table.column("reason").combine_chunks()
    texts: pa.Array | str = "null"  # no text: one scalar, not millions of copies
    if reason.null_count < len(reason):
        # JSON strings of the distinct texts only (escaping done by the json module)
        distinct = pc.unique(pc.drop_null(reason))
        quoted = pa.array([json.dumps(text) for text in distinct.to_pylist()], pa.string())
        at = pc.index_in(reason, value_set=distinct)
        texts = pc.fill_null(pc.take(quoted, at), "null")
    joined = pc.binary_join_element_wise(
        "[", anime, ",", sign, whole, ".", fraction, ",", texts, ",", reason_id, "]", ""
    )
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


@dataclass(frozen=True)
class UserLists:
    """The users' MAL lists as arrays, sorted by user, status and anime id.

    Users are indices into ``user_keys`` (sorted, lower-cased): millions of list rows never
    carry a string of their own.
    """

    user_keys: np.ndarray  # object, sorted distinct user keys
    user: np.ndarray  # int64 per entry, index into user_keys
    anime_id: np.ndarray  # int64 per entry
    status: np.ndarray  # int8 per entry, index into LIST_STATUSES

    def __len__(self) -> int:
        return len(self.anime_id)

    def of_users(self, keys: np.ndarray) -> UserLists:
        """Only the lists of these users (keys as published)."""
        wanted = pc.is_in(  # Arrow's hash set: NumPy's isin on strings is quadratic-ish
            pa.array(self.user_keys, pa.string()),
            value_set=pa.array(np.asarray(keys, dtype=object), pa.string()),
        ).to_numpy(zero_copy_only=False)
        rows = wanted[self.user]
        renumber = np.cumsum(wanted) - 1
        return UserLists(
            self.user_keys[wanted], renumber[self.user[rows]], self.anime_id[rows],
            self.status[rows],
        )  # fmt: skip


def clean_user_lists(user_anime: pd.DataFrame) -> UserLists:
    """The users' lists (user_id, anime_id, status rows) as ``UserLists``.

    Usernames and statuses are normalized once per distinct value, not per row. Rows whose
    status is not one of ``LIST_STATUSES`` or whose ids are missing or out of range are left
    out (one odd row never fails a publish); a (user, anime) pair listed twice keeps its last.
    """
    _require_columns(user_anime, LIST_COLUMNS, "user lists")
    user_codes, user_values = pd.factorize(user_anime["user_id"], use_na_sentinel=True)
    normalized = user_keys_of(pd.Series(user_values, dtype=object)).fillna("")
    user_keys, user_rank = np.unique(normalized.to_numpy(dtype=object), return_inverse=True)
    status_codes, status_values = pd.factorize(user_anime["status"], use_na_sentinel=True)
    status_names = pd.Series(status_values, dtype="string").str.strip().str.lower()
    status_index = pd.Categorical(status_names, categories=list(LIST_STATUSES)).codes
    anime = pd.to_numeric(user_anime["anime_id"], errors="coerce").to_numpy(dtype="float64")
    status = np.where(status_codes >= 0, status_index[np.maximum(status_codes, 0)], -1)
    user = np.where(user_codes >= 0, user_rank[np.maximum(user_codes, 0)], -1)
    usable = (
        (user >= 0)
        & (status >= 0)
        & np.isfinite(anime)
        & (anime >= 0)
        & (anime < 2**32)
        & (anime == np.floor(np.nan_to_num(anime)))
    )
    usable[usable] &= user_keys[user[usable]] != ""
    user, anime_ids, status = user[usable], anime[usable].astype(np.int64), status[usable]
    pairs = _pair_keys(user, anime_ids)
    _, last = np.unique(pairs[::-1], return_index=True)  # keep each pair's last row
    keep = np.sort(len(pairs) - 1 - last)
    user, anime_ids, status = user[keep], anime_ids[keep], status[keep]
    order = np.lexsort((anime_ids, status, user))
    return UserLists(
        user_keys=user_keys,
        user=user[order].astype(np.int64),
        anime_id=anime_ids[order],
        status=status[order].astype(np.int8),
    )


def _pair_keys(user_codes: np.ndarray, anime_ids: np.ndarray) -> np.ndarray:
    return (user_codes.astype(np.int64) << 32) | anime_ids.astype(np.int64)


def list_status(user_keys: pa.Array, anime_ids: np.ndarray, lists: UserLists) -> np.ndarray:
    """The status code (``LIST_STATUSES`` index) of each (user, anime) on ``lists``, else -1.

    Vectorized: users become indices of ``lists.user_keys``, each pair one int64, then one
    sorted search.
    """
    list_pairs = _pair_keys(lists.user, lists.anime_id)
    order = np.argsort(list_pairs, kind="stable")
    sorted_pairs = list_pairs[order]
    value_set = pa.array(lists.user_keys, pa.string())
    codes = pc.fill_null(pc.index_in(user_keys.cast(pa.string()), value_set=value_set), -1)
    codes = codes.to_numpy(zero_copy_only=False).astype(np.int64)
    status = np.full(len(anime_ids), -1, dtype=np.int8)
    if not len(sorted_pairs):
        return status
    wanted = _pair_keys(np.maximum(codes, 0), anime_ids)
    at = np.minimum(np.searchsorted(sorted_pairs, wanted), len(sorted_pairs) - 1)
    found = (codes >= 0) & (sorted_pairs[at] == wanted)
    status[found] = lists.status[order[at[found]]]
    return status


def pack_user_lists(lists: UserLists) -> tuple[np.ndarray, pa.Array]:
    """(user keys, packed lists), one value per user who has a list entry.

    A value is ``LIST_HEADER_BYTES`` of little-endian uint32 counts, one per status in
    ``LIST_STATUSES`` order, then each status' anime ids as little-endian uint32 (4 bytes an
    entry). Built in one NumPy buffer and handed over as one Arrow binary array (no Python loop
    over users or entries).
    """
    n_rows = len(lists)
    if n_rows == 0:
        return np.array([], dtype=object), pa.array([], pa.binary())
    starts = np.flatnonzero(np.r_[True, lists.user[1:] != lists.user[:-1]])
    entries = np.diff(np.r_[starts, n_rows])
    n_users = len(starts)
    user_of_row = np.repeat(np.arange(n_users), entries)
    n_status = len(LIST_STATUSES)
    counts = np.bincount(
        user_of_row * n_status + lists.status, minlength=n_users * n_status
    ).reshape(n_users, n_status)
    offsets = np.r_[0, np.cumsum(LIST_HEADER_BYTES + 4 * entries)].astype(np.int64)
    buffer = np.empty(int(offsets[-1]), dtype=np.uint8)
    header = offsets[:-1, None] + np.arange(LIST_HEADER_BYTES)
    buffer[header] = counts.astype("<u4").view(np.uint8).reshape(n_users, LIST_HEADER_BYTES)
    within = np.arange(n_rows) - starts[user_of_row]
    at = (offsets[user_of_row] + LIST_HEADER_BYTES + 4 * within)[:, None] + np.arange(4)
    buffer[at] = lists.anime_id.astype("<u4").view(np.uint8).reshape(n_rows, 4)
    large = offsets[-1] >= 2**31
    kind = pa.large_binary() if large else pa.binary()
    values = pa.Array.from_buffers(
        kind,
        n_users,
        [None, pa.py_buffer(offsets.astype(np.int64 if large else np.int32)), pa.py_buffer(buffer)],
    )
    return lists.user_keys[lists.user[starts]], values


def unpack_user_list(packed: bytes) -> dict[int, str]:
    """anime id -> status of one packed list (``pack_user_lists``); refuses a malformed value."""
    if len(packed) < LIST_HEADER_BYTES or (len(packed) - LIST_HEADER_BYTES) % 4:
        raise ValueError("not a packed user list")
    counts = np.frombuffer(packed, dtype="<u4", count=len(LIST_STATUSES))
    ids = np.frombuffer(packed, dtype="<u4", offset=LIST_HEADER_BYTES)
    if int(counts.sum()) != len(ids):
        raise ValueError("not a packed user list")
    statuses = np.repeat(np.array(LIST_STATUSES, dtype=object), counts.astype(np.int64))
    return dict(zip(ids.tolist(), statuses.tolist(), strict=True))


def prepare_similar_payloads(similar: pd.DataFrame, top_n: int = TOP_N_SIMILAR) -> pd.DataFrame:
    """One row per anime: (anime_id, payload JSON of its ranked neighbours, best first)."""
    _require_columns(similar, SIMILAR_COLUMNS, "similar anime")
    _require_ids(similar, ("animeA", "animeB"), "similar anime")
    _require_finite(similar, "score", "similar anime")
    _require_finite(similar, "rank", "similar anime")
    table = pd.DataFrame(
        {
            "anime_a": similar["animeA"].astype("int64").to_numpy(),
            "anime_b": similar["animeB"].astype("int64").to_numpy(),
            "rank": similar["rank"].astype("float64").to_numpy(),
            "score": similar["score"].astype("float64").to_numpy(),
        }
    )
    sql = f"""
        select anime_a as anime_id,
               '[' || array_to_string(list_transform(
                   min_by({{'b': anime_b, 's': score}}, (rank, -score, anime_b), {int(top_n)}),
                   lambda x: '[' || x.b || ',' || round(x.s, 5)::decimal(18, 5)::varchar || ']'),
                   ',') || ']' as payload
        from (select distinct on (anime_a, anime_b) * from source_rows
              where anime_a <> anime_b order by anime_a, anime_b, rank, score desc)
        group by anime_a
        order by anime_a
    """
    return _run(sql, table)


def _run(sql: str, table: pd.DataFrame | pa.Table) -> pd.DataFrame:
    connection = duckdb.connect()
    try:
        connection.execute("set enable_progress_bar = false")
        connection.register("source_rows", table)
        return connection.execute(sql).df()
    finally:
        connection.close()


def _genres_of(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return [str(item) for item in json.loads(text)]
            except json.JSONDecodeError:
                text = text.strip("[]").replace("'", "")
        return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [str(item) for item in value if item is not None]
    return [str(value)]


def _clean(value: Any) -> Any:
    """JSON-safe scalar: NaN/NA -> None, NumPy scalars -> Python ones."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def _date_texts(values: pd.Series) -> list[str | None]:
    """ISO dates (YYYY-MM-DD) of a date-like column; None where missing or unparseable."""
    text = pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d")
    return text.astype(object).where(text.notna(), None).tolist()


def _ids_of(value: Any) -> list[int]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [int(item) for item in value if item is not None]
    return []


def prepare_anime_payloads(anime: pd.DataFrame) -> pd.DataFrame:
    """One row per anime: (anime_id, JSON of what a card shows and filters read, title).

    The catalogue is tens of thousands of rows, so building the small JSON objects row by row
    is cheap; the card fields are optional except the title. Besides what a card shows, the
    payload carries what read-time filters need (``lib/serving/filters.py``): airing status,
    start date, MAL age rating, and the franchise columns of ``franchise.with_franchises``.
    """
    _require_columns(anime, ANIME_COLUMNS, "anime")
    _require_ids(anime, ("anime_id",), "anime")
    frame = anime.drop_duplicates("anime_id", keep="last").reset_index(drop=True)
    none = pd.Series([None] * len(frame), dtype=object)

    def column(name: str) -> list:
        return frame[name].tolist() if name in frame.columns else none.tolist()

    payloads = [
        json.dumps(
            {
                "title": _clean(title) or "",
                "main_pic": _clean(pic),
                "type": _clean(kind),
                "score": _clean(score),
                "genres": _genres_of(genres),
                "members": _clean(members),
                "status": _clean(status),
                "start_date": start,
                "rating": _clean(rating),
                "franchise_id": _clean(franchise_id),
                "franchise_order": _clean(franchise_order),
                "prequels": _ids_of(prequels),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for (
            title,
            pic,
            kind,
            score,
            genres,
            members,
            status,
            start,
            rating,
            franchise_id,
            franchise_order,
            prequels,
        ) in zip(
            frame["title"].tolist(),
            column("main_pic"),
            column("type"),
            column("score"),
            column("genres"),
            column("members_count"),
            column("status"),
            _date_texts(frame["start_date"]) if "start_date" in frame.columns else none.tolist(),
            column("rating"),
            column("franchise_id"),
            column("franchise_order"),
            column("prequel_ids"),
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "anime_id": frame["anime_id"].astype("int64").to_numpy(),
            "payload": payloads,
            "normalized_title": normalize_titles(frame["title"]).to_numpy(),
        }
    )


def title_index_members(anime_ids: np.ndarray, normalized_titles: np.ndarray) -> np.ndarray:
    """Sorted-set members for every word start of every title ("titan" finds "... titan")."""
    members: list[str] = []
    for anime_id, title in zip(anime_ids.tolist(), normalized_titles.tolist(), strict=True):
        if not title:
            continue
        words = title.split(" ")
        for start in range(min(len(words), MAX_TITLE_SUFFIXES)):
            members.append(f"{' '.join(words[start:])}{TITLE_SEPARATOR}{anime_id}")
    return np.array(members, dtype=object)


def _no_users() -> dict[str, Any]:
    return {
        "user_keys": np.array([], dtype=object),
        "user_values": np.array([], dtype=object),
        "list_keys": np.array([], dtype=object),
        "list_values": pa.array([], pa.binary()),
        "list_entries": 0,
    }


def _no_catalogue() -> dict[str, Any]:
    return {
        "similar_ids": np.array([], dtype="int64"),
        "similar_values": np.array([], dtype=object),
        "anime_ids": np.array([], dtype="int64"),
        "anime_values": np.array([], dtype=object),
        "title_members": np.array([], dtype=object),
    }


def prepare_user_part(
    user_recs: pd.DataFrame,
    user_anime: pd.DataFrame | None = None,
    *,
    top_n_user: int = TOP_N_USER,
    top_n_planned: int = TOP_N_PLAN_TO_WATCH,
) -> Payloads:
    """The per-user payloads (ranked lists and packed MAL lists) of some users, no catalogue.

    A publish too big to hold in memory at once is written as the catalogue
    (``prepare_catalogue``) and parts of this kind, each for a disjoint set of users
    (``publish_payloads(user_parts=...)``): one part's rows are all that is held at a time.
    """
    lists = clean_user_lists(user_anime) if user_anime is not None else None
    users = prepare_user_payloads(user_recs, top_n_user, lists, top_n_planned)
    list_keys, list_values = np.array([], dtype=object), pa.array([], pa.binary())
    list_entries = 0
    if lists is not None:
        served = lists.of_users(users["user_key"].to_numpy(dtype=object))
        list_keys, list_values = pack_user_lists(served)
        list_entries = len(served)
    return Payloads(
        user_keys=users["user_key"].to_numpy(dtype=object),
        user_values=users["payload"].to_numpy(dtype=object),
        list_keys=list_keys,
        list_values=list_values,
        list_entries=list_entries,
        **_no_catalogue(),
    )


PART_USERS = 50_000  # users prepared at a time by ``user_parts``


def _user_codes(user_ids: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(each row's index into the distinct ids or -1 when missing, the distinct ids' keys)."""
    codes, distinct = pd.factorize(user_ids, use_na_sentinel=True)
    return codes, user_keys_of(pd.Series(distinct, dtype=object)).fillna("")


def _part_of_rows(codes: np.ndarray, keys: pd.Series, n_parts: int) -> np.ndarray:
    """Each row's part: a hash of the user's key, so the rows of one user (in any frame, any
    spelling of case or spaces) land in the same part."""
    part = pd.util.hash_array(keys.to_numpy(dtype=object)) % np.uint64(n_parts)
    return np.where(codes >= 0, part.astype(np.int64)[np.maximum(codes, 0)], -1)


def user_parts(
    user_recs: pd.DataFrame,
    user_anime: pd.DataFrame | None = None,
    *,
    part_users: int = PART_USERS,
    top_n_user: int = TOP_N_USER,
    top_n_planned: int = TOP_N_PLAN_TO_WATCH,
) -> Iterator[Payloads]:
    """``prepare_user_part`` of disjoint groups of about ``part_users`` users, one at a time
    (``publish_payloads(user_parts=...)``): a million users' payloads are never all held at
    once. The recommendations are validated whole before the first part, so bad model output
    fails before a key is written."""
    _require_columns(user_recs, USER_COLUMNS, "user recommendations")
    if user_anime is not None:
        _require_columns(user_anime, LIST_COLUMNS, "user lists")
    codes, keys = _user_codes(user_recs["user_id"])
    n_parts = max(1, -(-len(keys) // max(part_users, 1)))
    if n_parts == 1:
        yield prepare_user_part(
            user_recs, user_anime, top_n_user=top_n_user, top_n_planned=top_n_planned
        )
        return
    _require_ids(user_recs, ("anime_id",), "user recommendations")
    _require_finite(user_recs, "score", "user recommendations")
    _require_finite(user_recs, "rank", "user recommendations")
    if (codes < 0).any():
        raise PublishInputError("user recommendations.user_id: missing user ids")
    if (keys == "").any():
        raise PublishInputError("user recommendations.user_id: empty user ids")
    rec_part = _part_of_rows(codes, keys, n_parts)
    list_part = (
        _part_of_rows(*_user_codes(user_anime["user_id"]), n_parts)
        if user_anime is not None
        else None
    )
    for part in range(n_parts):
        recs = user_recs[rec_part == part]
        if recs.empty:
            continue
        lists = user_anime[list_part == part] if user_anime is not None else None
        yield prepare_user_part(recs, lists, top_n_user=top_n_user, top_n_planned=top_n_planned)


def prepare_catalogue(
    similar: pd.DataFrame, anime: pd.DataFrame, *, top_n_similar: int = TOP_N_SIMILAR
) -> Payloads:
    """What every version holds besides its users: similar lists, cards, the title index."""
    neighbours = prepare_similar_payloads(similar, top_n_similar)
    cards = prepare_anime_payloads(anime)
    return Payloads(
        similar_ids=neighbours["anime_id"].to_numpy(dtype="int64"),
        similar_values=neighbours["payload"].to_numpy(dtype=object),
        anime_ids=cards["anime_id"].to_numpy(dtype="int64"),
        anime_values=cards["payload"].to_numpy(dtype=object),
        title_members=title_index_members(
            cards["anime_id"].to_numpy(), cards["normalized_title"].to_numpy()
        ),
        **_no_users(),
    )


def prepare_payloads(
    user_recs: pd.DataFrame,
    similar: pd.DataFrame,
    anime: pd.DataFrame,
    *,
    user_anime: pd.DataFrame | None = None,
    top_n_user: int = TOP_N_USER,
    top_n_planned: int = TOP_N_PLAN_TO_WATCH,
    top_n_similar: int = TOP_N_SIMILAR,
) -> Payloads:
    """Validate the inputs and build every payload of a version.

    ``user_anime`` (user_id, anime_id, status: the processed lists) is published packed for
    every user who has recommendations, so read-time filters know what is on each list.
    """
    users = prepare_user_part(
        user_recs, user_anime, top_n_user=top_n_user, top_n_planned=top_n_planned
    )
    catalogue = prepare_catalogue(similar, anime, top_n_similar=top_n_similar)
    return dataclasses.replace(
        catalogue,
        **{name: getattr(users, name) for name in _no_users()},
    )
