"""Publishing against a real redis-server: versions, the atomic switch, rollback, debris."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pandas as pd
import pytest
import redis

from animerec_assets.lib.serving import (
    KeyLayout,
    PublishInputError,
    PublishLockedError,
    RollbackError,
    get_freshness,
    get_recommendations,
    get_user_view,
    live_versions,
    publish,
    registered_versions,
    rollback,
)
from animerec_assets.lib.serving.synthetic import (
    synthetic_user_lists,
    synthetic_user_recommendations,
)

REPO_ROOT = Path(__file__).resolve().parents[4]


def _keys_of(client: redis.Redis, layout: KeyLayout, version: str) -> list[bytes]:
    return list(client.scan_iter(match=layout.namespace_pattern(version), count=1000))


def test_publish_writes_a_complete_version_and_switches(
    serving_redis, prefix, small_model_output
) -> None:
    recs, similar, anime = small_model_output
    lists = synthetic_user_lists(200, 300, list_size=10)  # 4 planned + 10 others per user
    progress: list[tuple[str, int, int]] = []
    result = publish(
        serving_redis,
        recs,
        similar,
        anime,
        model_version="model-1",
        prefix=prefix,
        batch_size=64,
        on_progress=lambda *p: progress.append(p),
        user_anime=lists,
    )
    layout = KeyLayout(prefix)
    assert live_versions(serving_redis, layout) == (result.version, None)
    assert result.counts == {
        "users": 200, "user_lists": 200,
        "user_list_entries": len(lists.drop_duplicates(["user_id", "anime_id"])),
        "similar_lists": 300, "anime": 300, "title_entries": 900,
    }  # fmt: skip
    # users + their lists + similar lists + anime hash + titles zset + meta
    assert result.keys_written == 200 + 200 + 300 + 1 + 1 + 1
    assert len(_keys_of(serving_redis, layout, result.version)) == result.keys_written
    assert {stage for stage, _, _ in progress} == {"users", "lists", "similar", "anime", "titles"}
    view = get_user_view(serving_redis, "user_7", prefix)
    own = lists[lists["user_id"] == "User_7"]
    assert view.user_list == dict(zip(own["anime_id"], own["status"], strict=True))
    # the 4 planned titles the model ranked stay in the published ranking, in rank order
    assert [r.anime_id for r in view.recommendations] == recs[recs["user_id"] == "User_7"][
        "anime_id"
    ].tolist()
    assert progress[-1][1] == progress[-1][2]
    freshness = get_freshness(serving_redis, prefix)
    assert freshness is not None
    assert (freshness.version, freshness.model_version) == (result.version, "model-1")
    assert freshness.counts["users"] == 200
    assert registered_versions(serving_redis, layout)[result.version]["state"] == "complete"
    assert not serving_redis.exists(layout.publish_lock)


def test_second_publish_keeps_previous_and_third_removes_the_oldest(
    serving_redis, prefix, small_model_output
) -> None:
    recs, similar, anime = small_model_output
    layout = KeyLayout(prefix)
    first = publish(serving_redis, recs, similar, anime, model_version="m1", prefix=prefix)
    second = publish(serving_redis, recs, similar, anime, model_version="m2", prefix=prefix)
    assert second.previous_version == first.version
    assert live_versions(serving_redis, layout) == (second.version, first.version)
    third = publish(serving_redis, recs, similar, anime, model_version="m3", prefix=prefix)
    assert third.removed_versions == [first.version]
    assert _keys_of(serving_redis, layout, first.version) == []
    assert set(registered_versions(serving_redis, layout)) == {second.version, third.version}


def test_rollback_swaps_current_and_previous(serving_redis, prefix, small_model_output) -> None:
    recs, similar, anime = small_model_output
    with pytest.raises(RollbackError):
        rollback(serving_redis, prefix)
    first = publish(serving_redis, recs, similar, anime, model_version="good", prefix=prefix)
    fewer = recs[recs["user_id"] != "User_1"]
    second = publish(serving_redis, fewer, similar, anime, model_version="bad", prefix=prefix)
    assert get_recommendations(serving_redis, "user_1", prefix) == []
    assert rollback(serving_redis, prefix) == (first.version, second.version)
    assert get_freshness(serving_redis, prefix).model_version == "good"
    assert len(get_recommendations(serving_redis, "user_1", prefix)) == 20
    # the next publish replaces the rolled-back-from version, never the live one
    third = publish(serving_redis, recs, similar, anime, model_version="fixed", prefix=prefix)
    assert third.previous_version == first.version
    assert second.version in third.removed_versions


def test_an_opted_out_user_is_gone_from_current_and_from_the_rollback_version(
    serving_redis, prefix, small_model_output
) -> None:
    recs, similar, anime = small_model_output
    lists = synthetic_user_lists(200, 300, list_size=5)
    publish(
        serving_redis, recs, similar, anime, model_version="m1", prefix=prefix, user_anime=lists
    )
    assert get_user_view(serving_redis, "user_1", prefix).user_list
    without = recs[recs["user_id"] != "User_1"]  # processed no longer has her
    publish(
        serving_redis, without, similar, anime, model_version="m2", prefix=prefix,
        forget=["User_1"], user_anime=lists[lists["user_id"] != "User_1"],
    )  # fmt: skip
    assert get_recommendations(serving_redis, "user_1", prefix) == []
    rollback(serving_redis, prefix)  # even the version kept for rollback lost her keys
    assert get_freshness(serving_redis, prefix).model_version == "m1"
    assert get_recommendations(serving_redis, "user_1", prefix) == []
    assert get_user_view(serving_redis, "user_1", prefix).user_list is None  # her list too
    assert len(get_recommendations(serving_redis, "user_2", prefix)) == 20


def test_bad_input_writes_nothing_and_keeps_the_live_version(
    serving_redis, prefix, small_model_output
) -> None:
    recs, similar, anime = small_model_output
    good = publish(serving_redis, recs, similar, anime, model_version="m1", prefix=prefix)
    keys_before = serving_redis.dbsize()
    broken = recs.assign(score=recs["score"].where(recs.index != 3))
    with pytest.raises(PublishInputError, match="not finite"):
        publish(serving_redis, broken, similar, anime, model_version="m2", prefix=prefix)
    with pytest.raises(PublishInputError, match="missing columns"):
        publish(serving_redis, recs, similar.drop(columns="animeB"), anime, model_version="m2")
    assert serving_redis.dbsize() == keys_before
    assert get_freshness(serving_redis, prefix).version == good.version


def test_a_second_publisher_waits_for_the_lock_then_gives_up(
    serving_redis, prefix, small_model_output
) -> None:
    recs, similar, anime = small_model_output
    layout = KeyLayout(prefix)
    serving_redis.set(layout.publish_lock, "someone-else", px=60_000)
    with pytest.raises(PublishLockedError, match="someone-else"):
        publish(
            serving_redis, recs, similar, anime, model_version="m", prefix=prefix, lock_wait_s=0.3
        )
    assert live_versions(serving_redis, layout) == (None, None)
    assert registered_versions(serving_redis, layout) == {}


def test_readers_during_publishes_always_see_one_complete_version(
    serving_redis, prefix, small_model_output
) -> None:
    """A reader hammering lookups across three publishes never sees a partial version."""
    recs, similar, anime = small_model_output
    publish(serving_redis, recs, similar, anime, model_version="m0", prefix=prefix)
    seen: list[tuple[str, int]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            freshness = get_freshness(serving_redis, prefix)
            recs_of_user = get_recommendations(serving_redis, "User_199", prefix)
            seen.append((freshness.model_version, len(recs_of_user)))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(1, 4):
            publish(
                serving_redis, recs, similar, anime, model_version=f"m{n}", prefix=prefix,
                batch_size=16,
            )  # fmt: skip
    finally:
        stop.set()
        thread.join()
    assert seen and all(count == 20 for _, count in seen)
    assert {version for version, _ in seen} <= {"m0", "m1", "m2", "m3"}


KILLED_PUBLISHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from animerec_assets.lib.redis_conn import connect
    from animerec_assets.lib.serving import publish
    from animerec_assets.lib.serving.synthetic import (
        synthetic_anime, synthetic_similar, synthetic_user_recommendations)

    redis_dir, prefix = Path(sys.argv[1]), sys.argv[2]
    client = connect(None, redis_dir)

    def report(stage, done, total):
        print(stage, done, total, flush=True)
        time.sleep(0.2)  # a slow publish, so the test can kill it between batches

    publish(client, synthetic_user_recommendations(2000, 300, seed=99), synthetic_similar(300),
            synthetic_anime(300), model_version="doomed", prefix=prefix, batch_size=100,
            lock_ttl_s=1.0, on_progress=report)
    print("finished", flush=True)
    """
)


