"""Model-shaped outputs of any size, for benchmarks and app checks before a model exists.

Vectorized with NumPy so a 100k-user, 2M-row benchmark dataset builds in about a second. The
shapes and column names are exactly what the ML assets hand to the publish step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GENRES = np.array(
    ["Action", "Adventure", "Comedy", "Drama", "Fantasy", "Romance", "Sci-Fi", "Slice of Life",
     "Mystery", "Sports", "Supernatural", "Music"]
)  # fmt: skip
TYPES = np.array(["TV", "Movie", "OVA", "ONA", "Special"])
WORDS = np.array(
    ["Sword", "Star", "Moon", "Spring", "Shadow", "Academy", "Dragon", "Sky", "Heart", "Blade",
     "Ocean", "Night", "Garden", "Crown", "Ghost", "Summer", "Echo", "Festival", "Robot", "Tale"]
)  # fmt: skip


def synthetic_anime(n_anime: int, seed: int = 7) -> pd.DataFrame:
    """A processed-anime-like table: ids, titles, covers, types, scores, genres, members."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n_anime + 1, dtype=np.int64)
    first = WORDS[rng.integers(0, len(WORDS), n_anime)]
    second = WORDS[rng.integers(0, len(WORDS), n_anime)]
    titles = pd.Series(first).str.cat(pd.Series(second), sep=" ") + " " + pd.Series(ids).astype(str)
    genre_picks = rng.integers(0, len(GENRES), (n_anime, 3))
    genres = [sorted(set(GENRES[row].tolist())) for row in genre_picks]
    return pd.DataFrame(
        {
            "anime_id": ids,
            "title": titles,
            "main_pic": [
                f"https://cdn.myanimelist.net/images/anime/{i % 2000}/{i}.jpg" for i in ids
            ],
            "type": TYPES[rng.integers(0, len(TYPES), n_anime)],
            "score": np.round(rng.uniform(5.0, 9.2, n_anime), 2),
            "genres": genres,
            "members_count": rng.integers(100, 3_000_000, n_anime),
        }
    )


def synthetic_user_recommendations(
    n_users: int, n_anime: int, per_user: int = 20, seed: int = 11
) -> pd.DataFrame:
    """``ml/user_anime_ranked``-shaped rows: user_id, anime_id, rank, score, reason."""
    rng = np.random.default_rng(seed)
    users = np.repeat(np.array([f"User_{i}" for i in range(n_users)], dtype=object), per_user)
    # distinct anime per user: a random start and a stride co-prime-ish with the catalogue
    start = rng.integers(0, n_anime, n_users)
    step = rng.integers(1, max(2, n_anime // per_user), n_users)
    offsets = np.arange(per_user)
    anime = (start[:, None] + step[:, None] * offsets[None, :]) % n_anime + 1
    scores = np.sort(rng.uniform(0.0, 1.0, (n_users, per_user)), axis=1)[:, ::-1]
    reason = (anime + 7) % n_anime + 1
    return pd.DataFrame(
        {
            "user_id": users,
            "anime_id": anime.ravel().astype(np.int64),
            "rank": np.tile(offsets + 1, n_users),
            "score": scores.ravel(),
            "reason_anime_id": reason.ravel().astype(np.int64),
        }
    )


def synthetic_similar(n_anime: int, per_anime: int = 20, seed: int = 13) -> pd.DataFrame:
    """``ml/anime_anime_ranked``-shaped rows: animeA, animeB, rank, score."""
    rng = np.random.default_rng(seed)
    a = np.repeat(np.arange(1, n_anime + 1, dtype=np.int64), per_anime)
    offsets = np.tile(np.arange(1, per_anime + 1), n_anime)
    b = (a - 1 + offsets * rng.integers(1, 5)) % n_anime + 1
    scores = np.sort(rng.uniform(0.0, 1.0, (n_anime, per_anime)), axis=1)[:, ::-1].ravel()
    return pd.DataFrame({"animeA": a, "animeB": b, "rank": offsets, "score": scores})
