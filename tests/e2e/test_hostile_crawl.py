"""One crawl hour against a hostile replica, through the real Dagster crawl and landing assets.

The replica serves, by fault rule (``mal_replica.hostile``): a profile that redirects to another
loopback server, a profile that names another user, an anime page with 23- and 400-digit and
negative numbers, and an anime page with a Markdown/HTML/bidi title. Two rows a foreign producer
wrote into the hour's folder cannot be cast at all. Expected: 0 requests reach the other
server, 0 poisoned rows in landing, one crawl_error (or note) row per hostile page and one
quarantine row per uncastable line, and the rest of the hour landed as the world says.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dagster as dg
import duckdb
import pytest

from animerec_assets.contracts.landing import LANDING_COLUMNS
from animerec_assets.defs.crawl.assets import crawled_items, landing_tables, scheduled_batch
from animerec_assets.resources import build_resources
from animerec_assets.resources.crawl import partition_folder_name
from animerec_assets.settings import load_settings
from crawler.profiles import LOOPBACK_SCRAPY_SETTINGS
from crawler.scheduler import CrawlScheduler
from crawler.urls import anime_url, profile_url
from mal_replica.hostile import IMPOSTOR, hostile_rules, hostile_targets
from mal_replica.server import run_replica

pytestmark = pytest.mark.slow

HOUR = "2026-11-20-05:00"
N_ANIME, N_USERS = 5, 5
FOREIGN_ROWS = [
    {"item_type": "anime_stats", "anime_id": 1, "watching_count": 10**22, "url": "x"},
    {"item_type": "anime", "anime_id": 2, "score": "Infinity", "url": "y"},
]
# Control characters but newline, bidi controls, BOM: none may reach a landing text column.
POISON_RE = (
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\x{061c}\x{200e}\x{200f}\x{202a}-\x{202e}"
    r"\x{2066}-\x{2069}\x{feff}]"
)


@pytest.fixture
def other_host() -> Iterator[tuple[str, list[str]]]:
    """A second loopback server standing for an internal host: records every request."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"secret")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def poisoned_rows(db: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per table.column: rows whose value breaks the crawl bounds."""
    found: dict[str, int] = {}
    for table, columns in LANDING_COLUMNS.items():
        for name, sql_type in columns:
            column = f'"{name}"'
            if sql_type == "BIGINT":
                where = f"{column} < 0 OR {column} >= 9007199254740992"
            elif sql_type == "DOUBLE":
                where = f"isinf({column}) OR isnan({column}) OR {column} < 0"
            elif sql_type == "VARCHAR":
                where = f"regexp_matches({column}, '{POISON_RE}')"
                if name == "title":
                    where += f" OR length({column}) > 300 OR contains({column}, chr(10))"
            else:
                continue
            n = db.execute(f'SELECT count(*) FROM landing."{table}" WHERE {where}').fetchall()
            if n[0][0]:
                found[f"{table}.{name}"] = n[0][0]
    return found


