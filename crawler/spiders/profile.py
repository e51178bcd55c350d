"""``scrapy crawl profile -a urls=https://myanimelist.net/profile/NAME``: a user's pages."""

from __future__ import annotations

from typing import ClassVar

from crawler.spiders.base import AnimerecSpider
from crawler.urls import jikan_url, malapi_animelist_url, parse_url


class ProfileSpider(AnimerecSpider):
    name = "profile"
    kind = "profile"
    followed_page_types: ClassVar[dict[str, frozenset[str]]] = {
        "mal": frozenset({"animelist", "profile_friends", "history"}),
        "jikan": frozenset({"jikan_user_friends", "jikan_user_history"}),
    }
    malapi_page_types: ClassVar[dict[str, frozenset[str]]] = {
        "malapi": frozenset({"malapi_animelist"}),
        "mal": frozenset({"profile_friends", "history"}),
    }

    def entry_urls(self, kind: str, canonical: str) -> list[str]:
        """Source malapi: the whole list from the API (1,000 entries a page) beside the HTML
        profile, which has what the API does not (last online, favorites, friends, history)."""
        if self.source == "malapi":
            username = parse_url(canonical).username  # type: ignore[union-attr]
            return [canonical, malapi_animelist_url(username or "")]
        return [self.entry_url(kind, canonical)]

    def entry_url(self, kind: str, canonical: str) -> str:
        if self.source == "jikan":
            username = parse_url(canonical).username  # type: ignore[union-attr]
            return jikan_url(f"/users/{username}/full")
        return canonical
