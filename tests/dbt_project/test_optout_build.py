"""An opted-out user disappears everywhere after the next runs: `animerec optout add` in the
scheduler, the privacy/optout copy into landing.optout, a real `dbt build`, then the export."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_dbt_build import crawl, table, write_first_crawls

from animerec_assets.lib.export.dataset import export_processed
from animerec_assets.lib.export.pseudonyms import REAL_USERNAMES, UsernamePolicy, pseudonym
from animerec_assets.lib.landing_tables import append_landing
from animerec_assets.lib.optout import replace_optout_sql
from animerec_assets.resources import SchedulerResource, WarehouseResource
from crawler.scheduler import CrawlScheduler
from crawler.urls import profile_url

BUILD = ("build", "--exclude-resource-type", "unit_test")
KEY = b"a pseudonym key for this test"


def write_friends(connection: duckdb.DuckDBPyConnection) -> None:
    """Bob and Carol, crawled, friends of each other and (Bob) of Alice."""
    append_landing(connection, "user", pd.DataFrame([
        {**crawl(6), "user_id": "Bob", "num_completed": 1},
        {**crawl(6), "user_id": "Carol", "num_completed": 0},
    ]))  # fmt: skip
    append_landing(connection, "user_anime", pd.DataFrame([
        {**crawl(6), "user_id": "Bob", "anime_id": 1, "score": 7, "status": "Completed",
         "progress": 26},
    ]))  # fmt: skip
    append_landing(connection, "user_user", pd.DataFrame([
        {**crawl(6), "userA": "Bob", "userB": "Carol", "friendship_date": "2020-01-01"},
    ]))  # fmt: skip


def users_in_processed(warehouse: Path) -> dict[str, set[str]]:
    friends = table(warehouse, "processed.user_user")
    return {
        "user": {u.lower() for u in table(warehouse, 'processed."user"')["user_id"]},
        "user_anime": {u.lower() for u in table(warehouse, "processed.user_anime")["user_id"]},
        "user_user": {u.lower() for u in [*friends["userA"], *friends["userB"]]},
    }


def export_text(folder: Path) -> str:
    parts = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            with duckdb.connect() as connection:
                parts.append(repr(connection.sql(f"from read_parquet('{path}')").fetchall()))
        elif path.name.endswith(".gz"):
            parts.append(gzip.decompress(path.read_bytes()).decode("utf-8"))
        else:
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts).lower()


@pytest.mark.slow
def test_an_opted_out_user_disappears_from_processed_and_the_export(
    run_dbt, warehouse_path: Path, tmp_path: Path
) -> None:
    with duckdb.connect(str(warehouse_path)) as connection:
        write_first_crawls(connection)
        write_friends(connection)
    # never copied yet: landing.optout does not exist and the build still runs
    run_dbt(*BUILD)
    before = users_in_processed(warehouse_path)
    assert before == {
        "user": {"alice", "bob", "carol"},
        "user_anime": {"alice", "bob"},
        "user_user": {"alice", "bob", "carol"},
    }
    assert 77 in set(table(warehouse_path, "processed.user_anime")["review_id"])  # Alice's

    db_url = f"sqlite:///{tmp_path / 'scheduler.sqlite'}"
    scheduler = CrawlScheduler(db_url)
    scheduler.create_tables()
    scheduler.add_urls("profile", [profile_url("Alice"), profile_url("Bob")])
    scheduler.opt_out(["ALICE"])
    usernames = SchedulerResource(db_url=db_url).opted_out_usernames()
    assert usernames == ["alice"]
    warehouse = WarehouseResource(kind="duckdb", duckdb_path=str(warehouse_path))
    warehouse.read_sql(replace_optout_sql(usernames, datetime.now(UTC), "duckdb"))
    run_dbt(*BUILD)

    after = users_in_processed(warehouse_path)
    assert after == {"user": {"bob", "carol"}, "user_anime": {"bob"}, "user_user": {"bob", "carol"}}
    reviews = table(warehouse_path, "processed.user_anime")["review_id"]
    assert reviews.isna().all()  # her review went with her

    # the export, even one that publishes real usernames, no longer has her
    now = datetime(2024, 6, 5, tzinfo=UTC)
    real = export_processed(
        warehouse, tmp_path / "real", "animerec/test-dataset", now, usernames=REAL_USERNAMES
    )
    text = export_text(Path(real.location))
    assert "alice" not in text and "carol" in text
    keyed = export_processed(
        warehouse, tmp_path / "keyed", "animerec/test-dataset", now, usernames=UsernamePolicy(KEY)
    )
    text = export_text(Path(keyed.location))
    assert pseudonym(KEY, "Alice") not in text and pseudonym(KEY, "Carol") in text
    for name in ("alice", "bob", "carol"):
        assert name not in text
