"""``scrapy crawl seed``: walk listing pages and only report the anime/profiles they show.

Used to fill an empty scheduler: every canonical URL found goes to ``add_urls`` (batched)
and is also yielded as a ``discovered_url`` record (not a landing table) for the JSONL sink.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response

from crawler.parsers import ParseResult
from crawler.spiders.base import AnimerecSpider, _split_urls
from crawler.urls import jikan_url, mal_url, parse_url, to_canonical_host

DEFAULT_LISTINGS = {
    "mal": [mal_url("/topanime.php"), mal_url("/users.php")],
    "jikan": [jikan_url("/top/anime")],
}


class SeedSpider(AnimerecSpider):
    name = "seed"
    followed_page_types: ClassVar[dict[str, frozenset[str]]] = {
        "mal": frozenset({"top_anime", "users_listing", "club"}),
        "jikan": frozenset({"jikan_top_anime"}),
    }

    async def start(self) -> AsyncIterator[Any]:
        listings = _split_urls(self.start_url_list) or DEFAULT_LISTINGS[self.source]
        for url in listings:
            yield self.request_for(to_canonical_host(url, ""), entity="seed")

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        result = self.parse_page(response)
        if not isinstance(result, ParseResult):
            yield result
            return
        self.batcher.add("discovered", result.seen)
        yield from (item for item in result.items if item["item_type"] == "crawl_error")
        for kind, urls in result.seen.items():
            for url in sorted(urls):
                yield {"item_type": "discovered_url", "kind": kind, "url": url}
        info = parse_url(response.url)
        for url in result.follow:
            if self.may_follow(url, "seed", info.page_type if info else None):
                yield self.request_for(url, entity="seed")

    def request_for(
        self, canonical_host_url: str, entity: str | None = None, snapshot_id: str | None = None
    ) -> scrapy.Request:
        request = super().request_for(canonical_host_url, entity, snapshot_id)
        return request.replace(callback=self.parse)
