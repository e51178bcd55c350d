"""The crawl scheduler: which MAL pages to crawl next, kept in a small SQL database.

One code path for SQLite (local) and PostgreSQL (production) through SQLAlchemy Core. Every write
is a single statement per batch whose URL list travels as ONE bound parameter (a PostgreSQL
array, or a JSON array read by SQLite's ``json_each``), so a batch of 10,000 URLs is one round
trip and never hits a bind-parameter limit.

``schedule`` picks and marks URLs in one transaction. On PostgreSQL the pick is
``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent schedulers never hand out the same URL; on
SQLite every transaction starts with ``BEGIN IMMEDIATE`` (see ``scheduler_engine``), which
serializes writers for the same guarantee.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    DateTime,
    Engine,
    String,
    Table,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.engine import make_url
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import TableValuedAlias

from crawler.scheduler.tables import ADDED_COLUMNS, optout_table, scheduler_metadata, table_for
from crawler.scheduler.urls import Kind, check_kind, crawl_key, profile_url, validate_urls

if TYPE_CHECKING:
    from animerec_assets.settings import Settings

DEFAULT_RESCHEDULING_WINDOW = timedelta(hours=24)
# A page that answered 404 or turned private waits the rescheduling window after its first
# such answer, twice that after the second, and so on up to this (a spurious 404 costs a day,
# a deleted profile is asked about monthly).
DEFAULT_GONE_WINDOW = timedelta(days=30)
WRITE_BATCH_SIZE = 10_000
SQLITE_BUSY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ScheduleStats:
    """Row counts of one scheduler table, e.g. for a sensor or ``GET /stats``."""

    kind: str
    total: int
    never_scheduled: int
    crawled: int
    # scheduled and not crawled since; within the window they are skipped (presumed failed)
    not_crawled_since_scheduled: int
    failed_in_window: int
    # answered 404 or turned private, inside their back-off: not crawled at the normal rate
    gone_in_window: int = 0

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


def _postgres_driver_url(url: str) -> str:
    """Route bare ``postgresql://`` URLs to psycopg 3, the driver this project installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine) -> None:
    """WAL + a busy timeout + ``BEGIN IMMEDIATE``: concurrent schedulers queue up instead of
    reading the same rows and failing when they upgrade to a write lock."""
    if event.contains(engine, "connect", _sqlite_on_connect):
        return
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)


def _sqlite_on_connect(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def scheduler_engine(url: str) -> Engine:
    """An engine for the scheduler DB URL (``load_settings().scheduler_db_url``)."""
    url = _postgres_driver_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"the scheduler runs on SQLite or PostgreSQL, not {parsed.drivername!r}")
    return create_engine(url, pool_pre_ping=True)


