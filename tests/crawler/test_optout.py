"""Opting a user out of crawling: gone from the scheduler, never brought back by a crawl that
links to them, skipped by the service, on SQLite and PostgreSQL; ``animerec optout``."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_scheduler_fixtures as fixtures
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from animerec_cli.main import app as animerec_app
from crawler.queue import InMemoryCrawlQueue
from crawler.scheduler import CrawlScheduler
from crawler.service import create_app
from crawler.urls import InvalidUsernameError
from crawler.worker import SinkSettings

profile = fixtures.profile
scheduler = fixtures.scheduler  # every test runs on SQLite and PostgreSQL


def test_an_opted_out_user_is_never_scheduled_again(scheduler: CrawlScheduler) -> None:
    scheduler.add_urls("profile", [profile("Alice"), profile("Bob")])
    assert scheduler.opt_out(["ALICE", "alice"]) == 1
    assert scheduler.opt_out(["Alice"]) == 0  # already
    assert scheduler.row("profile", profile("Alice")) is None
    # a crawl that links to her, or even one that crawled her, does not bring her back
    scheduler.mark_inspected("profile", [profile("Alice"), profile("Carol")])
    scheduler.mark_crawled("profile", [profile("aLiCe")])
    assert scheduler.add_urls("profile", [profile("Alice")]) == 0
    assert sorted(scheduler.schedule("profile", 10)) == [profile("bob"), profile("carol")]
    assert scheduler.opted_out() == [profile("alice")]
    assert scheduler.without_opted_out("profile", [profile("Alice"), profile("Dan")]) == [
        profile("dan")
    ]
    with pytest.raises(InvalidUsernameError):
        scheduler.opt_out(["no such user!"])


def test_the_service_skips_opted_out_users_without_saying_so(
    scheduler: CrawlScheduler, tmp_path: Path
) -> None:
    queue = InMemoryCrawlQueue()
    client = TestClient(
        create_app(scheduler, queue, SinkSettings(tmp_path), seeder=lambda *a: None)
    )  # type: ignore[arg-type, return-value]
    scheduler.opt_out(["Alice"])
    reply = client.post("/enqueue", json={"urls": ["Alice", "Bob"]})
    assert reply.status_code == 200 and reply.json()["enqueued"] == 1
    assert [m.url for m in queue.read("w", count=10)] == [profile("bob")]
    assert scheduler.row("profile", profile("Alice")) is None


def test_the_optout_command(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'scheduler.sqlite'}"
    seeded = CrawlScheduler(db_url)
    seeded.create_tables()
    seeded.add_urls("profile", [profile("Alice")])
    runner = CliRunner()
    added = runner.invoke(animerec_app, ["optout", "add", "Alice", "Bob", "--db-url", db_url])
    assert added.exit_code == 0 and "opted out 2 new user(s)" in added.output
    listed = runner.invoke(animerec_app, ["optout", "list", "--db-url", db_url])
    assert listed.output.split() == [profile("alice"), profile("bob")]
    assert seeded.stats("profile").total == 0
    bad = runner.invoke(animerec_app, ["optout", "add", "../etc", "--db-url", db_url])
    assert bad.exit_code == 2
    seeded.dispose()
