"""Publish through faults injected on the wire to a real Redis (a private redis-server behind a
proxy): a lost reply to the pointer switch, and cleanup slower than the lock lives."""

from __future__ import annotations

import hashlib
import time

import pytest
import redis
from redis_fault_proxy import FaultyRedisProxy

from animerec_assets.lib.serving import get_freshness
from animerec_assets.lib.serving.keys import KeyLayout
from animerec_assets.lib.serving.publish import (
    _SWITCH,
    PublishError,
    live_versions,
    publish,
    registered_versions,
    rollback,
)


@pytest.fixture
def proxy(private_redis):
    faulty = FaultyRedisProxy(private_redis.port)
    yield faulty
    faulty.close()


def test_a_lost_switch_reply_is_a_success_and_a_retry_keeps_the_real_previous(
    private_redis, proxy, prefix, small_model_output
) -> None:
    recs, similar, anime = small_model_output
    direct = redis.Redis.from_url(private_redis.url)
    layout = KeyLayout(prefix)
    first = publish(direct, recs, similar, anime, model_version="model-1", prefix=prefix)

    proxy.drop_reply_to = hashlib.sha1(_SWITCH.encode()).hexdigest().encode()
    through_proxy = redis.Redis.from_url(proxy.url, socket_timeout=5)
    second = publish(through_proxy, recs, similar, anime, model_version="model-2", prefix=prefix)
    assert proxy.dropped >= 1  # the switch ran, its reply never came back
    assert live_versions(direct, layout) == (second.version, first.version)
    assert second.previous_version == first.version
    assert get_freshness(direct, prefix).model_version == "model-2"

    # a caller that retried anyway (or a re-run of the same model) publishes model-2 again:
    # the rollback target stays model-1, not the copy of model-2
    proxy.drop_reply_to = None
    third = publish(direct, recs, similar, anime, model_version="model-2", prefix=prefix)
    assert live_versions(direct, layout) == (third.version, first.version)
    assert second.version in third.removed_versions
    rollback(direct, prefix)
    assert get_freshness(direct, prefix).model_version == "model-1"


def test_a_failed_write_leaves_the_live_version_and_no_debris(
    private_redis, proxy, prefix, small_model_output
) -> None:
    recs, similar, anime = small_model_output
    direct = redis.Redis.from_url(private_redis.url)
    layout = KeyLayout(prefix)
    first = publish(direct, recs, similar, anime, model_version="model-1", prefix=prefix)
    proxy.drop_reply_to = b"HSET"  # the meta hash write: reply lost, connection closed
    through_proxy = redis.Redis.from_url(proxy.url, socket_timeout=5)
    with pytest.raises(PublishError):
        publish(through_proxy, recs, similar, anime, model_version="model-2", prefix=prefix)
    assert live_versions(direct, layout) == (first.version, None)
    assert set(registered_versions(direct, layout)) == {first.version}
    assert direct.get(layout.publish_lock) is None  # released, the next publish need not wait


def test_the_lock_is_kept_while_cleanup_outlasts_its_ttl(
    private_redis, proxy, prefix, small_model_output
) -> None:
    recs, similar, anime = small_model_output
    direct = redis.Redis.from_url(private_redis.url)
    layout = KeyLayout(prefix)
    debris = ["20200101T000000000000Z-dead01", "20200101T000000000000Z-dead02"]
    for version in debris:  # two publishes that died midway, 8,000 keys each
        direct.hset(layout.versions, version, '{"state": "writing"}')
        namespace = layout.namespace(version)
        direct.mset({f"{namespace}:user:u{n}": "x" for n in range(8_000)})
    proxy.delay_s = 0.01  # a slow network: the cleanup takes a few seconds
    through_proxy = redis.Redis.from_url(proxy.url, socket_timeout=5)
    ttl_s = 1.0  # short, yet long enough for a keeper on a loaded machine to renew it in time
    started = time.monotonic()
    result = publish(
        through_proxy, recs, similar, anime, model_version="m", prefix=prefix, lock_ttl_s=ttl_s
    )
    assert time.monotonic() - started > 2 * ttl_s  # the publish did outlast the lock's TTL
    assert sorted(result.removed_versions) == debris
    assert live_versions(direct, layout)[0] == result.version
    assert not list(direct.scan_iter(match=f"{layout.version_root}20200101*", count=1000))
