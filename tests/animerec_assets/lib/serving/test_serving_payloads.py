"""Payload preparation: what ends up in Redis, and what bad model output does."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from animerec_assets.lib.serving.keys import (
    InvalidKeyError,
    KeyLayout,
    check_version,
    new_version,
    normalize_title,
    normalize_titles,
    user_key_of,
)
from animerec_assets.lib.serving.payloads import (
    PublishInputError,
    prepare_anime_payloads,
    prepare_similar_payloads,
    prepare_user_payloads,
    split_reason,
    title_index_members,
)


def _recs(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "user_id": ["Alice", "Alice", "Alice", "bob"],
            "anime_id": [10, 20, 30, 10],
            "rank": [2, 1, 3, 1],
            "score": [0.5, 0.9, 0.1, 0.7],
            "reason": ['because you completed "Cowboy Bebop"', None, 5, "x"],
        }
    )
    for name, value in overrides.items():
        frame[name] = value
    return frame


def test_user_payload_is_ranked_json_with_reasons() -> None:
    rows = prepare_user_payloads(_recs()).set_index("user_key")["payload"].to_dict()
    assert set(rows) == {"alice", "bob"}
    alice = json.loads(rows["alice"])
    assert [row[0] for row in alice] == [20, 10, 30]
    assert alice[1][2] == 'because you completed "Cowboy Bebop"'
    assert alice[2][2:] == [None, 5]  # a numeric reason is an anime id
    assert alice[0][1] == pytest.approx(0.9)


def test_user_payload_keeps_top_n_and_merges_case_variants() -> None:
    recs = pd.DataFrame(
        {
            "user_id": ["Zed"] * 25 + ["ZED"],
            "anime_id": [*list(range(1, 26)), 99],
            "rank": [*list(range(1, 26)), 0],
            "score": np.linspace(1, 0, 26),
        }
    )
    rows = prepare_user_payloads(recs, top_n=20)
    assert rows["user_key"].tolist() == ["zed"]
    payload = json.loads(rows["payload"].iloc[0])
    assert len(payload) == 20
    assert payload[0][0] == 99


def test_duplicate_pairs_keep_their_best_rank() -> None:
    recs = pd.DataFrame(
        {
            "user_id": ["a1", "a1", "a1"],
            "anime_id": [5, 5, 6],
            "rank": [3, 1, 2],
            "score": [1, 1, 1],
        }
    )
    payload = json.loads(prepare_user_payloads(recs)["payload"].iloc[0])
    assert [row[0] for row in payload] == [5, 6]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("score", [0.1, np.nan, 0.2, 0.3], "not finite"),
        ("score", [0.1, np.inf, 0.2, 0.3], "not finite"),
        ("anime_id", [1, 2, "x", 4], "not integer ids"),
        ("anime_id", [1, 2.5, 3, 4], "not integer ids"),
        ("user_id", ["a", None, "b", "c"], "missing user ids"),
        ("user_id", ["a", "  ", "b", "c"], "empty user ids"),
    ],
)
def test_bad_user_input_is_refused_with_a_clear_error(column, value, message) -> None:
    with pytest.raises(PublishInputError, match=message):
        prepare_user_payloads(_recs(**{column: value}))


def test_missing_columns_are_named() -> None:
    with pytest.raises(PublishInputError, match=r"missing columns \['score'\]"):
        prepare_user_payloads(_recs().drop(columns="score"))
    with pytest.raises(PublishInputError, match="expected a pandas DataFrame"):
        prepare_similar_payloads([1, 2, 3])  # type: ignore[arg-type]


def test_split_reason_prefers_an_explicit_reason_anime_id() -> None:
    text, anime = split_reason(_recs(reason_anime_id=[7, None, None, 8]))
    assert anime.tolist()[:3] == [7, pd.NA, 5] or anime.iloc[0] == 7
    assert anime.iloc[0] == 7 and anime.iloc[2] == 5 and anime.iloc[3] == 8
    assert pd.isna(text.iloc[1]) and text.iloc[3] == "x"


def test_similar_payload_drops_self_pairs_and_orders_by_rank() -> None:
    similar = pd.DataFrame(
        {"animeA": [1, 1, 1, 2], "animeB": [3, 1, 2, 1], "rank": [2, 1, 1, 1], "score": [0.2] * 4}
    )
    rows = prepare_similar_payloads(similar).set_index("anime_id")["payload"].to_dict()
    assert json.loads(rows[1]) == [[2, 0.2], [3, 0.2]]
    assert json.loads(rows[2]) == [[1, 0.2]]


def test_anime_payload_accepts_lists_and_strings_for_genres() -> None:
    anime = pd.DataFrame(
        {
            "anime_id": [1, 2, 3],
            "title": ["Cowboy Bebop", "Pokémon: <b>Mewtwo</b>", None],
            "genres": [["Action", "Sci-Fi"], "Comedy, Kids", np.nan],
            "score": [8.75, np.nan, 7.0],
        }
    )
    rows = prepare_anime_payloads(anime)
    cards = [json.loads(p) for p in rows["payload"]]
    assert cards[0]["genres"] == ["Action", "Sci-Fi"] and cards[0]["score"] == 8.75
    assert cards[1]["genres"] == ["Comedy", "Kids"] and cards[1]["score"] is None
    assert cards[1]["title"] == "Pokémon: <b>Mewtwo</b>"  # stored raw; escaped where shown
    assert cards[2]["title"] == "" and cards[2]["genres"] == []
    assert rows["normalized_title"].tolist() == ["cowboy bebop", "pokemon b mewtwo b", ""]


def test_title_index_has_one_member_per_word_start() -> None:
    members = title_index_members(np.array([7]), np.array(["attack on titan"]))
    assert members.tolist() == ["attack on titan\x1f7", "on titan\x1f7", "titan\x1f7"]


def test_normalization_is_the_same_scalar_and_vectorized() -> None:
    titles = ["Shingeki no Kyojin: The Final Season", "Pokémon", "  K-On!!  ", "Re:Zero"]
    assert normalize_titles(pd.Series(titles)).tolist() == [normalize_title(t) for t in titles]
    assert normalize_title("K-On!!") == "k on"


@pytest.mark.parametrize("name", ["Xinil", "ab", "a_b-c", "ABCDEFGHIJKLMNOP", "12345"])
def test_valid_user_input_becomes_a_lower_case_key(name: str) -> None:
    assert user_key_of(f"  {name} ") == name.lower()


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "a",
        "x" * 17,
        "bob smith",
        "a:b",
        "*",
        "user:*",
        "<script>",
        "ü" * 4,
        "a\nb",
        "1" * 17,
        "ab\x00",
        "a%b",
    ],
)
def test_hostile_user_input_never_becomes_a_key(hostile: str) -> None:
    with pytest.raises(InvalidKeyError):
        user_key_of(hostile)


def test_versions_sort_by_time_and_prefixes_are_checked() -> None:
    first, second = new_version(), new_version()
    assert check_version(first) == first and first <= second
    with pytest.raises(InvalidKeyError):
        check_version("v1:*")
    with pytest.raises(InvalidKeyError):
        KeyLayout("bad prefix*")
    layout = KeyLayout("p")
    assert layout.user(first, "bob") == f"p:v:{first}:user:bob"
    assert layout.namespace_pattern(first) == f"p:v:{first}:*"
