"""Re-crawls through real dbt builds: snapshots replace sets, gone pages leave processed, the
incremental build equals a full refresh, and landing compaction changes nothing downstream."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from animerec_assets.contracts.processed import PROCESSED_COLUMNS
from animerec_assets.lib.landing_compaction import compact_landing
from animerec_assets.lib.landing_tables import append_landing

BUILD = ("build", "--exclude-resource-type", "unit_test")


def crawl(day: int, hour: int) -> dict[str, str]:
    return {
        "crawl_date": f"2024-05-{day:02d}T{hour:02d}:00:00+00:00",
        "crawl_hour": f"2024-05-{day:02d}-{hour:02d}:00",
        "source": "mal",
    }


def snapshot(
    day: int, hour: int, kind: str, parent: str, set_name: str, count: int, complete: int = 1
) -> dict[str, object]:
    return {
        **crawl(day, hour),
        "parent_kind": kind,
        "parent_id": parent,
        "set_name": set_name,
        "snapshot_id": f"{parent}-{set_name}-{day}-{hour}",
        "complete": complete,
        "item_count": count,
    }


def profile(
    day: int,
    hour: int,
    user: str,
    entries: dict[int, int],
    friends: list[str],
    complete: bool = True,
) -> dict[str, pd.DataFrame]:
    """One crawl of a profile: its page, its whole list and its friends, with snapshot rows."""
    list_id = f"{user}-user_anime-{day}-{hour}"
    friends_id = f"{user}-user_user-{day}-{hour}"
    return {
        "user": pd.DataFrame([{**crawl(day, hour), "user_id": user, "mean_score": 7.0}]),
        "user_anime": pd.DataFrame(
            [
                {
                    **crawl(day, hour),
                    "user_id": user,
                    "anime_id": anime,
                    "score": score,
                    "status": "completed",
                    "snapshot_id": list_id,
                }
                for anime, score in entries.items()
            ]
        ),
        "user_user": pd.DataFrame(
            [
                {**crawl(day, hour), "userA": user, "userB": friend, "snapshot_id": friends_id}
                for friend in friends
            ]
        ),
        "crawl_snapshot": pd.DataFrame(
            [
                snapshot(day, hour, "user", user, "user_anime", len(entries), int(complete)),
                snapshot(day, hour, "user", user, "user_user", len(friends)),
            ]
        ),
    }


def anime_page(
    day: int, hour: int, anime: int, related: list[int], recommended: list[int]
) -> dict[str, pd.DataFrame]:
    parent = str(anime)
    return {
        "anime": pd.DataFrame([{**crawl(day, hour), "anime_id": anime, "title": f"A{anime}"}]),
        "anime_relation": pd.DataFrame(
            [
                {
                    **crawl(day, hour),
                    "animeA": anime,
                    "animeB": other,
                    "relation_type": "Sequel",
                    "snapshot_id": f"{parent}-anime_relation-{day}-{hour}",
                }
                for other in related
            ]
        ),
        "anime_recommendation": pd.DataFrame(
            [
                {
                    **crawl(day, hour),
                    "animeA": anime,
                    "animeB": other,
                    "num_recommenders": 2,
                    "snapshot_id": f"{parent}-anime_recommendation-{day}-{hour}",
                }
                for other in recommended
            ]
        ),
        "crawl_snapshot": pd.DataFrame(
            [
                snapshot(day, hour, "anime", parent, "anime_relation", len(related)),
                snapshot(day, hour, "anime", parent, "anime_recommendation", len(recommended)),
            ]
        ),
    }


def land(warehouse: Path, *crawls: dict[str, pd.DataFrame]) -> None:
    with duckdb.connect(str(warehouse)) as connection:
        for tables in crawls:
            for table, frame in tables.items():
                append_landing(connection, table, frame)


def gone(day: int, hour: int, kind: str, parent: str, reason: str) -> dict[str, pd.DataFrame]:
    code = 404 if reason == "not_found" else 200
    row = {**crawl(day, hour), "parent_kind": kind, "parent_id": parent, "reason": reason,
           "status_code": code}  # fmt: skip
    return {"page_gone": pd.DataFrame([row])}


def processed(warehouse: Path) -> dict[str, pd.DataFrame]:
    """The five published tables, sorted, for exact comparison."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        tables = {}
        for name, columns in PROCESSED_COLUMNS.items():
            frame = connection.sql(f'select * from processed."{name}"').df()
            key = list(columns)[:2]
            tables[name] = frame.sort_values(key).reset_index(drop=True)
        return tables


