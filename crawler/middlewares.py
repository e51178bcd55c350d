"""Downloader middlewares: retry that honours ``Retry-After``, and a crawler that stays on MAL.

Scrapy's RetryMiddleware retries 429/5xx at once. MAL and Jikan answer overload with 429
(Jikan: 3 requests/s, 60/min) and sometimes say how long to wait: ``RetryAfterMiddleware`` waits
that long (capped), or backs off exponentially when the
server does not say, before handing the request back to Scrapy's own retry logic.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import Spider
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.utils.response import response_status_message

from animerec_assets.settings import load_settings

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def retry_after_seconds(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def backoff_seconds(retry_times: int, base: float, cap: float) -> float:
    """Exponential backoff: base, 2*base, 4*base... capped."""
    return min(cap, base * (2 ** max(0, retry_times)))


class RetryAfterMiddleware(RetryMiddleware):
    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("ANIMEREC_RETRY_BACKOFF_BASE", 2.0)
        self.max_wait = settings.getfloat("ANIMEREC_RETRY_MAX_WAIT", 120.0)

    def wait_for(self, request: Request, response: Response) -> float:
        told = retry_after_seconds(response.headers.get("Retry-After"))
        if told is not None:
            return min(told, self.max_wait)
        return backoff_seconds(request.meta.get("retry_times", 0), self.backoff_base, self.max_wait)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await asyncio.sleep(self.wait_for(request, response))
        return retry


class OffHostRequest(IgnoreRequest):
    """A request (or a redirect) to a host the crawler must not fetch from."""


def netloc_of(url: str) -> str:
    """``host`` or ``host:port`` of a URL, lower-cased, the scheme's default port dropped."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if port is None or port == default else f"{host}:{port}"


class OnSiteMiddleware(OffsiteMiddleware):
    """Nothing off MAL is fetched: every request, redirects included, must be on an allowed
    ``host[:port]`` (``ANIMEREC_CRAWL_HOSTS``, else ``Settings.crawl_hosts``: MAL, Jikan and the
    configured base URLs).

    Scrapy's own ``OffsiteMiddleware`` compares host names only (any port of 127.0.0.1 passes),
    lets ``dont_filter`` requests through, and drops off-site requests at scheduling time
    without calling their errback, so nothing would say a page was lost. This one compares
    host AND port, makes no exception, and refuses in ``process_request`` (before robots.txt is
    fetched for the other host) with ``OffHostRequest``: the request's errback turns that into a
    ``crawl_error`` item naming the URL that was asked for and where it redirected.
    """

    allowed_hosts: frozenset[str]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        configured = crawler.settings.getlist("ANIMEREC_CRAWL_HOSTS")
        hosts = configured or load_settings().crawl_hosts
        middleware.allowed_hosts = frozenset(h.lower() for h in hosts)
        return middleware

    def spider_opened(self, spider: Spider) -> None:
        """No host regex: ``allowed_hosts`` decides."""

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        """Not at scheduling (a drop there is silent); ``process_request`` refuses instead."""

    def should_follow(self, request: Request, spider: Spider | None = None) -> bool:
        return netloc_of(request.url) in self.allowed_hosts

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.should_follow(request):
            return
        self.stats.inc_value("animerec/offhost/refused")
        host = netloc_of(request.url) or "no host"
        redirected_from = request.meta.get("redirect_urls") or []
        if redirected_from:
            codes = ",".join(str(r) for r in request.meta.get("redirect_reasons") or [])
            reason = f"off-host redirect ({codes}) from {redirected_from[0]} to {host}"
        else:
            reason = f"off-host request to {host}"
        logger.warning("not fetched: %s", reason)
        raise OffHostRequest(f"{reason}: not fetched")


class AccountedRedirectMiddleware(RedirectMiddleware):
    """Redirects that always reach the spider (or its errback).

    Scrapy's dupefilter drops a redirect whose target was already requested, without a word:
    the page asked for would produce nothing and be marked crawled. Here a redirected request is
    never filtered as a duplicate (loops still end at ``REDIRECT_MAX_TIMES``), so the spider sees
    it and reports a redirect to another anime/profile as a ``crawl_error``.
    """

    def _redirect(self, redirected: Request, request: Request, reason: object) -> Request:
        followed = super()._redirect(redirected, request, reason)
        followed.dont_filter = True
        return followed