def naive_utc(moment: datetime | None) -> datetime:
    """TIMESTAMP columns hold naive UTC; accept aware datetimes and convert them."""
    if moment is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _chunks(values: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


class CrawlScheduler:
    """Scheduler tables ``anime_schedule`` / ``profile_schedule`` and the scheduling policy.

    Policy (docs/data_contracts.md, "Scheduler"): never-scheduled URLs first, then those crawled
    longest ago (never crawled first), then the most recently inspected. URLs scheduled within
    ``rescheduling_window`` and not crawled since are skipped: they failed, and retrying them
    every hour would only hammer MAL.
    """

    def __init__(
        self,
        engine_or_url: Engine | str,
        rescheduling_window: timedelta = DEFAULT_RESCHEDULING_WINDOW,
        *,
        schema: str | None = None,
        gone_window: timedelta = DEFAULT_GONE_WINDOW,
    ) -> None:
        if isinstance(engine_or_url, str):
            self.engine = scheduler_engine(engine_or_url)
        else:
            self.engine = engine_or_url
            if self.engine.dialect.name == "sqlite":
                _configure_sqlite(self.engine)
        if self.engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported scheduler database: {self.engine.dialect.name}")
        if rescheduling_window <= timedelta(0):
            raise ValueError(f"rescheduling_window must be positive, got {rescheduling_window}")
        if gone_window <= timedelta(0):
            raise ValueError(f"gone_window must be positive, got {gone_window}")
        self.rescheduling_window = rescheduling_window
        self.gone_window = gone_window
        self.metadata = scheduler_metadata(schema)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: Any) -> CrawlScheduler:
        from animerec_assets.settings import load_settings

        return cls((settings or load_settings()).scheduler_db_url, **kwargs)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def table(self, kind: str) -> Table:
        return table_for(self.metadata, kind)

    def create_tables(self) -> None:
        """Create both tables and their indexes if missing, and add columns a database made
        by an older release lacks (idempotent)."""
        from sqlalchemy import inspect

        self.metadata.create_all(self.engine)
        preparer = self.engine.dialect.identifier_preparer
        with self.engine.begin() as conn:
            inspector = inspect(conn)  # on this connection: SQLite has one writer at a time
            for table in self.metadata.tables.values():
                present = {c["name"] for c in inspector.get_columns(table.name, table.schema)}
                for name, sql_type in ADDED_COLUMNS.items():
                    if name not in present:
                        conn.exec_driver_sql(
                            f"ALTER TABLE {preparer.format_table(table)} "
                            f"ADD COLUMN {preparer.quote(name)} {sql_type}"
                        )

    # ---- SQL building blocks -------------------------------------------------------------

    def _url_source(self, urls: list[str]) -> TableValuedAlias:
        """A table-valued function with one column ``value`` over ``urls``, bound as ONE
        parameter (a PostgreSQL array, or JSON read by SQLite's ``json_each``)."""
        if self.dialect == "postgresql":
            array = bindparam("urls", urls, type_=postgresql.ARRAY(String))
            return func.unnest(array).table_valued("value").render_derived(name="url_list")
        return func.json_each(bindparam("urls", json.dumps(urls))).table_valued("value")

    def _url_list(
        self, urls: list[str], *extra_columns: ColumnElement[Any], kind: str = ""
    ) -> Select:
        """``SELECT value, *extra_columns`` over ``urls``. The WHERE clause is not decoration:
        SQLite cannot parse ``INSERT ... SELECT ... ON CONFLICT`` without one. For profiles
        the opted-out users are left out, so no write ever brings one back."""
        source = self._url_source(urls)
        query = select(source.c.value, *extra_columns).where(source.c.value.is_not(None))
        if kind == "profile":
            query = query.where(source.c.value.not_in(select(self.optout.c.url)))
        return query

    @property
    def optout(self) -> Table:
        return optout_table(self.metadata)

    def _policy_order(self, table: Table) -> tuple:
        if self.dialect == "postgresql":
            return (
                table.c.last_crawled_date.asc().nulls_first(),
                table.c.last_inspected_date.desc().nulls_last(),
                table.c.url,
            )
        # SQLite already sorts NULLs first on ASC and last on DESC (and its index matches)
        return (table.c.last_crawled_date.asc(), table.c.last_inspected_date.desc(), table.c.url)

    def _insert(self, table: Table) -> PostgresInsert | SqliteInsert:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # ---- writes ----------------------------------------------------------------------------

    def add_urls(self, kind: str, urls: Iterable[str]) -> int:
        """Seed URLs; existing rows stay untouched. Returns how many rows were new."""
        checked = validate_urls(kind, urls)
        table = self.table(kind)
        inserted = 0
        with self.engine.begin() as conn:
            for batch in _chunks(checked, WRITE_BATCH_SIZE):
                statement = (
                    self._insert(table)
                    .from_select(["url"], self._url_list(batch, kind=kind))
                    .on_conflict_do_nothing(index_elements=[table.c.url])
                    .returning(table.c.url)
                )
                # rowcount is not reliable for INSERT ... SELECT across drivers; RETURNING is
                inserted += len(conn.execute(statement).all())
        return inserted

    def _upsert_event(
        self, kind: str, urls: Iterable[str], event_name: str, now: datetime | None
    ) -> int:
        checked = validate_urls(kind, urls)
        table = self.table(kind)
        date_column = table.c[f"last_{event_name}_date"]
        count_column = table.c[f"{event_name}_count"]
        moment = literal(naive_utc(now), DateTime())
        with self.engine.begin() as conn:
            for batch in _chunks(checked, WRITE_BATCH_SIZE):
                insert = self._insert(table).from_select(
                    ["url", date_column.name, count_column.name],
                    self._url_list(batch, moment, literal(1), kind=kind),
                )
                statement = insert.on_conflict_do_update(
                    index_elements=[table.c.url],
                    set_={
                        date_column.name: insert.excluded[date_column.name],
                        count_column.name: func.coalesce(count_column, 0) + 1,
                    },
                )
                conn.execute(statement)
        return len(checked)

    def mark_crawled(self, kind: str, urls: Iterable[str], now: datetime | None = None) -> int:
        """Record a successful crawl (inserting unknown URLs). Returns the number of URLs."""
        return self._upsert_event(kind, urls, "crawled", now)

    def mark_inspected(self, kind: str, urls: Iterable[str], now: datetime | None = None) -> int:
        """Record that a crawl saw these URLs linked (inserting unknown ones: discovery)."""
        return self._upsert_event(kind, urls, "inspected", now)

    def mark_gone(self, kind: str, urls: Iterable[str], now: datetime | None = None) -> int:
        """Record that these pages answered 404 or turned private (see ``gone_backoffs``)."""
        return self._upsert_event(kind, urls, "gone", now)

    def gone_backoffs(self) -> list[timedelta]:
        """How long a page waits after its 1st, 2nd, ... gone answer (the last one repeats)."""
        waits = [self.rescheduling_window]
        while waits[-1] * 2 < self.gone_window:
            waits.append(waits[-1] * 2)
        return [*waits, self.gone_window] if waits[-1] < self.gone_window else waits

    def _gone_now(self, table: Table, moment: datetime) -> ColumnElement[bool]:
        """Rows still inside their gone back-off at ``moment`` (portable: no interval maths,
        one cutoff per step, bound as literals)."""
        gone, count = table.c.last_gone_date, func.coalesce(table.c.gone_count, 1)
        waits = self.gone_backoffs()
        steps = [and_(count == i + 1, gone >= moment - wait) for i, wait in enumerate(waits[:-1])]
        last = and_(count >= len(waits), gone >= moment - waits[-1])
        return and_(gone.is_not(None), or_(*steps, last))

    def schedule(self, kind: str, n: int, now: datetime | None = None) -> list[str]:
        """Pick up to ``n`` URLs by the policy and mark them scheduled, atomically.

        Returns them in policy order. Two concurrent callers get disjoint lists.
        """
        checked: Kind = check_kind(kind)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return []
        table = self.table(checked)
        moment = naive_utc(now)
        cutoff = moment - self.rescheduling_window
        scheduled = table.c.last_scheduled_date
        crawled = table.c.last_crawled_date
        failed_recently = and_(scheduled >= cutoff, or_(crawled.is_(None), crawled < scheduled))
        not_gone = not_(self._gone_now(table, moment))
        order = self._policy_order(table)
        with self.engine.begin() as conn:
            never = (
                select(table.c.url)
                .where(scheduled.is_(None), not_gone)
                .order_by(*order)
                .limit(n)
                .with_for_update(skip_locked=True)
            )
            picked: list[str] = list(conn.execute(never).scalars())
            if len(picked) < n:
                before = (
                    select(table.c.url)
                    .where(scheduled.is_not(None), not_(failed_recently), not_gone)
                    .order_by(*order)
                    .limit(n - len(picked))
                    .with_for_update(skip_locked=True)
                )
                picked.extend(conn.execute(before).scalars())
            for batch in _chunks(picked, WRITE_BATCH_SIZE):
                conn.execute(
                    update(table)
                    .where(table.c.url.in_(self._url_list(batch)))
                    .values(
                        last_scheduled_date=moment,
                        scheduled_count=func.coalesce(table.c.scheduled_count, 0) + 1,
                    )
                )
        return picked

    # ---- opt-out ---------------------------------------------------------------------------

    def opt_out(self, usernames: Iterable[str], now: datetime | None = None) -> int:
        """Never crawl these users again: record their crawl keys and drop their schedule rows,
        in one transaction. Returns how many were not opted out before."""
        keys = list(dict.fromkeys(crawl_key("profile", profile_url(u)) for u in usernames))
        if not keys:
            return 0
        table, moment = self.table("profile"), literal(naive_utc(now), DateTime())
        added = 0
        with self.engine.begin() as conn:
            for batch in _chunks(keys, WRITE_BATCH_SIZE):
                statement = (
                    self._insert(self.optout)
                    .from_select(["url", "opted_out_date"], self._url_list(batch, moment))
                    .on_conflict_do_nothing(index_elements=[self.optout.c.url])
                    .returning(self.optout.c.url)
                )
                added += len(conn.execute(statement).all())
                conn.execute(table.delete().where(table.c.url.in_(self._url_list(batch))))
        return added

    def opted_out(self) -> list[str]:
        """Crawl keys of every opted-out user, sorted."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(self.optout.c.url).order_by("url")).scalars())

    def without_opted_out(self, kind: str, urls: Iterable[str]) -> list[str]:
        """``urls`` (crawl keys) less the opted-out users, in order (the service's enqueue)."""
        checked = validate_urls(kind, urls)
        if kind != "profile" or not checked:
            return checked
        with self.engine.connect() as conn:
            kept: set[str] = set(conn.execute(self._url_list(checked, kind="profile")).scalars())
        return [url for url in checked if url in kept]

    # ---- reads -----------------------------------------------------------------------------

    def stats(self, kind: str, now: datetime | None = None) -> ScheduleStats:
        """Counts for one table in a single scan."""
        checked = check_kind(kind)
        table = self.table(checked)
        cutoff = naive_utc(now) - self.rescheduling_window
        scheduled = table.c.last_scheduled_date
        crawled = table.c.last_crawled_date
        not_since = and_(scheduled.is_not(None), or_(crawled.is_(None), crawled < scheduled))
        query = select(
            func.count(),
            func.count().filter(scheduled.is_(None)),
            func.count().filter(crawled.is_not(None)),
            func.count().filter(not_since),
            func.count().filter(and_(not_since, scheduled >= cutoff)),
            func.count().filter(self._gone_now(table, naive_utc(now))),
        ).select_from(table)
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return ScheduleStats(checked, *(int(value or 0) for value in row))

    def all_stats(self, now: datetime | None = None) -> dict[str, ScheduleStats]:
        return {kind: self.stats(kind, now) for kind in ("anime", "profile")}

    def row(self, kind: str, url: str) -> dict | None:
        """One row as a dict (for inspection and tests), or None."""
        table = self.table(kind)
        key = crawl_key(check_kind(kind), url)
        with self.engine.connect() as conn:
            found = conn.execute(select(table).where(table.c.url == key)).mappings().first()
        return dict(found) if found else None

    def ping(self) -> None:
        """One trivial round trip (the service's health check; no table scan)."""
        with self.engine.connect() as conn:
            conn.execute(select(literal(1)))

    def dispose(self) -> None:
        self.engine.dispose()