def assert_same_processed(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    for name in PROCESSED_COLUMNS:
        pd.testing.assert_frame_equal(left[name], right[name], check_dtype=False, obj=name)


def first_round(warehouse: Path) -> None:
    land(
        warehouse,
        profile(1, 1, "alice", {1: 8, 5: 6, 6: 9}, ["frank", "gina"]),
        profile(1, 2, "bob", {1: 7, 2: 5}, ["alice"]),
        profile(1, 2, "frank", {1: 10}, ["alice"]),
        profile(1, 2, "gina", {5: 4}, ["alice"]),
        *(anime_page(1, 3, anime, [], []) for anime in (2, 5, 6, 20)),
        anime_page(1, 3, 1, related=[5], recommended=[6, 2]),
        {"page_gone": pd.DataFrame(columns=["parent_kind"])},
    )


def second_round(warehouse: Path) -> None:
    """The issue's example: Alice now has {1, 5, 20} and friends {frank}; plus more moves."""
    land(
        warehouse,
        profile(2, 1, "alice", {1: 8, 5: 7, 20: 6}, ["frank"]),
        # Bob's list crawl was cut after one page: nothing may be deleted
        profile(2, 2, "bob", {1: 9}, ["alice"], complete=False),
        # anime 1 lost its relation and its recommendation of 2; anime 6 answers 404
        anime_page(2, 2, 1, related=[], recommended=[6]),
        gone(2, 2, "anime", "6", "not_found"),
        # Frank turned private
        gone(2, 3, "user", "frank", "private"),
    )


def pairs(frame: pd.DataFrame, a: str, b: str) -> set[tuple]:
    return set(map(tuple, frame[[a, b]].values.tolist()))


@pytest.mark.slow
def test_recrawls_incremental_equals_full_refresh_and_compaction_changes_nothing(
    run_dbt, warehouse_path: Path, tmp_path: Path
) -> None:
    first_round(warehouse_path)
    run_dbt(*BUILD)
    before = processed(warehouse_path)
    assert pairs(before["user_anime"], "user_id", "anime_id") >= {("alice", 6), ("bob", 2)}
    assert ("alice", "gina") in pairs(before["user_user"], "userA", "userB")

    second_round(warehouse_path)
    run_dbt(*BUILD)
    after = processed(warehouse_path)
    lists = after["user_anime"].set_index(["user_id", "anime_id"])
    # Alice's list is the new one (anime 6 also answered 404: gone either way)
    assert {a for u, a in lists.index if u == "alice"} == {1, 5, 20}
    assert lists.loc[("alice", 5), "score"] == 7
    # the cut crawl of Bob's list deleted nothing and updated what it saw
    assert {a for u, a in lists.index if u == "bob"} == {1, 2}
    assert lists.loc[("bob", 1), "score"] == 9
    # Gina's profile still lists Alice but Alice's newer complete list does not: ended.
    # Frank is private: gone from every table.
    assert pairs(after["user_user"], "userA", "userB") == {("alice", "bob"), ("bob", "alice")}
    assert set(after["user"]["user_id"]) == {"alice", "bob", "gina"}
    assert "frank" not in set(after["user_anime"]["user_id"])
    # anime 6 is gone with its pairs and list rows; anime 1's relation to 5 and
    # recommendation of 2 vanished from its page
    assert 6 not in set(after["anime"]["anime_id"])
    assert pairs(after["anime_anime"], "animeA", "animeB") == set()
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        reasons = dict(connection.sql("select parent_key, reason from staging.stg_gone").fetchall())
    assert reasons == {"6": "not_found", "frank": "private"}

    # the incremental build recorded the parents it rebuilt; its data tests read their rows
    # only: bad scores on Alice's rebuilt list are caught, one on Gina's untouched list (tested
    # by the build that wrote it) is not read
    with duckdb.connect(str(warehouse_path)) as connection:
        touched = set(
            connection.sql(
                "select parent_kind, parent_key from staging.processed_touched"
                " where model_name = 'user_anime'"
            ).fetchall()
        )
        connection.execute(
            "update processed.user_anime set score = 11 where user_id in ('alice', 'gina')"
        )
    assert {("incremental", None), ("user", "alice"), ("user", "bob"), ("anime", "6")} <= touched
    assert ("user", "gina") not in touched
    ran = tmp_path / "dbt_target" / "run" / "animerec" / "models" / "processed" / "_processed.yml"
    (score_test,) = ran.glob("in_range_user_anime_score*.sql")
    assert "processed_touched" in score_test.read_text()  # the build's own tests were scoped
    scoped = run_dbt(
        "test", "--select", "user_anime", "--exclude-resource-type", "unit_test", check=False
    )
    assert scoped.returncode != 0
    assert "Failure in test in_range_user_anime_score" in scoped.stdout
    assert "Got 3 results" in scoped.stdout, scoped.stdout[-3000:]

    # a full refresh over the same landing gives the same tables, and tests every row
    full = tmp_path / "full.duckdb"
    shutil.copy(warehouse_path, full)
    run_dbt(*BUILD, "--full-refresh", warehouse=full)
    assert_same_processed(after, processed(full))
    with duckdb.connect(str(full), read_only=True) as connection:
        recorded = connection.sql(
            "select parent_kind, parent_key from staging.processed_touched"
            " where model_name = 'user_anime'"
        ).fetchall()
    assert recorded == [("all", None)]

    # compaction deletes superseded crawls only: a rebuild from compacted landing is the same
    with duckdb.connect(str(full)) as connection:
        before_rows = landing_rows(connection)
        tables = [row[0] for row in connection.sql(
            "select table_name from information_schema.tables where table_schema = 'landing'"
        ).fetchall()]  # fmt: skip
        deleted = compact_landing(
            lambda sql: connection.execute(sql).fetchall()[0][0], tables, "duckdb"
        )
        after_rows = landing_rows(connection)
    assert deleted["user_anime"] == 3  # Alice's first list; Bob's cut crawl stays
    assert sum(before_rows.values()) - sum(after_rows.values()) == sum(
        n for n in deleted.values() if n
    )
    run_dbt(*BUILD, "--full-refresh", warehouse=full)
    assert_same_processed(after, processed(full))


def landing_rows(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = connection.sql(
        "select table_name from information_schema.tables where table_schema = 'landing'"
    ).fetchall()
    return {
        name: connection.execute(f'select count(*) from landing."{name}"').fetchall()[0][0]
        for (name,) in tables
    }
