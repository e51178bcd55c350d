"""Read-time filters on hand-made cards: every filter, franchise order, one per franchise."""

from __future__ import annotations

from datetime import date

import pytest

from animerec_assets.lib.serving.filters import (
    Catalogue,
    Filters,
    apply_filters,
    has_aired,
    is_adult,
    parse_ids,
)
from animerec_assets.lib.serving.lookup import AnimeCard, Recommendation

TODAY = date(2026, 11, 29)


def _card(anime_id: int, **fields: object) -> AnimeCard:
    defaults: dict[str, object] = {"title": f"Anime {anime_id}", "type": "TV", "members": 1000}
    return AnimeCard(anime_id=anime_id, **{**defaults, **fields})  # type: ignore[arg-type]


# franchise 100: 100 (S1) -> 101 (S2) -> 102 (S3), 103 a side story; the rest stand alone
CARDS = [
    _card(100, franchise_id=100, franchise_order=1),
    _card(101, franchise_id=100, franchise_order=2, prequel_ids=(100,)),
    _card(102, franchise_id=100, franchise_order=3, prequel_ids=(101,)),
    _card(103, franchise_id=100, franchise_order=4, type="Movie"),
    _card(1, genres=("Action",), franchise_id=1, franchise_order=1),
    _card(2, type="Movie", genres=("Romance",), franchise_id=2, franchise_order=1),
    _card(3, status="Not yet aired", franchise_id=3, franchise_order=1),
    _card(4, start_date="2027-04-01", franchise_id=4, franchise_order=1),
    _card(5, genres=("Hentai",), franchise_id=5, franchise_order=1),
    _card(6, rating="Rx - Hentai", franchise_id=6, franchise_order=1),
    _card(7, members=10, franchise_id=7, franchise_order=1),
    _card(8, rating="R+ - Mild Nudity", genres=("Ecchi",), franchise_id=8, franchise_order=1),
]
CATALOGUE = Catalogue.of("v1", {card.anime_id: card for card in CARDS})


def _recs(*ids: int) -> list[Recommendation]:
    return [
        Recommendation(rank=i, anime_id=a, score=1.0 / i, anime=CATALOGUE.cards[a])
        for i, a in enumerate(ids, start=1)
    ]


def _ids(recs: list[Recommendation]) -> list[int]:
    return [r.anime_id for r in recs]


def _apply(ids: tuple[int, ...], filters: Filters | None = None, **kw: object) -> list[int]:
    result = apply_filters(_recs(*ids), CATALOGUE, filters or Filters(), today=TODAY, **kw)  # type: ignore[arg-type]
    assert [r.rank for r in result] == list(range(1, len(result) + 1))
    return _ids(result)


def test_defaults_drop_upcoming_and_adult_titles() -> None:
    assert _apply((1, 2, 3, 4, 5, 6, 7, 8)) == [1, 2, 7, 8]


def test_include_upcoming_and_adult_on_request() -> None:
    wide = Filters(include_upcoming=True, include_adult=True)
    assert _apply((1, 3, 4, 5, 6), wide) == [1, 3, 4, 5, 6]


def test_types_genres_members_and_hidden_titles() -> None:
    assert _apply((1, 2, 7), Filters(types=frozenset({"movie"}))) == [2]
    assert _apply((1, 2, 7), Filters(exclude_genres=frozenset({"ACTION"}))) == [2, 7]
    assert _apply((1, 2, 7), Filters(min_members=100)) == [1, 2]
    assert _apply((1, 2, 7), Filters(exclude_ids=frozenset({2}))) == [1, 7]


def test_user_list_excluded_unless_plan_to_watch_is_asked_for() -> None:
    user_list = {1: "completed", 2: "plan_to_watch"}
    assert _apply((1, 2, 7), user_list=user_list) == [7]
    assert _apply((1, 2, 7), Filters(include_plan_to_watch=True), user_list=user_list) == [2, 7]


def test_sequel_without_completed_prequel_is_replaced_by_the_first_unwatched_entry() -> None:
    # list known: S1 completed, S2 not -> S3 becomes S2 (its prequel S1 is completed)
    assert _apply((102, 1), user_list={100: "completed"}) == [101, 1]
    replaced = apply_filters(
        _recs(102), CATALOGUE, Filters(), today=TODAY, user_list={100: "completed"}
    )[0]
    assert replaced.reason == "Watch this before Anime 102"
    assert replaced.reason_anime_id == 102
    # nothing of the franchise watched -> S1
    assert _apply((102,), user_list={}) == [100]
    # S1 and S2 completed -> S3 itself
    assert _apply((102,), user_list={100: "completed", 101: "completed"}) == [102]
    # S2 dropped (on the list, not completed): the first entry left is the side story
    assert _apply((102, 1), user_list={100: "completed", 101: "dropped"}) == [103, 1]
    # ... and with the side story hidden too, nothing of the franchise is left
    hidden = Filters(exclude_ids=frozenset({103}))
    assert _apply((102, 1), hidden, user_list={100: "completed", 101: "dropped"}) == [1]
    # franchise order off: the sequel stays
    assert _apply((102,), Filters(franchise_order=False), user_list={}) == [102]


def test_without_the_user_list_candidates_tell_what_is_unwatched() -> None:
    # S1 is a candidate, so it is not on the user's list: S3 gives way to S1
    assert _apply((102, 1, 100)) == [100, 1]
    # S1 not among the candidates (the model left it out: on the user's list) -> S2 stays
    assert _apply((101, 1)) == [101, 1]


def test_at_most_one_title_per_franchise() -> None:
    assert _apply((100, 103, 1)) == [100, 1]
    assert _apply((100, 103, 1), Filters(one_per_franchise=False)) == [100, 103, 1]


def test_card_predicates() -> None:
    assert is_adult(_card(1, rating="Rx - Hentai"))
    assert not is_adult(_card(1, rating="R - 17+ (violence & profanity)", genres=("Erotica",)))
    assert is_adult(_card(1, genres=("Erotica",)))
    assert has_aired(_card(1, status="Currently Airing"), TODAY)
    assert not has_aired(_card(1, start_date="2030-01-01"), TODAY)
    assert has_aired(_card(1, start_date="not a date"), TODAY)
    assert has_aired(_card(1), TODAY)


def test_parse_ids_and_bounds() -> None:
    assert parse_ids(["1,2", " 3 ", ""]) == frozenset({1, 2, 3})
    with pytest.raises(ValueError):
        parse_ids(["1;DROP"])
    with pytest.raises(ValueError):
        parse_ids([",".join(str(i) for i in range(600))])
    with pytest.raises(ValueError):
        Filters(min_members=-1)


def test_recommendations_read_without_cards_get_them_from_the_catalogue() -> None:
    bare = [
        Recommendation(rank=1, anime_id=102, score=0.9),
        Recommendation(rank=2, anime_id=2, score=0.8, reason_anime_id=1),
        Recommendation(rank=3, anime_id=404, score=0.7),  # not in this version: left out
    ]
    kept = apply_filters(bare, CATALOGUE, Filters(), today=TODAY, user_list={100: "completed"})
    assert _ids(kept) == [101, 2]  # S3 waits for S2, which the user may start now
    assert kept[0].anime is CATALOGUE.cards[101] and kept[0].reason_anime is CATALOGUE.cards[102]
    assert kept[1].anime is CATALOGUE.cards[2] and kept[1].reason_anime is CATALOGUE.cards[1]
