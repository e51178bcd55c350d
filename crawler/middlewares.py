"""Retry that honours ``Retry-After``: Scrapy's RetryMiddleware retries 429/5xx at once.

MAL and Jikan answer overload with 429 (Jikan: 3 requests/s, 60/min) and sometimes say how
long to wait. This middleware waits that long (capped), or backs off exponentially when the
server does not say, before handing the request back to Scrapy's own retry logic.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.utils.response import response_status_message


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
