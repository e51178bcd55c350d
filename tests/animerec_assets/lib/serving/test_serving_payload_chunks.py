"""Big publishes prepare user payloads in whole-user chunks: same bytes as one pass."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from animerec_assets.lib.serving import payloads
from animerec_assets.lib.serving.synthetic import synthetic_user_recommendations


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
