"""The crawl scheduler database: which MAL pages to crawl next (SQLite locally, PostgreSQL in
production)."""

from crawler.scheduler.core import (
    DEFAULT_RESCHEDULING_WINDOW,
    CrawlScheduler,
    ScheduleStats,
    naive_utc,
    scheduler_engine,
)
from crawler.scheduler.tables import TABLE_NAMES, scheduler_metadata
from crawler.scheduler.urls import KINDS, InvalidUrlError, Kind, canonicalize, validate_urls

__all__ = [
    "DEFAULT_RESCHEDULING_WINDOW",
    "KINDS",
    "TABLE_NAMES",
    "CrawlScheduler",
    "InvalidUrlError",
    "Kind",
    "ScheduleStats",
    "canonicalize",
    "naive_utc",
    "scheduler_engine",
    "scheduler_metadata",
    "validate_urls",
]
