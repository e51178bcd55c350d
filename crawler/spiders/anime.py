"""``scrapy crawl anime -a urls=https://myanimelist.net/anime/6``: anime pages and sub-pages."""

from __future__ import annotations

from typing import Any, ClassVar

from crawler.spiders.base import AnimerecSpider
from crawler.urls import jikan_url, mal_url, parse_url


class AnimeSpider(AnimerecSpider):
    name = "anime"
    kind = "anime"
    followed_page_types: ClassVar[dict[str, frozenset[str]]] = {
        "mal": frozenset(
            {"anime_stats", "anime_userrecs", "anime_reviews", "anime_pics", "anime_clubs"}
        ),
        "jikan": frozenset(
            {
                "jikan_anime_stats",
                "jikan_anime_recommendations",
                "jikan_anime_reviews",
                "jikan_anime_pics",
            }
        ),
    }

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> AnimeSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        subpages = crawler.settings.getlist("ANIMEREC_ANIME_SUBPAGES")
        if subpages:
            spider.page_types["mal"] = frozenset(subpages) & cls.followed_page_types["mal"]
        return spider  # type: ignore[return-value]

    def entry_url(self, kind: str, canonical: str) -> str:
        anime_id = parse_url(canonical).anime_id  # type: ignore[union-attr]
        if self.source == "jikan":
            return jikan_url(f"/anime/{anime_id}/full")
        return mal_url(f"/anime/{anime_id}")
