"""The crawl queue on the real Redis server (and its in-process twin): delivery, ack, reclaim."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from crawler.queue import CrawlQueue, InMemoryCrawlQueue, Queue, QueueFullError
from crawler.scheduler import InvalidUrlError


def anime(i: int) -> str:
    return f"https://myanimelist.net/anime/{i}"


@pytest.fixture
def redis_queue(redis_server_url: str) -> Iterator[CrawlQueue]:
    client = redis.Redis.from_url(redis_server_url)
    queue = CrawlQueue(client, stream=f"test:crawl:{uuid.uuid4().hex[:10]}", group="workers")
    yield queue
    queue.delete()
    client.close()


@pytest.fixture(params=["redis", "memory"])
def queue(request: pytest.FixtureRequest) -> Queue:
    if request.param == "memory":
        return InMemoryCrawlQueue()
    return request.getfixturevalue("redis_queue")


def test_each_entry_goes_to_one_consumer_and_stays_pending_until_acked(queue: Queue) -> None:
    assert queue.enqueue("anime", [anime(i) for i in range(1, 6)]) == 5
    assert queue.enqueue("profile", ["https://myanimelist.net/profile/Alice"]) == 1
    first = queue.read("w1", count=4)
    second = queue.read("w2", count=10)
    assert [m.url for m in first] == [anime(i) for i in range(1, 5)]
    assert [(m.kind, m.url) for m in second] == [
        ("anime", anime(5)),
        ("profile", "https://myanimelist.net/profile/alice"),  # queued by its crawl key
    ]
    assert queue.read("w3", count=10) == []
    stats = queue.stats()
    assert (stats.length, stats.pending, stats.backlog, stats.consumers) == (6, 6, 0, 2)
    assert queue.ack([m.id for m in first]) == 4
    assert queue.ack([m.id for m in first]) == 0  # a second ack is harmless
    stats = queue.stats()
    assert (stats.length, stats.pending, stats.backlog) == (2, 2, 0)


def test_stale_entries_of_a_dead_consumer_are_reclaimed(queue: Queue) -> None:
    queue.enqueue("anime", [anime(1), anime(2), anime(3)])
    taken = queue.read("doomed", count=2)
    assert queue.reclaim_stale("rescuer", min_idle_ms=60_000) == []  # not idle long enough
    time.sleep(0.12)
    reclaimed = queue.reclaim_stale("rescuer", min_idle_ms=100)
    assert [m.url for m in reclaimed] == [m.url for m in taken]
    assert queue.reclaim_stale("other", min_idle_ms=100) == []  # the rescuer owns them now
    assert queue.ack([m.id for m in reclaimed]) == 2
    assert [m.url for m in queue.read("rescuer", count=10)] == [anime(3)]


def test_backlog_counts_undelivered_entries(queue: Queue) -> None:
    queue.enqueue("anime", [anime(i) for i in range(1, 11)])
    queue.read("w", count=3)
    stats = queue.stats()
    assert (stats.backlog, stats.pending) == (7, 3)


def test_invalid_urls_are_refused_and_nothing_is_enqueued(queue: Queue) -> None:
    with pytest.raises(InvalidUrlError):
        queue.enqueue("anime", [anime(1), "https://myanimelist.net/anime/1 OR 1=1"])
    with pytest.raises(ValueError, match="kind"):
        queue.enqueue("manga", [anime(1)])
    with pytest.raises(ValueError, match="count"):
        queue.read("w", count=0)
    assert queue.stats().length == 0


def test_read_blocks_for_at_most_block_ms(queue: Queue) -> None:
    start = time.monotonic()
    assert queue.read("w", count=1, block_ms=200) == []
    assert 0.15 <= time.monotonic() - start < 2


def test_malformed_stream_entries_go_to_dead_letters(redis_queue: CrawlQueue) -> None:
    redis_queue.redis.xadd(redis_queue.stream, {"kind": "anime", "url": "javascript:alert(1)"})
    redis_queue.enqueue("anime", [anime(7)])
    assert [m.url for m in redis_queue.read("w", count=10)] == [anime(7)]
    stats = redis_queue.stats()
    assert (stats.dead_letters, stats.pending, stats.length) == (1, 1, 1)
    dead = redis_queue.redis.xrange(redis_queue.dead_letter_stream)
    assert dead[0][1][b"url"] == b"javascript:alert(1)"


def test_a_second_queue_object_joins_the_existing_group(redis_queue: CrawlQueue) -> None:
    redis_queue.enqueue("anime", [anime(1)])
    again = CrawlQueue(redis_queue.redis, stream=redis_queue.stream, group=redis_queue.group)
    assert [m.url for m in again.read("w", count=5)] == [anime(1)]


def test_reclaimed_entries_count_their_deliveries_and_can_be_dead_lettered(queue: Queue) -> None:
    queue.enqueue("anime", [anime(1), anime(2)])
    first = queue.read("a", count=2)
    assert [m.deliveries for m in first] == [1, 1]
    time.sleep(0.06)
    second = queue.reclaim_stale("b", min_idle_ms=50)
    time.sleep(0.06)
    third = queue.reclaim_stale("c", min_idle_ms=50)
    assert [m.deliveries for m in second] == [2, 2]
    assert [m.deliveries for m in third] == [3, 3]
    assert queue.dead_letter(third[:1], reason="spider failed 3 times") == 1
    stats = queue.stats()
    assert (stats.pending, stats.dead_letters) == (1, 1)


def test_a_url_waiting_or_pending_is_not_queued_again(queue: Queue) -> None:
    alice = "https://myanimelist.net/profile/Alice"
    assert queue.enqueue("profile", [alice, "https://myanimelist.net/profile/ALICE"]) == 1
    assert queue.enqueue("profile", ["https://myanimelist.net/profile/alice"]) == 0
    taken = queue.read("w", count=5)
    assert queue.enqueue("profile", [alice]) == 0  # pending on a worker: still not again
    assert queue.stats().length == 1
    queue.ack([m.id for m in taken])
    assert queue.enqueue("profile", [alice]) == 1  # crawled and acknowledged: may come back
    again = queue.read("w", count=5)
    queue.dead_letter(again, reason="gave up")
    assert queue.enqueue("profile", [alice]) == 1  # dead-lettered: may be retried


def test_a_full_queue_refuses_rather_than_trims(redis_server_url: str) -> None:
    client = redis.Redis.from_url(redis_server_url)
    for capped in (
        CrawlQueue(client, stream=f"test:crawl:{uuid.uuid4().hex[:10]}", max_length=3),
        InMemoryCrawlQueue(max_length=3),
    ):
        try:
            assert capped.enqueue("anime", [anime(1), anime(2)]) == 2
            with pytest.raises(QueueFullError):
                capped.enqueue("anime", [anime(3), anime(4)])  # the whole batch is refused
            assert capped.enqueue("anime", [anime(1), anime(3)]) == 1  # a known URL is free
            assert [m.url for m in capped.read("w", count=10)] == [anime(1), anime(2), anime(3)]
            with pytest.raises(QueueFullError):
                capped.enqueue("anime", [anime(9)])  # pending entries count: none was trimmed
        finally:
            if isinstance(capped, CrawlQueue):
                capped.delete()
    client.close()


def test_ack_and_its_set_update_are_one_script(redis_queue: CrawlQueue) -> None:
    redis_queue.enqueue("anime", [anime(1), anime(2)])
    taken = redis_queue.read("w", count=2)
    assert redis_queue.redis.smembers(redis_queue.queued_set) == {
        anime(1).encode(),
        anime(2).encode(),
    }
    assert redis_queue.ack([taken[0].id]) == 1
    assert redis_queue.redis.smembers(redis_queue.queued_set) == {anime(2).encode()}
    redis_queue.delete()
    assert not redis_queue.redis.exists(redis_queue.queued_set)