def test_a_hostile_hour_lands_clean(
    animerec_home: Any, monkeypatch: pytest.MonkeyPatch, other_host: tuple[str, list[str]]
) -> None:
    other_base, other_requests = other_host
    with run_replica(n_users=12, n_anime=20, seed=3) as replica:
        monkeypatch.setenv("ANIMEREC_MAL_BASE_URL", replica.base_url)
        monkeypatch.setenv("ANIMEREC_JIKAN_BASE_URL", replica.jikan_base_url)
        monkeypatch.setenv("ANIMEREC_SCRAPY_SETTINGS", json.dumps(LOOPBACK_SCRAPY_SETTINGS))
        world = replica.world
        anime_ids = [int(a) for a in world.anime["anime_id"].head(N_ANIME)]
        usernames = [str(u) for u in world.users["username"].head(N_USERS)]
        targets = hostile_targets(usernames, anime_ids)
        replica.app.faults.configure(rules=hostile_rules(targets, other_base))
        scheduler = CrawlScheduler.from_settings()
        scheduler.create_tables()
        scheduler.add_urls("anime", [anime_url(a) for a in anime_ids])
        scheduler.add_urls("profile", [profile_url(u) for u in usernames])
        resources = build_resources(load_settings())
        batch = {"anime_per_hour": N_ANIME, "profiles_per_hour": N_USERS}
        config = dg.RunConfig(ops={"crawl__scheduled_batch": {"config": batch}})
        crawled = dg.materialize(
            [scheduled_batch, crawled_items],
            partition_key=HOUR,
            resources=resources,
            run_config=config,
        )
        assert crawled.success
        folder = load_settings().crawl_output_dir / "partitions" / partition_folder_name(HOUR)
        foreign = folder / "foreign.jsonl"
        foreign.write_text("".join(json.dumps(r) + "\n" for r in FOREIGN_ROWS), encoding="utf-8")
        landed = dg.materialize(
            [scheduled_batch, crawled_items, landing_tables],
            selection=[landing_tables],
            partition_key=HOUR,
            resources=resources,
        )
        assert landed.success

    assert other_requests == []  # nothing off-host was fetched
    (quarantine_meta,) = [
        event.materialization.metadata
        for event in landed.get_asset_materialization_events()
        if event.materialization.asset_key == dg.AssetKey(["landing", "quarantine"])
    ]
    assert quarantine_meta["quarantined"].value == len(FOREIGN_ROWS)
    with duckdb.connect(str(load_settings().duckdb_path), read_only=True) as db:

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return db.execute(sql).fetchall()

        assert poisoned_rows(db) == {}
        quarantined = rows("SELECT item_type, reason FROM landing.quarantine ORDER BY item_type")
        assert quarantined == [
            ("anime", "score: not a finite number"),
            ("anime_stats", "watching_count: outside BIGINT's range"),
        ]
        errors = dict(rows("SELECT url, reason FROM landing.crawl_error"))
        # profiles are crawled by their lower-case key, so their errors name that URL
        offhost = profile_url(targets.offhost_user.lower())
        impostor = profile_url(targets.impostor_page_user.lower())
        huge, markup = anime_url(targets.huge_numbers_anime), anime_url(targets.markup_title_anime)
        assert "off-host redirect (302)" in errors[offhost]
        assert "identity mismatch" in errors[impostor]
        assert errors[huge].startswith("bounded: ") and "anime.score_count" in errors[huge]
        assert errors[markup].startswith("bounded: ") and "anime.title" in errors[markup]
        assert set(errors) == {offhost, impostor, huge, markup}  # one row per hostile page

        users = dict(rows("SELECT user_id, num_completed FROM landing.user"))
        good_users = [u for u in usernames if u not in (targets.offhost_user, IMPOSTOR)]
        good_users.remove(targets.impostor_page_user)
        truth = world.users.set_index("username")["num_completed"]
        assert users == {u: int(truth[u]) for u in good_users}
        # list rows name their owner by the key the list was fetched with (lower case)
        listed = {u for (u,) in rows("SELECT DISTINCT lower(user_id) FROM landing.user_anime")}
        assert listed == {u.lower() for u in good_users}
        anime = {
            a: (t, c) for a, t, c in rows("SELECT anime_id, title, score_count FROM landing.anime")
        }
        assert set(anime) == set(anime_ids)
        assert anime[targets.huge_numbers_anime][1] is None
        assert "\n" not in anime[targets.markup_title_anime][0]
        assert anime[targets.markup_title_anime][0].startswith("Bebop ![p](http://evil.example")
        titles = world.anime.set_index("anime_id")["title"]
        for anime_id in anime_ids:
            if anime_id != targets.markup_title_anime:
                assert anime[anime_id][0] == titles[anime_id]
        stats = {a for (a,) in rows("SELECT anime_id FROM landing.anime_stats")}
        assert stats == set(anime_ids)  # the rest of the hour landed

    # the pages that were not read are not "crawled"; those read with refused values are
    stats_after = scheduler.all_stats()
    assert stats_after["profile"].crawled == len(good_users)
    assert stats_after["anime"].crawled == N_ANIME
