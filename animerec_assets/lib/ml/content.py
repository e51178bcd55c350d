"""What the ids do not carry: anime metadata aligned to the catalogue, and the user-vs-candidate
content features the ranker reads (genre and type affinity, MAL score, audience size).

The processed ``anime`` table (or the Kaggle CSV loaded as one) gives ``genres`` (a list),
``type``, ``score`` and ``members_count``; anime without metadata get neutral values (no
genres, an "unknown" type, the catalogue's mean score and median audience).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

CONTENT_FEATURES = ("genre_affinity", "type_affinity", "mal_score", "log_members")


@dataclass(frozen=True)
class AnimeContent:
    genres: sparse.csr_matrix  # [n_anime, genres], rows L2-normalised (0 rows: unknown)
    type_index: np.ndarray  # [n_anime] int, the last index = unknown
    n_types: int
    mal_score: np.ndarray  # [n_anime] float32
    log_members: np.ndarray  # [n_anime] float32

    @classmethod
    def from_anime(cls, anime: pd.DataFrame, anime_ids: np.ndarray) -> AnimeContent:
        """Metadata for the catalogue ``anime_ids`` (in that order) from an ``anime`` table."""
        table = anime.drop_duplicates("anime_id").set_index("anime_id")
        table = table.reindex(pd.Index(np.asarray(anime_ids, dtype=np.int64)))
        genre_lists = table["genres"] if "genres" in table else pd.Series([None] * len(table))
        exploded = pd.Series(
            [list(g) if isinstance(g, list | tuple | np.ndarray) else [] for g in genre_lists]
        ).explode()
        exploded = exploded.dropna()
        genre_codes, _ = pd.factorize(exploded.astype(str))
        rows = exploded.index.to_numpy(np.int64)
        n_genres = int(genre_codes.max(initial=-1)) + 1
        matrix = sparse.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, genre_codes)),
            shape=(len(anime_ids), max(n_genres, 1)),
        )
        matrix.data[:] = 1.0  # duplicated genres count once
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        matrix = sparse.diags(1.0 / np.maximum(norms, 1e-9)) @ matrix
        kinds = table["type"].astype("string") if "type" in table else None
        type_codes, type_names = (
            pd.factorize(kinds) if kinds is not None else (np.full(len(table), -1), [])
        )
        n_types = len(type_names) + 1
        type_index = np.where(type_codes >= 0, type_codes, n_types - 1).astype(np.int64)
        score = _numeric(table, "score")
        score = np.where(
            np.isfinite(score), score, np.nanmean(score) if np.isfinite(score).any() else 0.0
        )
        members = _numeric(table, "members_count")
        members = np.where(
            np.isfinite(members),
            members,
            np.nanmedian(members) if np.isfinite(members).any() else 0.0,
        )
        return cls(
            genres=matrix.tocsr().astype(np.float32),
            type_index=type_index,
            n_types=n_types,
            mal_score=score.astype(np.float32),
            log_members=np.log1p(np.maximum(members, 0.0)).astype(np.float32),
        )

    def features(self, positives: sparse.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        """[users, k, len(CONTENT_FEATURES)] for ``positives`` rows (the users' liked anime) and
        their candidate lists ``candidates`` (anime indices, -1 = padding)."""
        safe = np.maximum(candidates, 0)
        profile = np.asarray((positives @ self.genres).todense(), dtype=np.float32)
        profile /= np.maximum(np.linalg.norm(profile, axis=1, keepdims=True), 1e-9)
        genres = self.genres
        # cosine of the user's genre profile with each candidate's genres: [users, k]
        per_anime = np.asarray((genres @ sparse.csr_matrix(profile).T).todense(), np.float32)
        genre_affinity = np.take_along_axis(per_anime.T, safe, axis=1)
        type_onehot = sparse.csr_matrix(
            (
                np.ones(len(self.type_index), np.float32),
                (np.arange(len(self.type_index)), self.type_index),
            ),
            shape=(len(self.type_index), self.n_types),
        )
        type_counts = np.asarray((positives @ type_onehot).todense(), dtype=np.float32)
        type_share = type_counts / np.maximum(type_counts.sum(axis=1, keepdims=True), 1.0)
        type_affinity = np.take_along_axis(type_share, self.type_index[safe], axis=1)
        out = np.empty((*candidates.shape, len(CONTENT_FEATURES)), dtype=np.float32)
        out[..., 0] = genre_affinity
        out[..., 1] = type_affinity
        out[..., 2] = self.mal_score[safe]
        out[..., 3] = self.log_members[safe]
        return out


def _numeric(table: pd.DataFrame, column: str) -> np.ndarray:
    """A metadata column as float64 (NaN where unreadable, all NaN when the column is absent)."""
    if column not in table:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[column], errors="coerce").to_numpy(np.float64)
