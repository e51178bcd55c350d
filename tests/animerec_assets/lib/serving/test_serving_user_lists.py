"""The users' MAL lists as the publish packs them, and how they shape the published ranking."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from animerec_assets.lib.serving.payloads import (
    LIST_HEADER_BYTES,
    LIST_STATUSES,
    clean_user_lists,
    list_status,
    pack_user_lists,
    prepare_payloads,
    prepare_user_payloads,
    unpack_user_list,
)
from animerec_assets.lib.serving.synthetic import (
    synthetic_anime,
    synthetic_similar,
    synthetic_user_lists,
    synthetic_user_recommendations,
)


def _lists(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "anime_id", "status"])


def test_packed_lists_round_trip_every_status_and_keep_the_last_of_a_repeat() -> None:
    rows = _lists(
        [("Bob", 5, "completed"), ("bob", 3, "plan_to_watch"), ("BOB", 70_000, "Watching"),
         ("bob", 5, "dropped"), ("al", 1, "on_hold"), ("al", 2**32 - 1, "completed")]
    )  # fmt: skip
    keys, values = pack_user_lists(clean_user_lists(rows))
    assert keys.tolist() == ["al", "bob"]
    unpacked = [unpack_user_list(v.as_py()) for v in values]
    assert unpacked == [
        {1: "on_hold", 2**32 - 1: "completed"},
        {5: "dropped", 3: "plan_to_watch", 70_000: "watching"},
    ]
    # 4 bytes an entry after one count per status
    assert len(values[1].as_py()) == LIST_HEADER_BYTES + 4 * 3
    assert LIST_STATUSES[-1] == "plan_to_watch"


def test_odd_rows_are_left_out_without_failing_the_batch() -> None:
    rows = _lists(
        [("ok", 1, "completed"), (None, 2, "completed"), ("ok", None, "completed"),
         ("ok", -3, "completed"), ("ok", 2**32, "completed"), ("ok", 4.5, "completed"),
         ("ok", 5, "rewatching"), ("ok", 6, None), ("  ", 7, "completed"), ("ok", "x", "dropped")]
    )  # fmt: skip
    keys, values = pack_user_lists(clean_user_lists(rows))
    assert keys.tolist() == ["ok"]
    assert unpack_user_list(values[0].as_py()) == {1: "completed"}


@pytest.mark.parametrize("damaged", [b"", b"\x00" * 3, b"\x01" + b"\x00" * 19, b"\x00" * 21])
def test_a_damaged_packed_list_is_refused(damaged: bytes) -> None:
    with pytest.raises(ValueError, match="packed user list"):
        unpack_user_list(damaged)


def test_list_status_finds_each_pair_and_nothing_else() -> None:
    lists = clean_user_lists(_lists([("a", 1, "completed"), ("b", 1, "plan_to_watch")]))
    found = list_status(pa.array(["a", "b", "b", "c"]), np.array([1, 1, 2, 1]), lists)
    assert found.tolist() == [1, 4, -1, -1]
    empty = clean_user_lists(_lists([]))
    assert list_status(pa.array(["a"]), np.array([1]), empty).tolist() == [-1]


def test_the_ranking_keeps_top_n_unlisted_plus_the_best_planned_in_rank_order() -> None:
    recs = pd.DataFrame(
        {"user_id": "u", "anime_id": [10, 11, 12, 13, 14, 15, 16], "rank": range(1, 8),
         "score": np.linspace(0.9, 0.3, 7)}
    )  # fmt: skip
    lists = clean_user_lists(
        _lists([("u", 11, "plan_to_watch"), ("u", 13, "plan_to_watch"), ("u", 16, "plan_to_watch"),
                ("u", 12, "completed")])
    )  # fmt: skip

    def ranked(top_n: int, planned: int) -> list[int]:
        payload = prepare_user_payloads(recs, top_n, lists, planned)["payload"].iloc[0]
        return [row[0] for row in json.loads(payload)]

    # 12 is listed as completed (a list newer than the model): never published
    assert ranked(2, 2) == [10, 11, 13, 14]
    assert ranked(3, 0) == [10, 14, 15]
    assert ranked(10, 10) == [10, 11, 13, 14, 15, 16]


def test_only_users_with_recommendations_get_their_list_published() -> None:
    recs = synthetic_user_recommendations(20, 200, per_user=25)
    lists = pd.concat(
        [synthetic_user_lists(20, 200, per_user=25, list_size=8),
         _lists([("Stranger", 1, "completed")])]
    )  # fmt: skip
    payloads = prepare_payloads(
        recs, synthetic_similar(200), synthetic_anime(200), user_anime=lists, top_n_user=15,
        top_n_planned=3,
    )  # fmt: skip
    assert sorted(payloads.list_keys) == sorted(payloads.user_keys)
    assert "stranger" not in set(payloads.list_keys)
    sizes = [len(json.loads(v)) for v in payloads.user_values]
    assert max(sizes) <= 15 + 3 and min(sizes) >= 15


def test_rows_in_the_models_order_and_shuffled_rows_give_the_same_payloads() -> None:
    recs = synthetic_user_recommendations(40, 300, per_user=30)  # user by user, best first
    lists = clean_user_lists(synthetic_user_lists(40, 300, per_user=30, list_size=5))
    in_order = prepare_user_payloads(recs, 20, lists, 3)
    shuffled = prepare_user_payloads(recs.sample(frac=1.0, random_state=1), 20, lists, 3)
    pd.testing.assert_frame_equal(in_order, shuffled)
    first = json.loads(in_order["payload"].iloc[0])
    assert first[0][1] == pytest.approx(
        recs.loc[recs["user_id"] == "User_0", "score"].max(), abs=1e-5
    )
    negative = recs.assign(score=-recs["score"] - 1.5, rank=-recs["score"])
    assert json.loads(prepare_user_payloads(negative, 1)["payload"].iloc[0])[0][1] < -1.5
