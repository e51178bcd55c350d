"""Asking the real crawl web service (uvicorn on a free port) to crawl a profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.crawl_request import ProfileCrawlStatus, profile_crawl_status, request_profile_crawl
from app.launch import free_port


def test_profile_is_queued_once(crawl_service) -> None:
    url, queue, token = crawl_service.url, crawl_service.queue, crawl_service.token
    anonymous = request_profile_crawl("Xinil", url)
    assert not anonymous.ok and "HTTP 401" in anonymous.message
    first = request_profile_crawl("Xinil", url, token=token)
    assert first.ok and first.enqueued == 1
    assert "queued for crawling" in first.message
    assert queue.stats().backlog == 1  # the real queue holds it
    second = request_profile_crawl("xinil", url, token=token)
    assert second.ok and second.enqueued == 0 and "already waiting" in second.message
    assert queue.stats().backlog == 1


def test_service_down_is_a_polite_message() -> None:
    result = request_profile_crawl("Xinil", f"http://127.0.0.1:{free_port()}", timeout_s=1)
    assert not result.ok
    assert "not reachable" in result.message


def test_invalid_username_is_not_sent() -> None:
    result = request_profile_crawl("../../admin", "http://127.0.0.1:9")
    assert not result.ok and "MAL username" in result.message


def test_service_error_status_is_reported(crawl_service) -> None:
    url, token = crawl_service.url, crawl_service.token
    result = request_profile_crawl("Xinil", f"{url}/no-such-prefix", token=token)
    assert not result.ok and "HTTP 404" in result.message


def test_crawl_status_reads_the_scheduler_through_the_service(crawl_service) -> None:
    url, scheduler, token = crawl_service.url, crawl_service.scheduler, crawl_service.token
    assert profile_crawl_status("Xinil", url) is None  # no token: the service cannot say
    assert profile_crawl_status("Xinil", url, token=token) == ProfileCrawlStatus(known=False)
    assert request_profile_crawl("Xinil", url, token=token).ok
    queued = profile_crawl_status("xinil", url, token=token)
    assert queued == ProfileCrawlStatus(known=True, last_crawled_at=None)
    requested = datetime.now(UTC) - timedelta(seconds=1)
    scheduler.mark_crawled("profile", ["https://myanimelist.net/profile/xinil"])
    crawled = profile_crawl_status("Xinil", url, token=token)
    assert crawled is not None and crawled.last_crawled_at is not None
    assert crawled.last_crawled_at >= requested  # an aware UTC time, comparable
    assert profile_crawl_status("Xinil", f"http://127.0.0.1:{free_port()}", timeout_s=1) is None
    assert profile_crawl_status("../admin", url, token=token) is None
