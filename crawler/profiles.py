"""Scrapy setting overrides for crawl targets that are not MAL itself.

The polite defaults in ``crawler.settings`` are for MAL. A replica on loopback needs no
politeness, so the demo, the crawl benchmark and the tests crawl it at full speed with these
(passed as ``ANIMEREC_SCRAPY_SETTINGS``).
"""

from __future__ import annotations

LOOPBACK_SCRAPY_SETTINGS: dict[str, object] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
}
