"""Lookup structures over a World, built once so each page renders in microseconds.

Every per-anime / per-user collection is a CSR layout: rows sorted by owner plus an offsets
array, so "the friends of user 17" is one slice, never a scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from mal_replica.world import World


def _csr(owner: np.ndarray, n: int, *tiebreak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, offsets): rows of owner k are ``order[offsets[k]:offsets[k+1]]``.

    ``tiebreak`` keys sort rows inside an owner (last key is most significant, as lexsort).
    """
    order = np.lexsort((*tiebreak, owner)) if tiebreak else np.argsort(owner, kind="stable")
    offsets = np.searchsorted(owner[order], np.arange(n + 1))
    return order, offsets


@dataclass
class Slice:
    order: np.ndarray
    offsets: np.ndarray

    def rows(self, owner: int) -> np.ndarray:
        return self.order[self.offsets[owner] : self.offsets[owner + 1]]

    def count(self, owner: int) -> int:
        return int(self.offsets[owner + 1] - self.offsets[owner])


class WorldIndex:
    """Positions by id/username and CSR slices for everything a page lists."""

    def __init__(self, world: World) -> None:
        self.world = world
        # plain NumPy columns: element access is ~50x faster than pandas .iat per request
        self.t = SimpleNamespace(
            **{
                name: {column: frame[column].to_numpy() for column in frame.columns}
                for name, frame in (
                    ("anime", world.anime),
                    ("users", world.users),
                    ("lists", world.lists),
                    ("favorites", world.favorites),
                    ("relations", world.relations),
                    ("recommendations", world.recommendations),
                    ("reviews", world.reviews),
                    ("history", world.history),
                    ("clubs", world.clubs),
                    ("club_anime", world.club_anime),
                    ("club_members", world.club_members),
                    ("pictures", world.pictures),
                )
            }
        )
        a, u = world.anime, world.users
        n_anime, n_users = len(a), len(u)
        self.anime_ids = a["anime_id"].to_numpy()
        self.titles: list[str] = a["title"].tolist()
        self.slugs: list[str] = a["slug"].tolist()
        self.usernames: list[str] = u["username"].tolist()
        self.user_by_lower = {name.lower(): i for i, name in enumerate(self.usernames)}
        # lists hidden by their owner (evolve.py); a generated world has none
        self.private = (
            u["private"].to_numpy(dtype=bool) if "private" in u else np.zeros(n_users, bool)
        )

        lists = world.lists
        self.lists_by_user = Slice(*_csr(lists["user"].to_numpy(), n_users))
        self.lists_by_anime = Slice(
            *_csr(lists["anime"].to_numpy(), n_anime, -lists["updated_ts"].to_numpy())
        )

        fav = world.favorites
        self.favorites_by_user = Slice(
            *_csr(fav["user"].to_numpy(), n_users, fav["rank"].to_numpy())
        )
        rel = world.relations
        self.relations_by_anime = Slice(*_csr(rel["a"].to_numpy(), n_anime))

        recs = world.recommendations
        anchor = np.r_[recs["a"].to_numpy(), recs["b"].to_numpy()]
        self.rec_other = np.r_[recs["b"].to_numpy(), recs["a"].to_numpy()]
        self.rec_row = np.r_[np.arange(len(recs)), np.arange(len(recs))]
        votes = recs["num_recommenders"].to_numpy()[self.rec_row]
        self.recs_by_anime = Slice(*_csr(anchor, n_anime, -votes))

        rev = world.reviews
        self.reviews_by_anime = Slice(
            *_csr(rev["anime"].to_numpy(), n_anime, -rev["reactions"].to_numpy())
        )
        self.reviews_by_user = Slice(*_csr(rev["user"].to_numpy(), n_users))

        hist = world.history
        self.history_by_user = Slice(
            *_csr(hist["user"].to_numpy(), n_users, -hist["watched_ts"].to_numpy())
        )

        fr = world.friendships
        self.friend_owner = np.r_[fr["a"].to_numpy(), fr["b"].to_numpy()]
        self.friend_other = np.r_[fr["b"].to_numpy(), fr["a"].to_numpy()]
        self.friend_since = np.r_[fr["since_ts"].to_numpy(), fr["since_ts"].to_numpy()]
        self.friends_by_user = Slice(*_csr(self.friend_owner, n_users, self.friend_since))

        pics = world.pictures
        self.pics_by_anime = Slice(*_csr(pics["anime"].to_numpy(), n_anime))
        self.clubs_by_anime = Slice(*_csr(world.club_anime["anime"].to_numpy(), n_anime))
        self.clubs_by_user = Slice(*_csr(world.club_members["user"].to_numpy(), n_users))

        # listing orders for seeding pages
        ranked = a["score_rank"].to_numpy()
        self.top_by_score = np.argsort(np.where(ranked > 0, ranked, np.iinfo(np.int64).max))
        self.top_by_score = self.top_by_score[: int((ranked > 0).sum())]
        self.top_by_popularity = np.argsort(a["popularity_rank"].to_numpy())

    # ---------------------------------------------------------------------------------------
    def anime_pos(self, anime_id: int) -> int | None:
        pos = int(np.searchsorted(self.anime_ids, anime_id))
        if pos < len(self.anime_ids) and self.anime_ids[pos] == anime_id:
            return pos
        return None

    def user_pos(self, username: str) -> int | None:
        return self.user_by_lower.get(username.lower())

    def anime_row(self, pos: int) -> pd.Series:
        return self.world.anime.iloc[pos]

    def user_row(self, pos: int) -> pd.Series:
        return self.world.users.iloc[pos]
