"""One replica world crawled by each source (MAL's pages, Jikan v4, MAL's API v2), built by dbt.

The API source must give the processed tables the HTML source gives; Jikan agrees on what it
serves (it has no anime lists, only a profile's recent updates, and no clubs).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from replica_crawl import build_processed, crawl_replica

# What only some sources can see (see the module docstring).
NOT_FROM = {
    "jikan": {"anime": ["clubs", "pics"], "user": ["clubs"]},
}


def comparable(frame: pd.DataFrame, drop: list[str]) -> pd.DataFrame:
    """Rows in key order, lists as tuples, without the columns a source cannot fill."""
    frame = frame.drop(columns=[c for c in drop if c in frame.columns])
    for column in frame.columns:  # MAL's pages show times to the minute, Jikan to the second
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.floor("min")
    frame = frame.map(lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v)
    return frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)


@pytest.mark.slow
def test_three_sources_give_the_same_processed_tables(tmp_path: Path) -> None:
    server = pytest.importorskip("mal_replica.server")
    tables: dict[str, dict[str, pd.DataFrame]] = {}
    with server.run_replica(n_users=25, n_anime=40, seed=5, adult_share=0.2) as replica:
        for source in ("mal", "malapi", "jikan"):
            crawl_replica(source, replica, tmp_path / source)
        world = replica.world
    for source in ("mal", "malapi", "jikan"):
        tables[source] = build_processed(tmp_path / source)
    html = tables["mal"]
    # "Online now" / "5 minutes ago" resolve against each crawl's own clock
    online = [comparable(tables[s]["user"], [])["last_online_date"] for s in ("mal", "malapi")]
    assert ((online[0] - online[1]).abs() <= pd.Timedelta(minutes=30)).all()
    for name in ("anime", "user", "user_anime", "anime_anime", "user_user"):
        drop = ["last_online_date"] if name == "user" else []
        pd.testing.assert_frame_equal(
            comparable(tables["malapi"][name], drop), comparable(html[name], drop), obj=name
        )
    # the API's favorites count comes from the HTML stats page, its age rating codes become
    # the labels the pages show: both as the world has them, Rx titles among them
    truth = world.anime.set_index("anime_id")
    for source in ("mal", "malapi"):
        anime = tables[source]["anime"].set_index("anime_id")
        assert anime["favorites_count"].to_dict() == truth["favorites_count"].to_dict()
        assert anime["rating"].to_dict() == truth["rating"].to_dict()
    assert (tables["malapi"]["anime"]["rating"] == "Rx - Hentai").any()
    for name in ("anime", "anime_anime", "user_user"):
        drop = NOT_FROM["jikan"].get(name, [])
        pd.testing.assert_frame_equal(
            comparable(tables["jikan"][name], drop), comparable(html[name], drop), obj=name
        )
    # Jikan's user_anime rows are the profile's recent updates: a subset of the whole lists
    keys = ["user_id", "anime_id"]
    jikan_keys = set(map(tuple, tables["jikan"]["user_anime"][keys].to_numpy()))
    assert jikan_keys and jikan_keys <= set(map(tuple, html["user_anime"][keys].to_numpy()))
