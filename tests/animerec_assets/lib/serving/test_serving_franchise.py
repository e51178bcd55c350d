"""Franchises and watch order from hand-made relation graphs and from a replica world."""

from __future__ import annotations

import numpy as np
import pandas as pd

from animerec_assets.lib.serving.franchise import franchises, prequel_edges
from mal_replica.export import processed_tables
from mal_replica.world import generate_world


def _relations(rows: list[tuple[int, int, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["animeA", "animeB", "relation_type"])


def _anime(dates: dict[int, str | None]) -> pd.DataFrame:
    return pd.DataFrame({"anime_id": list(dates), "start_date": list(dates.values())})


def _by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("anime_id")


def test_sequel_chain_orders_before_side_stories_even_against_dates() -> None:
    # 10 -> 11 -> 12 is the main line; 13 is a side story of 10 that aired before 11;
    # 12 has a wrong early date, but its prequel chain still puts it after 11.
    anime = _anime(
        {10: "2010-01-01", 11: "2012-01-01", 12: "2009-01-01", 13: "2011-01-01", 20: None}
    )
    relations = _relations(
        [
            (10, 11, "Sequel"),
            (11, 10, "Prequel"),
            (12, 11, "Prequel"),  # only one direction crawled: enough
            (10, 13, "Side Story"),
            (20, 10, "Other"),  # loose links do not join franchises
            (10, 99, "Sequel"),  # an anime not in the catalogue is ignored
            (10, 20, None),  # a recommendation row
        ]
    )
    result = _by_id(franchises(anime, relations))
    assert result.loc[[10, 11, 12, 13], "franchise_id"].tolist() == [10, 10, 10, 10]
    assert result.loc[[10, 11, 12, 13], "franchise_order"].tolist() == [1, 2, 3, 4]
    assert result.loc[[10, 11, 12], "chain_depth"].tolist() == [0, 1, 2]
    assert result.loc[12, "prequel_ids"] == [11]
    assert result.loc[10, "prequel_ids"] == []
    assert result.loc[20, "franchise_id"] == 20
    assert result.loc[20, "franchise_size"] == 1
    assert result.loc[10, "franchise_size"] == 4


def test_relation_spellings_of_mal_and_jikan_are_the_same_relation() -> None:
    anime = _anime({1: "2001-01-01", 2: "2002-01-01", 3: "2003-01-01", 4: None})
    relations = _relations(
        [(1, 2, "sequel"), (1, 3, "Side story"), (3, 4, "Spin-off"), (2, 1, " PREQUEL ")]
    )
    result = _by_id(franchises(anime, relations))
    assert set(result["franchise_id"]) == {1}
    assert result["franchise_order"].sort_values().tolist() == [1, 2, 3, 4]
    assert result.loc[2, "prequel_ids"] == [1]
    assert len(prequel_edges(relations)) == 1  # both directions name the same pair


def test_without_main_line_the_earliest_entry_comes_first_and_undated_last() -> None:
    anime = _anime({5: None, 6: "2015-05-01", 7: "2014-01-01"})
    relations = _relations([(7, 6, "Side Story"), (7, 5, "Summary")])
    result = _by_id(franchises(anime, relations))
    assert result.loc[[7, 6, 5], "franchise_order"].tolist() == [1, 2, 3]


def test_a_prequel_cycle_in_broken_data_terminates_with_a_total_order() -> None:
    anime = _anime({1: "2001-01-01", 2: "2002-01-01", 3: "2003-01-01"})
    relations = _relations([(1, 2, "Sequel"), (2, 3, "Sequel"), (3, 1, "Sequel")])
    result = franchises(anime, relations)
    assert sorted(result["franchise_order"]) == [1, 2, 3]
    assert set(result["franchise_id"]) == {1}


def test_empty_inputs() -> None:
    result = franchises(_anime({}), _relations([]))
    assert result.empty
    single = franchises(_anime({3: None}), _relations([]))
    assert single[["franchise_id", "franchise_order", "franchise_size"]].iloc[0].tolist() == [
        3,
        1,
        1,
    ]


def test_replica_world_every_prequel_comes_before_its_sequel() -> None:
    tables = processed_tables(generate_world(n_users=200, n_anime=600, seed=5))
    result = _by_id(franchises(tables["anime"], tables["anime_anime"]))
    assert len(result) == len(tables["anime"])
    edges = prequel_edges(tables["anime_anime"])
    assert len(edges) > 10
    prequel, sequel = result.loc[edges["prequel"]], result.loc[edges["sequel"]]
    assert (prequel["franchise_id"].to_numpy() == sequel["franchise_id"].to_numpy()).all()
    assert (prequel["franchise_order"].to_numpy() < sequel["franchise_order"].to_numpy()).all()
    # each franchise's orders are exactly 1..size, and its id is its smallest member
    grouped = result.reset_index().groupby("franchise_id")
    assert (grouped["franchise_order"].max() == grouped["anime_id"].size()).all()
    assert (grouped["anime_id"].min() == grouped["anime_id"].min().index).all()
    sizes = grouped["anime_id"].size()
    assert (sizes > 2).sum() > 5
    # the replica's side stories hang off the franchise's first entry, which has no prequel
    firsts = result[(result["franchise_order"] == 1) & (result["franchise_size"] > 1)]
    assert firsts["prequel_ids"].map(len).eq(0).all()
    assert np.isin(firsts.index, edges["sequel"]).sum() == 0
