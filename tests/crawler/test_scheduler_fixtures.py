"""Scheduler fixtures (no tests here) shared by the scheduler, worker and service tests: the same
tests run on a SQLite file and on the real PostgreSQL server (one throw-away schema per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from crawler.scheduler import CrawlScheduler


def anime(i: int) -> str:
    return f"https://myanimelist.net/anime/{i}"


def profile(name: str) -> str:
    return f"https://myanimelist.net/profile/{name}"


@contextmanager
def make_postgres_scheduler(admin_url: str, **kwargs) -> Iterator[CrawlScheduler]:  # type: ignore[no-untyped-def]
    schema = f"sched_{uuid.uuid4().hex[:10]}"
    scheduler = CrawlScheduler(admin_url, schema=schema, **kwargs)
    with scheduler.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    scheduler.create_tables()
    try:
        yield scheduler
    finally:
        with scheduler.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        scheduler.dispose()


@contextmanager
def make_sqlite_scheduler(directory: Path, **kwargs) -> Iterator[CrawlScheduler]:  # type: ignore[no-untyped-def]
    scheduler = CrawlScheduler(f"sqlite:///{directory / 'scheduler.sqlite'}", **kwargs)
    scheduler.create_tables()
    yield scheduler
    scheduler.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def scheduler(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CrawlScheduler]:
    if request.param == "sqlite":
        with make_sqlite_scheduler(tmp_path) as made:
            yield made
    else:
        admin_url = request.getfixturevalue("postgres_admin_url")
        with make_postgres_scheduler(admin_url) as made:
            yield made
