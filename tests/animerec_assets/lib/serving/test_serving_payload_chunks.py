"""Big publishes prepare user payloads in whole-user chunks and write users in parts: the
same version as one pass."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from animerec_assets.lib.serving import (
    KeyLayout,
    PublishError,
    PublishInputError,
    live_versions,
    payloads,
    prepare_payloads,
    prepare_user_part,
    publish,
    publish_payloads,
    registered_versions,
    user_parts,
)
from animerec_assets.lib.serving.synthetic import (
    synthetic_anime,
    synthetic_similar,
    synthetic_user_lists,
    synthetic_user_parts,
    synthetic_user_recommendations,
)


def test_chunked_preparation_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    recs = synthetic_user_recommendations(300, 500, per_user=7)
    # a duplicate (user, anime) pair that only one chunk sees: it keeps its best rank
    recs = pd.concat([recs, recs.iloc[[10]].assign(rank=99, score=0.0)], ignore_index=True)
    recs = recs.sample(frac=1.0, random_state=3)  # chunking must not rely on input order
    whole = payloads.prepare_user_payloads(recs)

    monkeypatch.setattr(payloads, "USER_CHUNK_ROWS", 250)
    chunked = payloads.prepare_user_payloads(recs)

    pd.testing.assert_frame_equal(chunked, whole)
    assert chunked["user_key"].is_monotonic_increasing
    assert len(chunked) == 300


def test_chunks_never_split_a_user() -> None:
    table = pa.table({"user_key": ["b", "a", "c", "a", "b", "c", "d"], "n": list(range(7))})
    chunks = payloads.user_chunks(table, max_rows=3)
    keys = [set(chunk.column("user_key").to_pylist()) for chunk in chunks]
    assert sum(chunk.num_rows for chunk in chunks) == 7
    assert all(a.isdisjoint(b) for i, a in enumerate(keys) for b in keys[i + 1 :])
    assert [sorted(k) for k in keys] == sorted(sorted(k) for k in keys)  # ranges in key order


def test_a_version_published_in_user_parts_equals_one_published_whole(
    serving_redis, prefix
) -> None:
    """A population too big for memory is published as a catalogue and further user parts,
    pulled one at a time, into one version behind one switch: the same keys and values."""
    parts = list(synthetic_user_parts(90, 400, per_user=12, list_size=6, part_users=40))
    assert [len(recs["user_id"].unique()) for recs, _ in parts] == [40, 40, 10]
    similar, anime = synthetic_similar(400), synthetic_anime(400)
    whole = publish(
        serving_redis,
        pd.concat([recs for recs, _ in parts]),
        similar,
        anime,
        model_version="whole",
        prefix=prefix,
        user_anime=pd.concat([lists for _, lists in parts]),
    )
    pulled: list[int] = []

    def more_users():
        for recs, lists in parts[1:]:
            pulled.append(len(pulled))
            yield prepare_user_part(recs, lists)

    catalogue = prepare_payloads(parts[0][0], similar, anime, user_anime=parts[0][1])
    progress: list[tuple[str, int, int]] = []
    in_parts = publish_payloads(
        serving_redis, catalogue, model_version="parts", prefix=prefix, batch_size=16,
        user_parts=more_users(), on_progress=lambda *p: progress.append(p),
    )  # fmt: skip
    assert pulled == [0, 1]
    assert in_parts.previous_version == whole.version  # one switch, from the whole version
    assert in_parts.counts == whole.counts and in_parts.keys_written == whole.keys_written
    layout = KeyLayout(prefix)
    for user in ("user_0", "user_45", "user_89"):
        for key_of in (layout.user, layout.user_list):
            assert serving_redis.get(key_of(in_parts.version, user)) == serving_redis.get(
                key_of(whole.version, user)
            )
    users_progress = [done for stage, done, _ in progress if stage == "users"]
    assert users_progress == sorted(users_progress) and users_progress[-1] == 90


def test_a_failing_user_part_leaves_the_live_version_and_no_debris(serving_redis, prefix) -> None:
    recs, lists = next(synthetic_user_parts(20, 100, per_user=5, list_size=2, part_users=20))
    catalogue = prepare_payloads(recs, synthetic_similar(100), synthetic_anime(100))
    live = publish_payloads(serving_redis, catalogue, model_version="live", prefix=prefix)

    def broken_parts():
        yield prepare_user_part(recs.assign(user_id="other_" + recs["user_id"]), lists)
        raise RuntimeError("the warehouse went away")

    with pytest.raises(PublishError, match="warehouse"):
        publish_payloads(
            serving_redis, catalogue, model_version="x", prefix=prefix, user_parts=broken_parts()
        )
    layout = KeyLayout(prefix)
    assert live_versions(serving_redis, layout) == (live.version, None)
    assert set(registered_versions(serving_redis, layout)) == {live.version}
    assert list(serving_redis.scan_iter(match=f"{prefix}*other_*")) == []  # the part is gone
    assert not serving_redis.exists(layout.publish_lock)


def test_user_parts_split_users_disjointly_each_with_its_own_list() -> None:
    recs = synthetic_user_recommendations(90, 400, per_user=12)
    lists = synthetic_user_lists(90, 400, per_user=12, list_size=6)
    lists["user_id"] = " " + lists["user_id"].str.upper()  # another spelling of the same users
    whole = prepare_user_part(recs, lists)
    parts = list(user_parts(recs, lists, part_users=25))
    assert len(parts) == 4
    keys = [set(part.user_keys) for part in parts]
    assert all(a.isdisjoint(b) for i, a in enumerate(keys) for b in keys[i + 1 :])
    assert set().union(*keys) == set(whole.user_keys)
    users = dict(zip(whole.user_keys, whole.user_values, strict=True))
    packed = dict(zip(whole.list_keys, whole.list_values.to_pylist(), strict=True))
    for part in parts:
        assert all(users[k] == v for k, v in zip(part.user_keys, part.user_values, strict=True))
        assert dict(zip(part.list_keys, part.list_values.to_pylist(), strict=True)) == {
            k: packed[k] for k in part.list_keys
        }
    assert sum(part.list_entries for part in parts) == whole.list_entries
    # bad model output fails at the first part, before a publish writes anything
    broken = recs.copy()
    broken.loc[broken.index[-1], "user_id"] = "  "
    with pytest.raises(PublishInputError, match="empty user ids"):
        next(user_parts(broken, lists, part_users=25))
