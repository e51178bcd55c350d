"""What the ids do not carry: anime metadata aligned to the catalogue, and the user-vs-candidate
content features the ranker reads (genre, type and studio affinity, relation to what the user
liked, MAL score, audience size).

The processed ``anime`` table (or the Kaggle CSV loaded as one) gives ``genres`` and
``studios`` (lists), ``type``, ``score`` and ``members_count``; the processed ``anime_anime``
table gives the related pairs (sequel, prequel, side story...). Anime without metadata get
neutral values (no genres or studios, an "unknown" type, the catalogue's mean score and median
audience, no relations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

CONTENT_FEATURES = (
    "genre_affinity",
    "type_affinity",
    "mal_score",
    "log_members",
    "studio_affinity",
    "related_liked",
)


@dataclass(frozen=True)
class AnimeContent:
    genres: sparse.csr_matrix  # [n_anime, genres], rows L2-normalised (0 rows: unknown)
    type_index: np.ndarray  # [n_anime] int, the last index = unknown
    n_types: int
    mal_score: np.ndarray  # [n_anime] float32
    log_members: np.ndarray  # [n_anime] float32
    # [n_anime, studios] 1 where the studio made the anime (0 rows: unknown)
    studios: sparse.csr_matrix | None = None
    # [n_anime, n_anime] 1 where MAL relates the two anime (symmetric, no diagonal)
    related: sparse.csr_matrix | None = None

    @classmethod
    def from_anime(
        cls,
        anime: pd.DataFrame,
        anime_ids: np.ndarray,
        anime_anime: pd.DataFrame | None = None,
    ) -> AnimeContent:
        """Metadata for the catalogue ``anime_ids`` (in that order) from an ``anime`` table,
        and, with ``anime_anime``, the related pairs among them."""
        table = anime.drop_duplicates("anime_id").set_index("anime_id")
        table = table.reindex(pd.Index(np.asarray(anime_ids, dtype=np.int64)))
        matrix = _membership(table, "genres")
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
            studios=_membership(table, "studios"),
            related=_related(anime_anime, anime_ids),
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
        n_liked = np.maximum(np.asarray(positives.sum(axis=1)), 1.0).astype(np.float32)
        # share of the user's liked anime made by one of the candidate's studios
        if self.studios is not None and self.studios.nnz:
            by_studio = (positives @ self.studios) @ self.studios.T  # [users, n_anime]
            shared = _at(by_studio, safe)
            out[..., 4] = np.minimum(shared / n_liked, 1.0)
        else:
            out[..., 4] = 0.0
        # how many of the user's liked anime the candidate is related to (sequel, prequel...)
        if self.related is not None and self.related.nnz:
            out[..., 5] = np.log1p(_at(positives @ self.related, safe))
        else:
            out[..., 5] = 0.0
        out[candidates < 0, 4:] = 0.0
        return out


def _at(per_anime: sparse.spmatrix | np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """[users, k] values of a [users, n_anime] (sparse or dense) matrix at the candidates."""
    dense = (
        sparse.csr_matrix(per_anime).toarray()
        if sparse.issparse(per_anime)
        else np.asarray(per_anime)
    )
    return np.take_along_axis(dense, candidates, axis=1).astype(np.float32)


def _membership(table: pd.DataFrame, column: str) -> sparse.csr_matrix:
    """[rows of ``table``, distinct values] 1 where a row's list ``column`` holds the value
    (duplicates count once; an absent column or a non-list value gives an empty row)."""
    lists = table[column] if column in table else pd.Series([None] * len(table))
    exploded = pd.Series(
        [list(v) if isinstance(v, list | tuple | np.ndarray) else [] for v in lists]
    ).explode()
    exploded = exploded.dropna()
    codes, _ = pd.factorize(exploded.astype(str))
    rows = exploded.index.to_numpy(np.int64)
    n_values = int(codes.max(initial=-1)) + 1
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, codes)),
        shape=(len(table), max(n_values, 1)),
    )
    matrix.data[:] = 1.0
    return matrix.astype(np.float32)


def _related(anime_anime: pd.DataFrame | None, anime_ids: np.ndarray) -> sparse.csr_matrix | None:
    """Symmetric [n_anime, n_anime] 0/1 matrix of the ``related`` pairs inside the catalogue."""
    if anime_anime is None or anime_anime.empty or "related" not in anime_anime:
        return None
    pairs = anime_anime[anime_anime["related"].fillna(False).astype(bool)]
    index = pd.Index(np.asarray(anime_ids, dtype=np.int64))

    def positions(column: str) -> np.ndarray:
        ids = pd.to_numeric(pairs[column], errors="coerce").fillna(-1).astype("int64")
        return index.get_indexer(ids)

    a, b = positions("animeA"), positions("animeB")
    keep = (a >= 0) & (b >= 0) & (a != b)
    a, b = a[keep], b[keep]
    n = len(anime_ids)
    matrix = sparse.csr_matrix(
        (np.ones(2 * len(a), np.float32), (np.concatenate([a, b]), np.concatenate([b, a]))),
        shape=(n, n),
    )
    matrix.data[:] = 1.0
    return matrix


def _numeric(table: pd.DataFrame, column: str) -> np.ndarray:
    """A metadata column as float64 (NaN where unreadable, all NaN when the column is absent)."""
    if column not in table:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[column], errors="coerce").to_numpy(np.float64)
