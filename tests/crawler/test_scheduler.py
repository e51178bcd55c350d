"""The crawl scheduler on SQLite and on the real PostgreSQL server: policy, window, batching."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import test_scheduler_fixtures as fixtures
from sqlalchemy import event, inspect

from crawler.scheduler import CrawlScheduler, InvalidUrlError

T0 = datetime(2024, 5, 1, 12, 0, 0)
anime, profile = fixtures.anime, fixtures.profile
scheduler = fixtures.scheduler  # the fixture: every scheduler test runs on SQLite and PostgreSQL


def test_tables_have_the_architecture_schema(scheduler: CrawlScheduler) -> None:
    inspector = inspect(scheduler.engine)
    for name in ("anime_schedule", "profile_schedule"):
        columns = {
            c["name"]: c for c in inspector.get_columns(name, schema=scheduler.metadata.schema)
        }
        assert list(columns) == [
            "url",
            "last_scheduled_date",
            "scheduled_count",
            "last_crawled_date",
            "crawled_count",
            "last_inspected_date",
            "inspected_count",
            "last_gone_date",  # beyond the architecture: the gone back-off
            "gone_count",
        ]
        assert columns["url"]["type"].length == 255
        pk = inspector.get_pk_constraint(name, schema=scheduler.metadata.schema)
        assert pk["constrained_columns"] == ["url"]
        assert len(inspector.get_indexes(name, schema=scheduler.metadata.schema)) == 2
    scheduler.create_tables()  # idempotent


def test_add_urls_inserts_only_new_rows_and_leaves_existing_untouched(
    scheduler: CrawlScheduler,
) -> None:
    scheduler.mark_crawled("anime", [anime(1)], now=T0)
    assert scheduler.add_urls("anime", [anime(1), anime(2), anime(2), anime(3)]) == 2
    assert scheduler.add_urls("anime", [anime(2), anime(3)]) == 0
    row = scheduler.row("anime", anime(1))
    assert row is not None and row["crawled_count"] == 1 and row["last_crawled_date"] == T0
    assert scheduler.stats("anime").total == 3
    assert scheduler.stats("profile").total == 0


def test_schedule_follows_the_policy_order(scheduler: CrawlScheduler) -> None:
    never = [anime(i) for i in (10, 11)]
    scheduler.add_urls("anime", never)
    # previously scheduled URLs with various crawl / inspection histories (outside the window)
    old = T0 - timedelta(days=10)
    history = {
        anime(20): (old - timedelta(days=5), None),  # crawled longest ago
        anime(21): (old, T0 - timedelta(hours=1)),  # same crawl date, inspected recently
        anime(22): (old, T0 - timedelta(days=3)),  # same crawl date, inspected earlier
        anime(23): (old + timedelta(days=2), None),  # crawled more recently
    }
    for url, (crawled, inspected) in history.items():
        scheduler.mark_crawled("anime", [url], now=crawled)
        if inspected:
            scheduler.mark_inspected("anime", [url], now=inspected)
    # mark them all scheduled long ago (before their crawl), through the public API
    assert set(scheduler.schedule("anime", 10, now=old - timedelta(days=30))) == {
        *never,
        *history,
    }
    # never crawled at all but scheduled long ago (failed outside the window): crawled "never"
    scheduler.add_urls("anime", [anime(30)])
    assert scheduler.schedule("anime", 1, now=old - timedelta(days=29)) == [anime(30)]
    scheduler.add_urls("anime", [anime(40), anime(41)])
    scheduler.mark_inspected("anime", [anime(41)], now=T0)

    order = scheduler.schedule("anime", 100, now=T0)
    assert order[:2] == [anime(41), anime(40)]  # never scheduled; recently inspected first
    # then: the two never-scheduled seeds were scheduled 30 days ago and never crawled since,
    # like anime(30): oldest crawl ("never") first, ties by url
    assert order[2:5] == sorted([*never, anime(30)])
    assert order[5:] == [anime(20), anime(21), anime(22), anime(23)]
    row = scheduler.row("anime", anime(41))
    assert row is not None and row["scheduled_count"] == 1 and row["last_scheduled_date"] == T0


def test_urls_that_failed_within_the_window_are_skipped(scheduler: CrawlScheduler) -> None:
    scheduler.rescheduling_window = timedelta(hours=24)
    urls = [anime(i) for i in range(1, 5)]
    scheduler.add_urls("anime", urls)
    assert sorted(scheduler.schedule("anime", 10, now=T0)) == sorted(urls)
    scheduler.mark_crawled("anime", urls[:2], now=T0 + timedelta(minutes=30))  # 3, 4 failed
    one_hour = scheduler.schedule("anime", 10, now=T0 + timedelta(hours=1))
    assert sorted(one_hour) == sorted(urls[:2])  # crawled since scheduling: eligible again
    assert scheduler.schedule("anime", 10, now=T0 + timedelta(hours=2)) == []
    stats = scheduler.stats("anime", now=T0 + timedelta(hours=2))
    assert (stats.total, stats.never_scheduled, stats.crawled) == (4, 0, 2)
    assert stats.not_crawled_since_scheduled == 4 and stats.failed_in_window == 4
    # after the window the failed ones come back, ahead of the crawled ones
    later = scheduler.schedule("anime", 10, now=T0 + timedelta(hours=25))
    assert later == [anime(3), anime(4)]
    assert scheduler.row("anime", anime(3))["scheduled_count"] == 2  # type: ignore[index]


def test_timezone_aware_now_is_stored_as_naive_utc(scheduler: CrawlScheduler) -> None:
    aware = datetime(2024, 5, 1, 14, 0, tzinfo=UTC).astimezone()
    scheduler.mark_inspected("profile", [profile("Alice")], now=aware)
    row = scheduler.row("profile", profile("Alice"))
    assert row is not None and row["last_inspected_date"] == datetime(2024, 5, 1, 14, 0)


def test_marks_count_up_and_insert_unknown_urls(scheduler: CrawlScheduler) -> None:
    # one user whatever the case: the scheduler keys profiles by the lower-cased URL
    assert scheduler.mark_inspected("profile", [profile("Bob"), profile("BOB")], now=T0) == 1
    scheduler.mark_inspected("profile", [profile("bob")], now=T0 + timedelta(hours=1))
    scheduler.mark_crawled("profile", [profile("Bob")], now=T0 + timedelta(hours=2))
    row = scheduler.row("profile", profile("Bob"))
    assert scheduler.stats("profile").total == 1
    assert row == {
        "url": profile("bob"),
        "last_scheduled_date": None,
        "scheduled_count": None,
        "last_crawled_date": T0 + timedelta(hours=2),
        "crawled_count": 1,
        "last_inspected_date": T0 + timedelta(hours=1),
        "inspected_count": 2,
        "last_gone_date": None,
        "gone_count": None,
    }


def test_bad_kind_and_bad_urls_are_rejected_before_anything_is_written(
    scheduler: CrawlScheduler,
) -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        scheduler.schedule("manga", 1)
    with pytest.raises(ValueError, match="kind must be one of"):
        scheduler.add_urls("user", [profile("Bob")])
    hostile = [
        anime(1),
        "https://myanimelist.net/anime/1/Cowboy_Bebop",  # not canonical
        "http://myanimelist.net/anime/2",
        "https://evil.example/anime/3",
        "https://myanimelist.net/anime/4'; DROP TABLE anime_schedule;--",
        "https://myanimelist.net/anime/" + "9" * 300,  # over 255 characters
        profile("Bob"),  # right shape, wrong kind
    ]
    with pytest.raises(InvalidUrlError, match="6 value"):
        scheduler.mark_crawled("anime", hostile, now=T0)
    with pytest.raises(InvalidUrlError):
        scheduler.add_urls("profile", [profile("a b"), profile("x" * 17)])
    assert scheduler.stats("anime").total == 0  # the valid anime(1) was not written either
    assert scheduler.stats("profile").total == 0
    with pytest.raises(ValueError, match="n must be"):
        scheduler.schedule("anime", -1)
    assert scheduler.schedule("anime", 0) == []


def test_each_batch_is_one_statement_with_one_url_parameter(scheduler: CrawlScheduler) -> None:
    urls = [anime(i) for i in range(1, 25_001)]  # three batches of at most 10,000
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            statements.append((statement, parameters))

    event.listen(scheduler.engine, "before_cursor_execute", record)
    try:
        assert scheduler.mark_inspected("anime", urls, now=T0) == 25_000
        assert len(statements) == 3
        assert all("ON CONFLICT" in sql for sql, _ in statements)
        picked = scheduler.schedule("anime", 25_000, now=T0)
        assert len(picked) == 25_000 and len(statements) == 6
    finally:
        event.remove(scheduler.engine, "before_cursor_execute", record)
    assert scheduler.stats("anime").never_scheduled == 0
    assert scheduler.schedule("anime", 10, now=T0 + timedelta(minutes=5)) == []


def test_concurrent_schedulers_on_postgres_get_disjoint_urls(postgres_admin_url: str) -> None:
    with fixtures.make_postgres_scheduler(postgres_admin_url) as first:
        urls = [anime(i) for i in range(1, 2001)]
        first.add_urls("anime", urls)
        others = [
            CrawlScheduler(postgres_admin_url, schema=first.metadata.schema) for _ in range(4)
        ]
        barrier = threading.Barrier(len(others))
        results: list[list[str]] = [[] for _ in others]

        def work(index: int) -> None:
            barrier.wait()
            for _ in range(10):
                results[index].extend(others[index].schedule("anime", 60, now=T0))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(others))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        handed_out = [url for result in results for url in result]
        assert len(handed_out) == len(set(handed_out)) == 2000
        assert all(len(result) > 0 for result in results)
        for other in others:
            other.dispose()


def test_concurrent_schedulers_on_one_sqlite_file_get_disjoint_urls(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    seeder = CrawlScheduler(url)
    seeder.create_tables()
    seeder.add_urls("profile", [profile(f"user{i:04d}") for i in range(600)])
    others = [CrawlScheduler(url) for _ in range(3)]
    barrier = threading.Barrier(len(others))
    results: list[list[str]] = [[] for _ in others]

    def work(index: int) -> None:
        barrier.wait()
        for _ in range(10):
            results[index].extend(others[index].schedule("profile", 25, now=T0))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(others))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    handed_out = [u for result in results for u in result]
    assert len(handed_out) == len(set(handed_out)) == 600


def test_gone_pages_back_off_exponentially_even_when_crawled_meanwhile(
    scheduler: CrawlScheduler,
) -> None:
    """A 404 or a private list waits a day (the rescheduling window), then two, four... up to
    30 days; a private profile still answers its profile page, so a later crawl date does not
    lift the back-off. (Profiles are keyed in lower case.)"""
    assert scheduler.gone_backoffs() == [timedelta(days=d) for d in (1, 2, 4, 8, 16, 30)]
    alive, deleted, private = profile("alive"), profile("deleted"), profile("private")
    scheduler.mark_crawled("profile", [alive, deleted, private], now=T0 - timedelta(days=2))
    assert scheduler.mark_gone("profile", [deleted, private], now=T0) == 2
    scheduler.mark_crawled("profile", [private], now=T0 + timedelta(seconds=1))
    scheduler.add_urls("profile", [profile("new"), profile("newgone")])
    scheduler.mark_gone("profile", [profile("newgone")], now=T0)  # discovered, then gone

    soon = T0 + timedelta(hours=20)
    assert scheduler.stats("profile", now=soon).gone_in_window == 3
    assert sorted(scheduler.schedule("profile", 10, now=soon)) == [alive, profile("new")]
    after_a_day = T0 + timedelta(days=1, hours=1)
    assert scheduler.stats("profile", now=after_a_day).gone_in_window == 0
    assert {deleted, private, profile("newgone")} <= set(
        scheduler.schedule("profile", 10, now=after_a_day)
    )
    # gone again, five more times: the sixth answer waits the whole gone window
    for answer in range(2, 7):
        scheduler.mark_gone("profile", [deleted], now=T0 + timedelta(days=100 * answer))
    last = T0 + timedelta(days=600)
    row = scheduler.row("profile", deleted)
    assert row is not None and row["gone_count"] == 6 and row["last_gone_date"] == last
    for days, waiting in ((29, 1), (31, 0)):
        assert scheduler.stats("profile", now=last + timedelta(days=days)).gone_in_window == waiting
    assert deleted in scheduler.schedule("profile", 10, now=last + timedelta(days=31))


def test_create_tables_adds_the_gone_columns_to_an_older_database(tmp_path) -> None:
    from sqlalchemy import text

    old = CrawlScheduler(f"sqlite:///{tmp_path / 'old.sqlite'}")
    with old.engine.begin() as conn:
        for name in ("anime_schedule", "profile_schedule"):
            conn.execute(
                text(
                    f"CREATE TABLE {name} (url VARCHAR(255) PRIMARY KEY, "
                    "last_scheduled_date TIMESTAMP, scheduled_count INT, "
                    "last_crawled_date TIMESTAMP, crawled_count INT, "
                    "last_inspected_date TIMESTAMP, inspected_count INT)"
                )
            )
            url = anime(1) if name == "anime_schedule" else profile("Old")
            conn.execute(text(f"INSERT INTO {name} (url) VALUES (:url)"), {"url": url})
    old.create_tables()
    old.create_tables()  # idempotent
    old.mark_gone("anime", [anime(1)], now=T0)
    assert old.row("anime", anime(1))["gone_count"] == 1  # type: ignore[index]
    assert old.schedule("anime", 5, now=T0) == []
    old.dispose()
