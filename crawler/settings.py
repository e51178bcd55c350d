"""Scrapy settings for animerec: polite by default.

robots.txt obeyed, AutoThrottle on, at most two requests at a time per domain, retries on
429/5xx that honour ``Retry-After`` (crawler.middlewares), every HTTP status handed to the
parsers so errors become ``crawl_error`` items. Where to fetch from (MAL, Jikan, the replica)
comes from ``animerec_assets.settings.load_settings()``, not from here.
"""

BOT_NAME = "animerec"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "animerec/0.1 (anime recommendation research crawler; polite, obeys robots.txt)"
ROBOTSTXT_OBEY = True

# Politeness: small concurrency, a base delay, AutoThrottle adapting to the server's latency.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50% around DOWNLOAD_DELAY
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60

# Retries on overload and server errors, waiting as the server asks (Retry-After) or backing off.
RETRY_ENABLED = True
RETRY_TIMES = 5
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
ANIMEREC_RETRY_BACKOFF_BASE = 2.0
ANIMEREC_RETRY_MAX_WAIT = 120.0
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
    # Only MAL/Jikan (or the configured replica) hosts, redirects included; replaces Scrapy's
    # host-name-only offsite filter at the same place (before robots.txt is fetched).
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.OnSiteMiddleware": 50,
    # Redirects are never dropped as duplicates (the spider must see every page it asked for).
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.AccountedRedirectMiddleware": 600,
}
# host[:port] the crawler may fetch from; empty: animerec settings' crawl_hosts.
ANIMEREC_CRAWL_HOSTS: list[str] = []

# Every status reaches the parsers: 404/400/5xx become crawl_error items (or an end of paging).
HTTPERROR_ALLOW_ALL = True

# ItemIdPipeline first: every sink and the feed export see the item's stable id
ITEM_PIPELINES = {"crawler.pipelines.ItemIdPipeline": 100, "crawler.pipelines.SinkPipeline": 300}
ANIMEREC_SINKS = ["jsonl"]
ANIMEREC_JSONL_DIR = ""  # empty: <ANIMEREC_HOME>/crawl

# Scheduler hooks: none | jsonl | scheduler | package.module:factory (crawler.hooks).
SCHEDULER_HOOKS = "none"
SCHEDULER_FLUSH_EVERY = 500

# How many pages of a paged list one crawl reads (reviews, friends, anime list).
ANIMEREC_MAX_PAGES = {
    "anime_reviews": 5,
    "profile_friends": 20,
    "animelist": 100,
    "malapi_animelist": 100,
    "jikan_anime_reviews": 5,
    "jikan_user_friends": 20,
    "top_anime": 5,
    "users_listing": 5,
    "jikan_top_anime": 5,
}
# Anime sub-pages an anime crawl reads after the main page.
ANIMEREC_ANIME_SUBPAGES = [
    "anime_stats",
    "anime_userrecs",
    "anime_reviews",
    "anime_pics",
    "anime_clubs",
]

FEED_EXPORT_ENCODING = "utf-8"
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
# Scrapy's default reactor (asyncio); stated so a project-wide change is a visible decision.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
