"""The crawl stage's definitions."""

from __future__ import annotations

import dagster as dg

from animerec_assets.defs.crawl.assets import crawled_items, landing_tables, scheduled_batch

defs = dg.Definitions(assets=[scheduled_batch, crawled_items, landing_tables])
