"""One replica world crawled by each source (MAL's pages, Jikan v4, MAL's API v2), built by dbt.

The API source must give the processed tables the HTML source gives; Jikan agrees on what it
serves (it has no anime lists, only a profile's recent updates, and no clubs).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from animerec_assets.lib.landing import items_to_landing_frames, read_jsonl_items
from animerec_assets.lib.landing_tables import append_landing

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MAL = "https://myanimelist.net"
# What only some sources can see (see the module docstring; the API has no favorites count).
NOT_FROM = {
    "malapi": {"anime": ["favorites_count"]},
    "jikan": {"anime": ["clubs", "pics"], "user": ["clubs"]},
}


def crawl_all(source: str, replica, out: Path) -> None:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "ANIMEREC_HOME": str(out / "home"),
        "ANIMEREC_MAL_BASE_URL": replica.base_url,
        "ANIMEREC_JIKAN_BASE_URL": replica.jikan_base_url,
        "ANIMEREC_MAL_API_BASE_URL": replica.malapi_base_url,
        "ANIMEREC_CRAWL_SOURCE": source,
        "ANIMEREC_MAL_CLIENT_ID": "test-client",
    }
    world = replica.world
    targets = {
        "anime": [f"{MAL}/anime/{i}" for i in world.anime["anime_id"]],
        "profile": [f"{MAL}/profile/{u}" for u in world.users["username"]],
    }
    for spider, urls in targets.items():
        command = [
            str(BIN / "scrapy"), "crawl", spider, "-a", "urls=" + ",".join(urls),
            "-s", f"ANIMEREC_JSONL_DIR={out}", "-s", "DOWNLOAD_DELAY=0",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
            "-s", "LOG_LEVEL=WARNING",
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]


def build(out: Path) -> dict[str, pd.DataFrame]:
    """Landing from the crawl's items, then the project's dbt build; the processed tables."""
    warehouse = out / "warehouse.duckdb"
    frames = items_to_landing_frames(read_jsonl_items(sorted(out.glob("*.jsonl"))), "2025-06-01")
    with duckdb.connect(str(warehouse)) as connection:
        for item_type, frame in frames.items():
            append_landing(connection, item_type, frame)
    env = {**os.environ, "DO_NOT_TRACK": "1", "ANIMEREC_DUCKDB_PATH": str(warehouse)}
    command = [
        str(BIN / "dbt"), "build", "--exclude-resource-type", "unit_test",
        "--project-dir", str(REPO / "dbt_project"), "--profiles-dir", str(REPO / "dbt_project"),
        "--target-path", str(out / "dbt_target"), "--log-path", str(out / "dbt_logs"),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return {
            name: connection.sql(f'select * from processed."{name}"').df()
            for name in ("anime", "user", "user_anime", "anime_anime", "user_user")
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
    with server.run_replica(n_users=25, n_anime=40, seed=5) as replica:
        for source in ("mal", "malapi", "jikan"):
            crawl_all(source, replica, tmp_path / source)
    for source in ("mal", "malapi", "jikan"):
        tables[source] = build(tmp_path / source)
    html = tables["mal"]
    # "Online now" / "5 minutes ago" resolve against each crawl's own clock
    online = [comparable(tables[s]["user"], [])["last_online_date"] for s in ("mal", "malapi")]
    assert ((online[0] - online[1]).abs() <= pd.Timedelta(minutes=30)).all()
    for name in ("anime", "user", "user_anime", "anime_anime", "user_user"):
        drop = [
            *NOT_FROM["malapi"].get(name, []),
            *(["last_online_date"] if name == "user" else []),
        ]
        pd.testing.assert_frame_equal(
            comparable(tables["malapi"][name], drop), comparable(html[name], drop), obj=name
        )
    assert tables["malapi"]["anime"]["favorites_count"].isna().all()
    for name in ("anime", "anime_anime", "user_user"):
        drop = NOT_FROM["jikan"].get(name, [])
        pd.testing.assert_frame_equal(
            comparable(tables["jikan"][name], drop), comparable(html[name], drop), obj=name
        )
    # Jikan's user_anime rows are the profile's recent updates: a subset of the whole lists
    keys = ["user_id", "anime_id"]
    jikan_keys = set(map(tuple, tables["jikan"]["user_anime"][keys].to_numpy()))
    assert jikan_keys and jikan_keys <= set(map(tuple, html["user_anime"][keys].to_numpy()))
