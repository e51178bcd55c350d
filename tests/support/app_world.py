"""A demo-sized published world for the app's filter tests: synthetic users and anime, plus one
user whose picks hit every filter (a franchise, upcoming, adult, niche, a movie, an action show).

``FAN``'s ranked list is crafted so that each filter changes how many picks match (the app
shows that count) and which cards can appear; ``expected`` in the tests follows from it.
"""

from __future__ import annotations

import pandas as pd
import redis

from animerec_assets.lib.serving import publish
from animerec_assets.lib.serving.franchise import with_franchises
from animerec_assets.lib.serving.synthetic import (
    synthetic_anime,
    synthetic_similar,
    synthetic_user_recommendations,
)

N_USERS = 60
N_ANIME = 400
PER_USER = 100
FAN = "Filter_Fan"
MODEL_VERSION = "filters-test-1"
DONE = "Finished Airing"

SAGA, SAGA_2, SAGA_FINAL, SAGA_MOVIE = 5001, 5002, 5003, 5004
UPCOMING, ADULT, NICHE, MOVIE, ACTION = 5010, 5011, 5012, 5013, 5014
PLAIN = (5020, 5021, 5022, 5023, 5024)

CRAFTED = pd.DataFrame(
    [
        (SAGA, "Saga", "TV", ["Adventure"], 90_000, DONE, "2010-04-01", "PG-13"),
        (SAGA_2, "Saga 2nd Season", "TV", ["Adventure"], 80_000, DONE, "2012-04-01", "PG-13"),
        (SAGA_FINAL, "Saga Final Season", "TV", ["Adventure"], 70_000, DONE, "2014-04-01",
         "PG-13"),
        (SAGA_MOVIE, "Saga the Movie", "Movie", ["Adventure"], 60_000, DONE, "2011-08-01",
         "PG-13"),
        (UPCOMING, "Gamma Signal", "TV", ["Sci-Fi"], 5_000, "Not yet aired", "2031-01-01", None),
        (ADULT, "Epsilon Room", "OVA", ["Romance"], 5_000, DONE, "2006-01-01", "Rx - Hentai"),
        (NICHE, "Zeta Club", "TV", ["Comedy"], 10, DONE, "2018-01-01", "PG-13"),
        (MOVIE, "Beta Garden", "Movie", ["Romance"], 5_000, DONE, "2016-01-01", "PG-13"),
        (ACTION, "Alpha Blade", "TV", ["Action"], 5_000, DONE, "2015-01-01", "R - 17+"),
        *[
            (anime_id, f"Plain Story {n}", "TV", ["Slice of Life"], 4_000, DONE, "2019-01-01",
             "PG-13")
            for n, anime_id in enumerate(PLAIN, start=1)
        ],
    ],
    columns=["anime_id", "title", "type", "genres", "members_count", "status", "start_date",
             "rating"],
)  # fmt: skip
RELATIONS = pd.DataFrame(
    [
        (SAGA, SAGA_2, "Sequel"),
        (SAGA_2, SAGA, "Prequel"),
        (SAGA_2, SAGA_FINAL, "Sequel"),
        (SAGA_FINAL, SAGA_2, "Prequel"),
        (SAGA, SAGA_MOVIE, "Side Story"),
        (SAGA_MOVIE, SAGA, "Parent Story"),
    ],
    columns=["animeA", "animeB", "relation_type"],
)
# best first; the final season leads (its first season is a candidate too: not watched)
FAN_RANKING = [SAGA_FINAL, UPCOMING, ADULT, NICHE, MOVIE, ACTION, SAGA, SAGA_MOVIE, *PLAIN]
# what the default filters leave: the first season in the final season's place, no upcoming,
# no adult title, one Saga entry
FAN_DEFAULT_POOL = [SAGA, NICHE, MOVIE, ACTION, *PLAIN]


def world_anime(cover_base_url: str) -> pd.DataFrame:
    """Synthetic anime (ids 1..N_ANIME) and the crafted ones, with franchises and covers."""
    bulk = synthetic_anime(N_ANIME)
    bulk["status"] = DONE
    bulk["start_date"] = "2015-01-01"
    bulk["rating"] = "PG-13"
    anime = pd.concat([bulk, CRAFTED], ignore_index=True)
    anime["main_pic"] = [f"{cover_base_url}/images/anime/{i}/{i}.png" for i in anime["anime_id"]]
    return with_franchises(anime, RELATIONS)


def world_recommendations() -> pd.DataFrame:
    bulk = synthetic_user_recommendations(N_USERS, N_ANIME, per_user=PER_USER)
    fan = pd.DataFrame(
        {
            "user_id": FAN,
            "anime_id": FAN_RANKING,
            "rank": range(1, len(FAN_RANKING) + 1),
            "score": [1.0 - r / 100 for r in range(len(FAN_RANKING))],
            "reason_anime_id": [1 + r for r in range(len(FAN_RANKING))],  # synthetic anime
        }
    )
    return pd.concat([bulk, fan], ignore_index=True)


def publish_app_world(client: redis.Redis, cover_base_url: str) -> str:
    """Publish the world with the real publish code; returns the version."""
    result = publish(
        client,
        world_recommendations(),
        synthetic_similar(N_ANIME),
        world_anime(cover_base_url),
        model_version=MODEL_VERSION,
    )
    return result.version
