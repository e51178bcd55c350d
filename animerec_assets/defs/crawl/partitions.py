"""Crawl partitions: one per hour of crawling."""

from __future__ import annotations

import dagster as dg

# The first hour the asset graph knows; backfills may start here.
CRAWL_START = "2026-11-01-00:00"

hourly_partitions = dg.HourlyPartitionsDefinition(start_date=CRAWL_START, timezone="UTC")
