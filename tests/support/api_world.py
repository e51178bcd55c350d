"""A small anime world for the API tests: a franchise, every filter's case, two users."""

from __future__ import annotations

import pandas as pd
import redis

from animerec_assets.lib.serving import publish
from animerec_assets.lib.serving.franchise import with_franchises

DONE = "Finished Airing"

# Saga: 100 (S1) -> 101 (S2) -> 102 (final season); 103 a side-story movie of S1
ANIME = pd.DataFrame(
    [
        (100, "Saga", "TV", ["Adventure"], 90_000, DONE, "2010-04-01", None),
        (101, "Saga 2nd Season", "TV", ["Adventure"], 80_000, DONE, "2012-04-01", None),
        (102, "Saga Final Season", "TV", ["Adventure"], 70_000, DONE, "2014-04-01", None),
        (103, "Saga the Movie", "Movie", ["Adventure"], 60_000, DONE, "2011-08-01", None),
        (1, "Alpha Blade", "TV", ["Action"], 5_000, DONE, "2015-01-01", None),
        (2, "Beta Garden", "Movie", ["Romance"], 5_000, DONE, "2016-01-01", None),
        (3, "Gamma Signal", "TV", ["Sci-Fi"], 5_000, "Not yet aired", "2030-01-01", None),
        (4, "Delta Nights", "OVA", ["Hentai"], 5_000, DONE, "2005-01-01", None),
        (5, "Epsilon Room", "OVA", ["Romance"], 5_000, DONE, "2006-01-01", "Rx - Hentai"),
        (6, "Zeta Club", "TV", ["Comedy"], 10, DONE, "2018-01-01", None),
        (7, "Eta Kitchen", "TV", ["Comedy"], 5_000, "Currently Airing", "2026-10-01", None),
    ],
    columns=["anime_id", "title", "type", "genres", "members_count", "status", "start_date",
             "rating"],
)  # fmt: skip
RELATIONS = pd.DataFrame(
    [
        (100, 101, "Sequel"),
        (101, 100, "Prequel"),
        (101, 102, "Sequel"),
        (102, 101, "Prequel"),
        (100, 103, "Side Story"),
        (103, 100, "Parent Story"),
        (1, 2, None),  # a users' recommendation, not a relation
    ],
    columns=["animeA", "animeB", "relation_type"],
)
TESTER_RANKING = [102, 1, 2, 3, 4, 5, 6, 100, 7, 103]


# the model ranks a user's plan-to-watch titles like any other candidate (Planner's 2 and 100)
RANKINGS = {
    "Fan_2": [101, 7],
    "Fan_3": [101, 7],
    "Planner": [102, 1, 2, 100, 7],
    "Watcher": [101, 1],
}
# the published MAL lists; Tester and Fan_3 have none published (the filters' fallback path)
LISTS = {
    "Fan_2": {100: "completed"},
    "Planner": {2: "plan_to_watch", 100: "plan_to_watch", 6: "completed", 9999: "dropped"},
    "Watcher": {100: "watching"},
}


def user_recs() -> pd.DataFrame:
    rows = [("Tester", a, r, 1.0 - r / 100) for r, a in enumerate(TESTER_RANKING, start=1)]
    for user, ranking in RANKINGS.items():
        rows += [(user, a, r, 1.0 - r / 100) for r, a in enumerate(ranking, start=1)]
    return pd.DataFrame(rows, columns=["user_id", "anime_id", "rank", "score"])


def user_lists() -> pd.DataFrame:
    rows = [(user, a, status) for user, entries in LISTS.items() for a, status in entries.items()]
    return pd.DataFrame(rows, columns=["user_id", "anime_id", "status"])


def similar() -> pd.DataFrame:
    rows = [(1, 2, 1, 0.9), (1, 7, 2, 0.8), (100, 103, 1, 0.95), (100, 101, 2, 0.9)]
    return pd.DataFrame(rows, columns=["animeA", "animeB", "rank", "score"])


def publish_world(client: redis.Redis, prefix: str, model_version: str = "test-model-1") -> str:
    anime = with_franchises(ANIME, RELATIONS)
    return publish(
        client, user_recs(), similar(), anime, model_version=model_version, prefix=prefix,
        user_anime=user_lists(),
    ).version  # fmt: skip
