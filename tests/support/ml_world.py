"""Small synthetic MAL worlds with a known structure the models must find.

Users belong to taste clusters; each cluster likes its own block of anime (high scores) and
dislikes a few random others. A model that learned anything puts the user's own cluster first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_CLUSTERS = 4
ANIME_PER_CLUSTER = 30
USERS_PER_CLUSTER = 20
GENRES = ("Action", "Drama", "Comedy", "Romance", "Horror", "Sports")


def cluster_of_anime(anime_id: int) -> int:
    return (anime_id - 1) // ANIME_PER_CLUSTER


def make_world(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2024-01-01", tz="UTC")
    n_anime = N_CLUSTERS * ANIME_PER_CLUSTER
    for cluster in range(N_CLUSTERS):
        block = np.arange(cluster * ANIME_PER_CLUSTER, (cluster + 1) * ANIME_PER_CLUSTER) + 1
        for u in range(USERS_PER_CLUSTER):
            user = f"user{cluster}_{u}"
            liked = rng.choice(block, 15, replace=False)
            disliked = rng.choice(np.setdiff1d(np.arange(1, n_anime + 1), block), 3, replace=False)
            for day, anime_id in enumerate(liked):
                rows.append(
                    (user, int(anime_id), int(rng.integers(8, 11)), start + pd.Timedelta(days=day))
                )
            for anime_id in disliked:
                rows.append(
                    (user, int(anime_id), int(rng.integers(2, 5)), start + pd.Timedelta(days=40))
                )
    user_anime = pd.DataFrame(
        rows, columns=["user_id", "anime_id", "score", "last_interaction_date"]
    )
    user_anime["status"] = "completed"
    anime = pd.DataFrame(
        {
            "anime_id": np.arange(1, n_anime + 1),
            "genres": [
                [GENRES[cluster_of_anime(a)], GENRES[4 + a % 2]] for a in range(1, n_anime + 1)
            ],
        }
    )
    anime_anime = pd.DataFrame(
        {
            "animeA": [1, 31, 61, 91],
            "animeB": [2, 32, 62, 92],
            "recommendation": [True, True, False, False],
            "recommendation_url": [None] * 4,
            "num_recommenders": [5, 1, None, None],
            "related": [False, False, True, True],
            "relation_type": [None, None, "Sequel", "Prequel"],
        }
    )
    return user_anime, anime, anime_anime
