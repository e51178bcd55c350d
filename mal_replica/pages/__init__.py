"""HTML pages in MAL's structure, rendered on demand from the world index.

The markup reuses the landmarks of the real pages (see ../shared/mal_pages): `span.dark_text`
info rows, `itemprop` score fields, `span.numbers.*`, `div.related-entries`, `table.score-stats`,
`div.borderClass` + `div.picSurround` recommendations, `div.review-element[data-reactions]`,
`ul.user-status`, `div.stats.anime`, `div.boxlist-container.friend`,
`div.history_content_wrapper`, and MAL's link shapes and pagination links, so one set of
parsers reads the replica and MAL. Links use the replica's own base URL so a spider can follow
them. Every function is pure: (index, base URL, request arguments) -> text.

One module per page family, as ``crawler/parsers`` has one per parsed family: ``urls`` (link
shapes), ``layout`` (the shared frame and site pages), ``anime`` (the anime page and its
sections), ``profile`` (profile, friends, clubs, history), ``animelist`` (load.json and its
page) and ``listings`` (top anime and users, where a seeding crawl starts).
"""
