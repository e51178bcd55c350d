"""The two scheduler tables (schema in docs/data_contracts.md, "Scheduler") and their indexes.

Both tables share one shape, so one function builds either. The indexes follow the two reads
``CrawlScheduler.schedule`` makes, each an index-ordered scan that stops after ``n`` rows:

* never scheduled: a partial index over rows whose ``last_scheduled_date`` is NULL;
* scheduled before: a partial index over the others, in policy order.

Policy order is "last crawled longest ago (never crawled first), then most recently
inspected". PostgreSQL sorts NULLs last on ASC, SQLite first, so the PostgreSQL index spells out
``NULLS FIRST`` / ``NULLS LAST`` while SQLite's defaults already mean the same thing (and SQLite
accepts no NULLS clause in an index).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table

from crawler.scheduler.urls import KINDS, MAX_URL_LENGTH, Kind, check_kind

TABLE_NAMES: dict[Kind, str] = {"anime": "anime_schedule", "profile": "profile_schedule"}
# users who asked not to be crawled: their crawl keys (lower-cased profile URLs)
OPTOUT_TABLE = "profile_optout"


def _schedule_table(metadata: MetaData, name: str) -> Table:
    table = Table(
        name,
        metadata,
        Column("url", String(MAX_URL_LENGTH), primary_key=True),
        Column("last_scheduled_date", DateTime(timezone=False)),
        Column("scheduled_count", Integer),
        Column("last_crawled_date", DateTime(timezone=False)),
        Column("crawled_count", Integer),
        Column("last_inspected_date", DateTime(timezone=False)),
        Column("inspected_count", Integer),
        # Beyond ARCHITECTURE.md: the page answered 404 or turned private (gone back-off).
        Column("last_gone_date", DateTime(timezone=False)),
        Column("gone_count", Integer),
    )
    never = table.c.last_scheduled_date.is_(None)
    before = table.c.last_scheduled_date.is_not(None)
    pg_order = (
        table.c.last_crawled_date.asc().nulls_first(),
        table.c.last_inspected_date.desc().nulls_last(),
        table.c.url,
    )
    sqlite_order = (
        table.c.last_crawled_date.asc(),
        table.c.last_inspected_date.desc(),
        table.c.url,
    )
    Index(f"ix_{name}_never", *pg_order, postgresql_where=never).ddl_if(dialect="postgresql")
    Index(f"ix_{name}_before", *pg_order, postgresql_where=before).ddl_if(dialect="postgresql")
    Index(f"ix_{name}_never_lite", *sqlite_order, sqlite_where=never).ddl_if(dialect="sqlite")
    Index(f"ix_{name}_before_lite", *sqlite_order, sqlite_where=before).ddl_if(dialect="sqlite")
    return table


# Columns added after the first release, with their DDL type: ``create_tables`` adds them to a
# scheduler database created before (SQLite and PostgreSQL both accept ADD COLUMN).
ADDED_COLUMNS: dict[str, str] = {"last_gone_date": "TIMESTAMP", "gone_count": "INTEGER"}


def scheduler_metadata(schema: str | None = None) -> MetaData:
    """A fresh MetaData holding both tables (optionally inside a PostgreSQL schema)."""
    metadata = MetaData(schema=schema)
    for kind in KINDS:
        _schedule_table(metadata, TABLE_NAMES[kind])
    Table(
        OPTOUT_TABLE,
        metadata,
        Column("url", String(MAX_URL_LENGTH), primary_key=True),
        Column("opted_out_date", DateTime(timezone=False), nullable=False),
    )
    return metadata


def optout_table(metadata: MetaData) -> Table:
    key = OPTOUT_TABLE if metadata.schema is None else f"{metadata.schema}.{OPTOUT_TABLE}"
    return metadata.tables[key]


def table_for(metadata: MetaData, kind: str) -> Table:
    checked = check_kind(kind)
    key = (
        TABLE_NAMES[checked]
        if metadata.schema is None
        else f"{metadata.schema}.{TABLE_NAMES[checked]}"
    )
    return metadata.tables[key]
