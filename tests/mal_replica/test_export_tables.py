"""Ground-truth export: exactly the processed schemas, and what a crawl could observe."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from animerec_assets.contracts.processed import PROCESSED_COLUMNS
from mal_replica.export import processed_tables, write_parquet
from mal_replica.world import World

# The contract: the processed schemas.
SCHEMAS = {table: list(columns) for table, columns in PROCESSED_COLUMNS.items()}


@pytest.fixture(scope="module")
def tables(world: World) -> dict[str, pd.DataFrame]:
    return processed_tables(world)


def test_the_five_processed_tables_have_exactly_the_contract_columns(tables) -> None:
    for name, columns in SCHEMAS.items():
        assert list(tables[name].columns) == columns, name
    assert {"reviews", "history"} <= set(tables)


def test_urls_are_canonical_mal_urls(tables) -> None:
    anime, user = tables["anime"], tables["user"]
    assert (
        anime["anime_url"] == "https://myanimelist.net/anime/" + anime["anime_id"].astype(str)
    ).all()
    assert (user["user_url"] == "https://myanimelist.net/profile/" + user["user_id"]).all()
    assert anime["main_pic"].str.startswith("https://cdn.myanimelist.net/images/anime/").all()


def test_rows_match_the_world(world: World, tables) -> None:
    assert len(tables["anime"]) == len(world.anime)
    assert len(tables["user"]) == len(world.users)
    assert len(tables["user_anime"]) == len(world.lists)
    assert tables["user_anime"]["favorite"].sum() == len(world.favorites)
    assert tables["user_anime"]["review_id"].notna().sum() == len(world.reviews)
    assert set(tables["user_anime"]["status"].unique()) <= {
        "watching", "completed", "on_hold", "dropped", "plan_to_watch"
    }  # fmt: skip
    unscored = tables["anime"]["score_count"] == 0
    assert tables["anime"].loc[unscored, "score"].isna().all()
    assert tables["anime"].loc[unscored, "score_rank"].isna().all()


def test_anime_anime_merges_relations_and_recommendations_per_pair(world, tables) -> None:
    pairs = tables["anime_anime"]
    assert not pairs[["animeA", "animeB"]].duplicated().any()
    assert len(pairs[pairs["related"] == 1]) == len(world.relations)
    recs = pairs[pairs["recommendation"] == 1]
    assert len(recs) == 2 * len(world.recommendations)  # shown on both anime's pages
    mirrored = recs.merge(recs, left_on=["animeA", "animeB"], right_on=["animeB", "animeA"])
    assert len(mirrored) == len(recs)
    assert (mirrored["num_recommenders_x"] == mirrored["num_recommenders_y"]).all()
    assert (
        recs["recommendation_url"]
        .str.match(r"https://myanimelist\.net/recommendations/anime/\d+-\d+$")
        .all()
    )
    only_related = pairs[(pairs["related"] == 1) & (pairs["recommendation"] == 0)]
    assert only_related["recommendation_url"].isna().all()
    assert pairs.loc[pairs["related"] == 1, "relation_type"].notna().all()


def test_user_user_lists_each_friendship_both_ways(world, tables) -> None:
    friends = tables["user_user"]
    assert len(friends) == 2 * len(world.friendships)
    mirrored = friends.merge(friends, left_on=["userA", "userB"], right_on=["userB", "userA"])
    assert len(mirrored) == len(friends)
    assert (friends["friendship_date"].dt.second == 0).all(), "MAL shows minutes, not seconds"


def test_review_sub_scores_only_exist_in_the_jikan_view(world) -> None:
    mal = processed_tables(world, source="mal")["user_anime"]
    api = processed_tables(world, source="jikan")["user_anime"]
    assert mal["review_story_score"].isna().all()
    reviewed = api["review_id"].notna()
    assert api.loc[reviewed, "review_story_score"].notna().all()
    with pytest.raises(ValueError, match="source"):
        processed_tables(world, source="kitsu")


def test_parquet_round_trip(tables, tmp_path: Path) -> None:
    written = write_parquet(tables, tmp_path / "truth")
    assert set(written) == set(tables)
    back = pd.read_parquet(written["anime"])
    assert list(back.columns) == SCHEMAS["anime"]
    assert back["genres"].map(len).sum() == tables["anime"]["genres"].map(len).sum()
    back_ua = pd.read_parquet(written["user_anime"])
    assert len(back_ua) == len(tables["user_anime"])
