"""MAL's age rating, crawled from the replica's MAL API, to the adult filter on published cards.

The path the issue asks for, end to end with real parts: the replica's ``/v2/anime/{id}``
answers codes (``rx``), the crawler turns them into MAL's labels, dbt carries them into
``processed.anime`` (with the favorites count the API lacks, read from the HTML stats page),
the serving publish writes them on the cards in a real Redis, and the read-time filter keeps
Rx titles out unless asked. The replica world has no Hentai/Erotica genre, so only the crawled
rating can tell an adult title.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import redis
from replica_crawl import build_processed, crawl_replica

from animerec_assets.lib.serving import publish
from animerec_assets.lib.serving.filters import Catalogue, Filters, apply_filters
from animerec_assets.lib.serving.franchise import with_franchises
from animerec_assets.lib.serving.lookup import get_catalogue, get_recommendations

RX = "Rx - Hentai"


@pytest.mark.slow
def test_crawled_rating_reaches_processed_and_keeps_rx_out(
    tmp_path: Path, redis_server_url: str
) -> None:
    server = pytest.importorskip("mal_replica.server")
    with server.run_replica(n_users=3, n_anime=24, seed=11, adult_share=0.25) as replica:
        crawl_replica("malapi", replica, tmp_path, kinds=("anime",))
        truth = replica.world.anime.set_index("anime_id")
    tables = build_processed(tmp_path)
    anime = tables["anime"].set_index("anime_id")
    assert anime["rating"].to_dict() == truth["rating"].to_dict()
    assert anime["favorites_count"].to_dict() == truth["favorites_count"].to_dict()
    adult = set(anime.index[anime["rating"] == RX])
    assert adult and len(adult) < len(anime)

    ranked = anime.reset_index().sort_values("anime_id")
    user_recs = pd.DataFrame(
        {
            "user_id": "Tester",
            "anime_id": ranked["anime_id"].to_numpy(),
            "rank": range(1, len(ranked) + 1),
            "score": [1.0 - i / 100 for i in range(len(ranked))],
        }
    )
    similar = pd.DataFrame(
        {"animeA": [int(ranked["anime_id"].iloc[0])], "animeB": [int(ranked["anime_id"].iloc[1])],
         "rank": [1], "score": [0.5]}
    )  # fmt: skip
    client = redis.Redis.from_url(redis_server_url)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    try:
        cards_in = with_franchises(tables["anime"], tables["anime_anime"])
        publish(client, user_recs, similar, cards_in, model_version="rating-test", prefix=prefix)
        recommendations = get_recommendations(client, "Tester", prefix=prefix)
        version, cards = get_catalogue(client, prefix=prefix)
    finally:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    assert {a for a, c in cards.items() if c.rating == RX} == adult
    published = {r.anime_id for r in recommendations}  # the top of the list the publish keeps
    assert published & adult and published - adult
    catalogue = Catalogue.of(version, cards)
    only_filter = {"include_upcoming": True, "franchise_order": False, "one_per_franchise": False}
    today = date(2025, 6, 1)
    kept = apply_filters(recommendations, catalogue, Filters(**only_filter), today=today)
    assert {r.anime_id for r in kept} == published - adult
    asked = Filters(include_adult=True, **only_filter)  # type: ignore[arg-type]
    everything = apply_filters(recommendations, catalogue, asked, today=today)
    assert {r.anime_id for r in everything} == published
