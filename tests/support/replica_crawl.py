"""A replica world crawled for real (Scrapy over HTTP, any source), then landing and dbt build.

What the end-to-end crawl tests share: the spiders run as the crawl workers run them (a
``scrapy crawl`` subprocess), their JSON lines go into landing through the project's own
loader, and the project's dbt build makes the processed tables.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from animerec_assets.lib.landing import items_to_landing_frames, read_jsonl_items
from animerec_assets.lib.landing_tables import append_landing

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MAL = "https://myanimelist.net"
PROCESSED = ("anime", "user", "user_anime", "anime_anime", "user_user")


def crawl_replica(
    source: str,
    replica: Any,
    out: Path,
    kinds: tuple[str, ...] = ("anime", "profile"),
    targets: dict[str, list[str]] | None = None,
) -> None:
    """Every anime and/or profile of the replica's world (or ``targets``, canonical URLs by
    spider) crawled from ``source`` into ``out``."""
    env = {
        **os.environ,
        "ANIMEREC_HOME": str(out / "home"),
        "ANIMEREC_MAL_BASE_URL": replica.base_url,
        "ANIMEREC_JIKAN_BASE_URL": replica.jikan_base_url,
        "ANIMEREC_MAL_API_BASE_URL": replica.malapi_base_url,
        "ANIMEREC_CRAWL_SOURCE": source,
        "ANIMEREC_MAL_CLIENT_ID": "test-client",
    }
    targets = targets or world_targets(replica.world)
    for spider in kinds:
        command = [
            str(BIN / "scrapy"), "crawl", spider, "-a", "urls=" + ",".join(targets[spider]),
            "-s", f"ANIMEREC_JSONL_DIR={out}", "-s", "DOWNLOAD_DELAY=0",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
            "-s", "LOG_LEVEL=WARNING",
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]


def world_targets(world: Any) -> dict[str, list[str]]:
    """Canonical URLs of every anime and profile of a world, by spider."""
    return {
        "anime": [f"{MAL}/anime/{i}" for i in world.anime["anime_id"]],
        "profile": [f"{MAL}/profile/{u}" for u in world.users["username"]],
    }


def build_processed(out: Path, crawls: list[Path] | None = None) -> dict[str, pd.DataFrame]:
    """Landing from the items of the crawls (``out`` by default; several crawls in their
    order), then the project's dbt build; the processed tables."""
    warehouse = out / "warehouse.duckdb"
    files = [path for crawl in crawls or [out] for path in sorted(crawl.glob("*.jsonl"))]
    frames = items_to_landing_frames(read_jsonl_items(files), "2025-06-01")
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
            name: connection.sql(f'select * from processed."{name}"').df() for name in PROCESSED
        }
