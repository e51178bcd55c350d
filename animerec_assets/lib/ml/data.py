"""Inputs in the processed schemas, and their integer encoding for the models.

The models work on contiguous integer indices (rows/columns of sparse matrices and embedding
tables); the vocabularies that map them back to MAL ids travel with every model artifact.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

POSITIVE_SCORE = 7
PLAN_TO_WATCH = "plan_to_watch"
USER_ANIME_COLUMNS = ("user_id", "anime_id", "score", "status", "last_interaction_date")


class InputDataError(ValueError):
    """An input table misses a required column or holds values the models cannot use."""


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...] | list[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InputDataError(f"{name} lacks required column(s) {missing}; has {list(frame)}")


def as_text(values: pd.Series) -> pd.Series:
    """``values`` as strings; a string column stays as it is (Arrow strings stay compact: at
    ~50M rows, Python str objects take GBs)."""
    if isinstance(values.dtype, pd.ArrowDtype | pd.StringDtype) and pd.api.types.is_string_dtype(
        values.dtype
    ):
        return values
    return values.astype(str)


def clean_user_anime(user_anime: pd.DataFrame) -> pd.DataFrame:
    """Keep the columns the models use, typed; reject rows that cannot be used, loudly.

    Rows with a missing user or anime id are an upstream bug, not noise: we raise instead of
    silently training on less data. Missing scores mean "not scored" (0), as on MAL.
    """
    require_columns(user_anime, ("user_id", "anime_id", "score"), "user_anime")
    frame = user_anime.copy()
    if frame["user_id"].isna().any() or frame["anime_id"].isna().any():
        bad = int(frame["user_id"].isna().sum() + frame["anime_id"].isna().sum())
        raise InputDataError(f"user_anime has {bad} row(s) with a missing user_id or anime_id")
    frame["anime_id"] = pd.to_numeric(frame["anime_id"], errors="raise").astype("int64")
    frame["user_id"] = as_text(frame["user_id"])
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").fillna(0).astype("float32")
    if "status" not in frame:
        frame["status"] = "completed"
    if "last_interaction_date" not in frame:
        frame["last_interaction_date"] = pd.NaT
    frame["last_interaction_date"] = pd.to_datetime(
        frame["last_interaction_date"], errors="coerce", utc=True
    )
    frame = frame.drop_duplicates(["user_id", "anime_id"], keep="last")
    return frame[list(USER_ANIME_COLUMNS)].reset_index(drop=True)


def load_kaggle_ratings(path: str | Path) -> pd.DataFrame:
    """Kaggle ``user_id,anime_id,rating`` (completed, scored anime) as processed user_anime."""
    raw = pd.read_csv(path)
    require_columns(raw, ("user_id", "anime_id", "rating"), str(path))
    return clean_user_anime(
        pd.DataFrame(
            {
                "user_id": raw["user_id"].astype(str),
                "anime_id": raw["anime_id"],
                "score": raw["rating"],
                "status": "completed",
                "last_interaction_date": pd.NaT,
            }
        )
    )


def load_kaggle_anime(path: str | Path) -> pd.DataFrame:
    """Kaggle ``anime_id,name,genre,type,episodes,rating,members`` as processed anime columns."""
    raw = pd.read_csv(path)
    require_columns(raw, ("anime_id", "genre"), str(path))
    genres = raw["genre"].fillna("").map(lambda text: [g.strip() for g in text.split(",") if g])
    return pd.DataFrame(
        {
            "anime_id": raw["anime_id"].astype("int64"),
            "title": raw.get("name"),
            "type": raw.get("type"),
            "genres": genres,
            "score": pd.to_numeric(raw.get("rating"), errors="coerce"),
            "members_count": pd.to_numeric(raw.get("members"), errors="coerce"),
        }
    )


def empty_anime_anime() -> pd.DataFrame:
    """The processed anime_anime schema with no rows (e.g. for the Kaggle data)."""
    return pd.DataFrame(
        {
            "animeA": pd.Series(dtype="int64"),
            "animeB": pd.Series(dtype="int64"),
            "recommendation": pd.Series(dtype="bool"),
            "num_recommenders": pd.Series(dtype="float64"),
            "related": pd.Series(dtype="bool"),
            "relation_type": pd.Series(dtype="object"),
        }
    )


@dataclass(frozen=True)
class Encoded:
    """Training interactions as sparse matrices over contiguous user/anime indices.

    ``anime_ids`` is the catalogue: every anime seen in training, the set the models rank.
    """

    user_ids: np.ndarray  # index -> user_id (str)
    anime_ids: np.ndarray  # index -> anime_id (int64)
    seen: sparse.csr_matrix  # 1 where the user has the anime on their list (excluded at ranking)
    positives: sparse.csr_matrix  # 1 where score >= POSITIVE_SCORE
    scores: sparse.csr_matrix  # the raw score (0 = not scored)
    planned: sparse.csr_matrix | None = None  # 1 where the list status is plan_to_watch

    @cached_property
    def listed_unplanned(self) -> sparse.csr_matrix:
        """``seen`` without plan-to-watch entries: what the published candidates leave out
        (a user may ask to be recommended titles they plan to watch). Computed once: every
        block of served users reads it."""
        if self.planned is None or not self.planned.nnz:
            return self.seen
        left = self.seen - self.planned
        left.eliminate_zeros()
        return left.tocsr()

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_anime(self) -> int:
        return len(self.anime_ids)

    def user_index(self, user_ids: np.ndarray | pd.Series) -> np.ndarray:
        """Indices of ``user_ids`` (-1 where unknown)."""
        return pd.Index(self.user_ids).get_indexer(np.asarray(user_ids, dtype=object))

    def anime_index(self, anime_ids: np.ndarray | pd.Series) -> np.ndarray:
        """Indices of ``anime_ids`` (-1 where not in the catalogue)."""
        return pd.Index(self.anime_ids).get_indexer(np.asarray(anime_ids, dtype="int64"))


def encode(
    train: pd.DataFrame,
    positive_score: float = POSITIVE_SCORE,
    vocabulary: Encoded | None = None,
) -> Encoded:
    """Build the catalogue and the user x anime matrices from training rows.

    With ``vocabulary``, reuse its user and anime indices (rows outside it are dropped), so a
    model fit on a subset of the rows lines up with the full training data.
    """
    if vocabulary is None:
        user_codes, user_ids = pd.factorize(as_text(train["user_id"]), sort=True)
        anime_codes, anime_ids = pd.factorize(train["anime_id"].astype("int64"), sort=True)
    else:
        user_ids, anime_ids = vocabulary.user_ids, vocabulary.anime_ids
        user_codes = vocabulary.user_index(train["user_id"].astype(str).to_numpy())
        anime_codes = vocabulary.anime_index(train["anime_id"].to_numpy())
        inside = (user_codes >= 0) & (anime_codes >= 0)
        train = train[inside]
        user_codes, anime_codes = user_codes[inside], anime_codes[inside]
    shape = (len(user_ids), len(anime_ids))
    score = train["score"].to_numpy(dtype=np.float32)

    def matrix(values: np.ndarray, keep: np.ndarray) -> sparse.csr_matrix:
        return sparse.csr_matrix(
            (values[keep], (user_codes[keep], anime_codes[keep])), shape=shape, dtype=np.float32
        )

    everything = np.ones(len(train), dtype=bool)
    return Encoded(
        user_ids=np.asarray(user_ids, dtype=object),
        anime_ids=np.asarray(anime_ids, dtype=np.int64),
        seen=matrix(np.ones_like(score), everything),
        positives=matrix(np.ones_like(score), score >= positive_score),
        scores=matrix(score, everything),
        planned=matrix(
            np.ones_like(score),
            (train["status"] == PLAN_TO_WATCH).fillna(False).to_numpy(dtype=bool),
        )
        if "status" in train.columns
        else None,
    )


def pairs_matrix(
    encoded: Encoded, user_ids: np.ndarray, frame: pd.DataFrame
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """``frame`` (user_id, anime_id, score) rows as a matrix of scores over (``user_ids`` x
    catalogue); a held-out positive always has a non-zero score.

    Also returns, per row of ``user_ids``, how many pairs it has in total (including anime
    outside the catalogue, which no model can recommend but which still count as misses).
    """
    rows = pd.Index(np.asarray(user_ids, dtype=object)).get_indexer(frame["user_id"].astype(str))
    cols = encoded.anime_index(frame["anime_id"].to_numpy())
    totals = np.bincount(rows[rows >= 0], minlength=len(user_ids))
    keep = (rows >= 0) & (cols >= 0)
    values = frame["score"].to_numpy(dtype=np.float32) if "score" in frame else None
    values = np.ones(len(frame), np.float32) if values is None else np.maximum(values, 1e-3)
    matrix = sparse.csr_matrix(
        (values[keep], (rows[keep], cols[keep])), shape=(len(user_ids), encoded.n_anime)
    )
    matrix.sum_duplicates()
    return matrix, totals
