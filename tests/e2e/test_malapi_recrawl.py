"""A re-crawl through MAL's API v2 replaces what it lists, as a re-crawl of the HTML pages does.

The world moves between two crawls (entries leave lists, users and anime disappear); the
second crawl's complete snapshots (the API's list pages, its anime page for relations and
recommendations at once) must leave processed equal to the moved world, stale rows gone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from replica_crawl import build_processed, crawl_replica, world_targets

from animerec_assets.lib.landing import read_jsonl_items


def pairs(frame, columns: list[str]) -> set[tuple]:  # type: ignore[no-untyped-def]
    return set(frame[columns].astype(str).itertuples(index=False, name=None))


@pytest.mark.slow
def test_a_malapi_recrawl_of_a_moved_world_replaces_its_sets(tmp_path: Path) -> None:
    server = pytest.importorskip("mal_replica.server")
    export = pytest.importorskip("mal_replica.export")
    with server.run_replica(n_users=12, n_anime=30, seed=8) as replica:
        before = world_targets(replica.world)
        crawl_replica("malapi", replica, tmp_path / "first")
        replica.evolve(rounds=3)
        world = replica.world
        after = world_targets(world)
        # the second crawl asks for everything the first knew too: the gone come back 404
        targets = {kind: sorted(set(before[kind]) | set(after[kind])) for kind in before}
        crawl_replica("malapi", replica, tmp_path / "second", targets=targets)
    truth = export.processed_tables(world)
    public = set(world.users.loc[~world.users["private"].to_numpy(bool), "username"].str.lower())
    tables = build_processed(tmp_path, [tmp_path / "first", tmp_path / "second"])
    first = pd.DataFrame(
        [i for i in read_jsonl_items(sorted((tmp_path / "first").glob("*.jsonl")))
         if i.get("item_type") == "user_anime"]
    )  # fmt: skip

    def lists(frame):  # type: ignore[no-untyped-def]
        mine = frame[frame["user_id"].str.lower().isin(public)]
        return pairs(mine.assign(user_id=mine["user_id"].str.lower()), ["user_id", "anime_id"])

    stale = lists(first) - lists(truth["user_anime"])
    assert stale, "the world moved: some entries left the lists"
    assert lists(tables["user_anime"]) == lists(truth["user_anime"])
    assert pairs(tables["anime_anime"], ["animeA", "animeB"]) == pairs(
        truth["anime_anime"], ["animeA", "animeB"]
    )
    assert set(tables["anime"]["anime_id"]) == set(truth["anime"]["anime_id"])