@pytest.mark.slow  # a publisher subprocess killed mid-publish (4-8 s)
def test_sigkill_mid_publish_leaves_readers_on_the_old_version_and_debris_is_cleaned(
    serving_redis, serving_redis_dir, prefix, small_model_output
) -> None:
    recs, similar, anime = small_model_output
    layout = KeyLayout(prefix)
    old = publish(serving_redis, recs, similar, anime, model_version="old", prefix=prefix)
    old_recs = get_recommendations(serving_redis, "User_7", prefix)
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_PUBLISHER, str(serving_redis_dir), prefix],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]  # three batches written
        assert all(line.startswith("users") for line in lines), (lines, process.stderr.read())
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL

    registry = registered_versions(serving_redis, layout)
    doomed = [v for v, record in registry.items() if record["state"] == "writing"]
    assert len(doomed) == 1
    assert len(_keys_of(serving_redis, layout, doomed[0])) >= 300  # half-written debris exists
    # readers still see the old, complete version
    assert live_versions(serving_redis, layout) == (old.version, None)
    assert get_freshness(serving_redis, prefix).model_version == "old"
    assert get_recommendations(serving_redis, "User_7", prefix) == old_recs
    assert get_recommendations(serving_redis, "User_1999", prefix) == []

    # the next publish waits out the dead publisher's lock and removes the debris
    new = publish(serving_redis, recs, similar, anime, model_version="new", prefix=prefix)
    assert doomed[0] in new.removed_versions
    assert _keys_of(serving_redis, layout, doomed[0]) == []
    assert live_versions(serving_redis, layout) == (new.version, old.version)
    assert set(registered_versions(serving_redis, layout)) == {old.version, new.version}


def test_publish_against_the_redis_server(redis_server_url: str, prefix: str) -> None:
    """The same publish and lookups over TCP on the machine's Redis server (own prefix)."""
    client = redis.Redis.from_url(redis_server_url)
    layout = KeyLayout(prefix)
    recs = synthetic_user_recommendations(30, 50)
    similar = pd.DataFrame({"animeA": [1, 1], "animeB": [2, 3], "rank": [1, 2], "score": [1, 0.5]})
    anime = pd.DataFrame({"anime_id": [1, 2, 3], "title": ["A one", "B two", "C three"]})
    try:
        result = publish(client, recs, similar, anime, model_version="tcp", prefix=prefix)
        assert get_freshness(client, prefix).model_version == "tcp"
        assert len(get_recommendations(client, "user_3", prefix)) == 20
        assert json.loads(client.hget(layout.versions, result.version))["state"] == "complete"
    finally:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.unlink(key)
