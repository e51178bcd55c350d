"""Model-shaped outputs of any size, for benchmarks and app checks before a model exists.

Vectorized with NumPy so a 100k-user, 2M-row benchmark dataset builds in about a second. The
shapes and column names are exactly what the ML assets hand to the publish step.
"""

from __future__ import annotations

from collections.abc import Iterator

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


PLANNED_EVERY = 5  # every 5th ranked anime is on the user's plan-to-watch list
# the rest of a synthetic list, by MAL status: completed, watching, on hold, dropped, planned
LIST_STATUS_SHARES = {
    "completed": 0.6, "watching": 0.1, "on_hold": 0.05, "dropped": 0.05, "plan_to_watch": 0.2,
}  # fmt: skip


def _progressions(
    rng: np.random.Generator, n_users: int, n_anime: int, per_user: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's anime as an arithmetic progression over the catalogue: (start, step)."""
    start = rng.integers(0, n_anime, n_users)
    step = rng.integers(1, max(2, n_anime // per_user), n_users)
    return start, step


def _user_ids(n_users: int, first_user: int = 0) -> np.ndarray:
    return np.array([f"User_{i}" for i in range(first_user, first_user + n_users)], dtype=object)


def _rng(seed: int, first_user: int) -> np.random.Generator:
    """The generator of the users from ``first_user`` on (the whole population's at 0)."""
    return np.random.default_rng(seed if first_user == 0 else [seed, first_user])


def synthetic_user_recommendations(
    n_users: int, n_anime: int, per_user: int = 20, seed: int = 11, first_user: int = 0
) -> pd.DataFrame:
    """``ml/user_anime_ranked``-shaped rows: user_id, anime_id, rank, score, reason.

    ``first_user``: the rows of users ``User_{first_user}`` on (a part of a population too big
    to build at once; ``synthetic_user_parts``)."""
    rng = _rng(seed, first_user)
    users = np.repeat(_user_ids(n_users, first_user), per_user)
    # distinct anime per user: a random start and a stride co-prime-ish with the catalogue
    start, step = _progressions(rng, n_users, n_anime, per_user)
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


def synthetic_user_lists(
    n_users: int,
    n_anime: int,
    per_user: int = 20,
    list_size: int = 100,
    seed: int = 11,
    first_user: int = 0,
) -> pd.DataFrame:
    """``processed/user_anime``-shaped list rows (user_id, anime_id, status) that fit
    ``synthetic_user_recommendations`` of the same arguments: every ``PLANNED_EVERY``-th ranked
    anime is on the user's plan-to-watch list (the model ranks those too), and ``list_size``
    further anime the ranking never names, with statuses in ``LIST_STATUS_SHARES``."""
    start, step = _progressions(_rng(seed, first_user), n_users, n_anime, per_user)
    rng = _rng(seed + 1, first_user)
    planned = np.arange(PLANNED_EVERY - 1, per_user, PLANNED_EVERY)
    rest = np.arange(per_user, per_user + list_size)
    positions = np.concatenate([planned, rest])
    anime = (start[:, None] + step[:, None] * positions[None, :]) % n_anime + 1
    ranked = (start[:, None] + step[:, None] * np.arange(per_user)[None, :]) % n_anime + 1
    names = np.array(list(LIST_STATUS_SHARES), dtype=object)
    shares = np.array(list(LIST_STATUS_SHARES.values()))
    picked = rng.choice(len(names), size=(n_users, list_size), p=shares / shares.sum())
    status = np.concatenate(
        [np.full((n_users, len(planned)), "plan_to_watch", dtype=object), names[picked]], axis=1
    )
    # a progression that wraps around the catalogue may meet the ranked anime again: those
    # further entries are left out (the ranking never names a listed title but a planned one)
    users = np.repeat(np.arange(n_users, dtype=np.int64), len(positions))
    pairs = users * (n_anime + 1) + anime.ravel()
    ranked_pairs = np.repeat(np.arange(n_users, dtype=np.int64), per_user) * (n_anime + 1)
    met = np.isin(pairs, ranked_pairs + ranked.ravel())
    keep = ~met | (np.tile(np.arange(len(positions)), n_users) < len(planned))
    return pd.DataFrame(
        {
            "user_id": _user_ids(n_users, first_user)[users[keep]],
            "anime_id": anime.ravel()[keep].astype(np.int64),
            "status": status.ravel()[keep],
        }
    )


def synthetic_user_parts(
    n_users: int, n_anime: int, per_user: int, list_size: int, part_users: int
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """(recommendations, lists) of ``part_users`` users at a time, for a population that does
    not fit in memory at once (a million users' rows are ~20 GB as one pandas frame)."""
    for first in range(0, n_users, part_users):
        size = min(part_users, n_users - first)
        yield (
            synthetic_user_recommendations(size, n_anime, per_user, first_user=first),
            synthetic_user_lists(size, n_anime, per_user, list_size, first_user=first),
        )


def synthetic_similar(n_anime: int, per_anime: int = 20, seed: int = 13) -> pd.DataFrame:
    """``ml/anime_anime_ranked``-shaped rows: animeA, animeB, rank, score."""
    rng = np.random.default_rng(seed)
    a = np.repeat(np.arange(1, n_anime + 1, dtype=np.int64), per_anime)
    offsets = np.tile(np.arange(1, per_anime + 1), n_anime)
    b = (a - 1 + offsets * rng.integers(1, 5)) % n_anime + 1
    scores = np.sort(rng.uniform(0.0, 1.0, (n_anime, per_anime)), axis=1)[:, ::-1].ravel()
    return pd.DataFrame({"animeA": a, "animeB": b, "rank": offsets, "score": scores})
