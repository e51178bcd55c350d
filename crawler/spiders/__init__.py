"""Scrapy spiders: ``anime``, ``profile`` (crawl given entities) and ``seed`` (discovery)."""
