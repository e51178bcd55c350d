"""Ask the crawler's web service to crawl a visitor's profile (``POST /enqueue``), then how
far that crawl got (``GET /profiles/{username}``, read from the crawl scheduler).

The service may be down or slow; the visitor then gets a friendly sentence, never an error.
Only a validated username reaches the request, always as MAL's canonical profile URL. The
service's bearer token (``ANIMEREC_SERVICE_TOKEN``; the demo generates one) goes with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx

from animerec_assets.lib.serving import InvalidKeyError, user_key_of
from app.logic import parse_utc

PROFILE_URL = "https://myanimelist.net/profile/{username}"
TIMEOUT_S = 3.0


@dataclass(frozen=True)
class CrawlRequestResult:
    ok: bool
    message: str
    enqueued: int = 0


def request_profile_crawl(
    username: str, service_url: str, *, token: str | None = None, timeout_s: float = TIMEOUT_S
) -> CrawlRequestResult:
    """Queue the profile for crawling; the result says what happened in plain words."""
    try:
        key = user_key_of(username)
    except InvalidKeyError as error:
        return CrawlRequestResult(False, str(error))
    url = PROFILE_URL.format(username=key)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(
            f"{service_url.rstrip('/')}/enqueue",
            json={"urls": [url]},
            headers=headers,
            timeout=timeout_s,
        )
    except httpx.HTTPError:
        return CrawlRequestResult(
            False, "The crawl service is not reachable right now; please try again later."
        )
    if response.status_code in (429, 503):
        return CrawlRequestResult(
            False, "The crawl service is busy right now; please try again in a minute."
        )
    if response.status_code >= 400:
        return CrawlRequestResult(
            False, f"The crawl service could not take the request (HTTP {response.status_code})."
        )
    try:
        enqueued = int(response.json().get("enqueued", 0))
    except (ValueError, AttributeError, TypeError):
        return CrawlRequestResult(False, "The crawl service answered with something unexpected.")
    if enqueued:
        return CrawlRequestResult(
            True,
            "Your profile is queued for crawling. Recommendations appear after the next model run.",
            enqueued,
        )
    return CrawlRequestResult(True, "Your profile is already waiting to be crawled.", 0)


@dataclass(frozen=True)
class ProfileCrawlStatus:
    """What the crawl scheduler knows of one profile (times in UTC)."""

    known: bool
    last_crawled_at: datetime | None = None


def profile_crawl_status(
    username: str, service_url: str, *, token: str | None = None, timeout_s: float = TIMEOUT_S
) -> ProfileCrawlStatus | None:
    """The scheduler's view of the profile, or None when the service cannot say."""
    try:
        key = user_key_of(username)
    except InvalidKeyError:
        return None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(
            f"{service_url.rstrip('/')}/profiles/{key}", headers=headers, timeout=timeout_s
        )
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        body = response.json()
        known = body["known"]
        crawled = body.get("last_crawled_at")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(known, bool) or not (crawled is None or isinstance(crawled, str)):
        return None
    return ProfileCrawlStatus(known=known, last_crawled_at=parse_utc(crawled))
