"""``scrapy crawl profile -a urls=https://myanimelist.net/profile/NAME``: a user's pages."""

from __future__ import annotations

from typing import ClassVar

from crawler.spiders.base import AnimerecSpider
from crawler.urls import jikan_url, parse_url


class ProfileSpider(AnimerecSpider):
    name = "profile"
    kind = "profile"
    followed_page_types: ClassVar[dict[str, frozenset[str]]] = {
        "mal": frozenset({"animelist", "profile_friends", "history"}),
        "jikan": frozenset({"jikan_user_friends", "jikan_user_history"}),
    }

    def entry_url(self, kind: str, canonical: str) -> str:
        if self.source == "jikan":
            username = parse_url(canonical).username  # type: ignore[union-attr]
            return jikan_url(f"/users/{username}/full")
        return canonical
