"""The synthetic MAL world: anime, users, lists and everything the site shows about them.

``generate_world`` assembles the tables from the component generators (``generators.py``,
where the model is described) for one ``WorldParams`` (``params.py``). Every aggregate MAL
displays is computed from the generated rows, so pages are consistent.

Rows refer to anime and users by *position* (row number in ``World.anime`` / ``World.users``);
MAL ids and usernames are columns of those two tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mal_replica import generators as gen
from mal_replica.params import WorldParams, resolve_params


@dataclass
class World:
    """The generated tables. Positions index ``anime`` and ``users``; see the module doc."""

    params: WorldParams
    anime: pd.DataFrame
    users: pd.DataFrame
    lists: pd.DataFrame
    favorites: pd.DataFrame
    relations: pd.DataFrame
    recommendations: pd.DataFrame
    reviews: pd.DataFrame
    history: pd.DataFrame
    friendships: pd.DataFrame
    clubs: pd.DataFrame
    club_anime: pd.DataFrame
    club_members: pd.DataFrame
    pictures: pd.DataFrame
    meta: dict = field(default_factory=dict)

    @property
    def now_ts(self) -> int:
        return self.params.now_ts

    def summary(self) -> dict[str, int]:
        return {
            "anime": len(self.anime),
            "users": len(self.users),
            "list_rows": len(self.lists),
            "favorites": len(self.favorites),
            "relations": len(self.relations),
            "recommendation_pairs": len(self.recommendations),
            "reviews": len(self.reviews),
            "history_rows": len(self.history),
            "friendships": len(self.friendships),
            "clubs": len(self.clubs),
            "pictures": len(self.pictures),
        }


def generate_world(
    n_users: int = 2000, n_anime: int = 1000, seed: int = 0, **overrides: object
) -> World:
    """Build the whole world for a seed; ``overrides`` set any other ``WorldParams`` field."""
    params = resolve_params(n_users, n_anime, seed, overrides)
    rngs = gen.component_rngs(params.seed)

    anime = gen.generate_anime(params, rngs["anime"])
    gen.rate_adult_anime(anime, params.adult_share, rngs["ratings"])
    franchise_root, relations = gen.generate_franchises(params, anime, rngs["franchise"])
    gen.add_titles(anime, franchise_root, rngs["names"])
    users = gen.generate_users(params, rngs["users"], rngs["names"])
    lists = gen.generate_lists(params, anime, users, rngs["lists"])
    favorites = gen.generate_favorites(params, lists, len(users), rngs["favorites"])
    history = gen.generate_history(params, lists, rngs["history"])
    friendships = gen.generate_friendships(params, users, rngs["friends"])
    reviews = gen.generate_reviews(params, lists, len(users), rngs["reviews"])
    recommendations = gen.generate_recommendations(params, anime, users, rngs["recommendations"])
    clubs, club_anime, club_members = gen.generate_clubs(params, anime, users, rngs["clubs"])
    pictures = gen.generate_pictures(anime, rngs["pictures"])
    favorite_counts = np.bincount(favorites["anime"], minlength=len(anime))
    gen.anime_statistics(anime, gen.list_counters(lists, len(anime)), favorite_counts)
    gen.user_statistics(users, anime, lists, favorites)
    return World(
        params=params,
        anime=anime,
        users=users,
        lists=lists,
        favorites=favorites,
        relations=relations,
        recommendations=recommendations,
        reviews=reviews,
        history=history,
        friendships=friendships,
        clubs=clubs,
        club_anime=club_anime,
        club_members=club_members,
        pictures=pictures,
    )
