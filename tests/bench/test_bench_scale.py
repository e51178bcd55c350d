"""``animerec bench scale`` at a toy size: every stage runs for real and reports its figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.scale import STAGES, candidate_scores, chart_png, run_scale_bench


def test_candidate_scores_are_the_dot_products() -> None:
    rng = np.random.default_rng(0)
    users, anime = rng.standard_normal((5, 4)), rng.standard_normal((7, 4))
    top = np.array([[3, 1], [0, -1], [6, 5], [2, 2], [4, 0]])
    scores = candidate_scores(users, anime, top, block=2)
    full = users @ anime.T
    np.testing.assert_allclose(scores[0], full[0, [3, 1]], rtol=1e-5)
    np.testing.assert_allclose(scores[2], full[2, [6, 5]], rtol=1e-5)


@pytest.mark.slow  # dbt build + TensorFlow training
@pytest.mark.timeout(120)
def test_scale_bench_runs_every_stage(tmp_path) -> None:
    result = run_scale_bench(users=300, anime=150, workdir=tmp_path, progress=False)
    assert [stage.name for stage in result.stages] == list(STAGES)
    assert all(stage.seconds > 0 and stage.peak_bytes > 0 for stage in result.stages)
    assert result.counts["landing.user_anime"] > 1000
    assert result.counts["positives"] > 0
    by_name = {stage.name: stage for stage in result.stages}
    assert 250 < by_name["inference"].rows <= 300  # users with an empty list get none
    assert by_name["publish"].rows > by_name["inference"].rows  # user + anime + similar keys
    ratios = result.ratios()
    assert set(ratios) == {
        "dbt_vs_duckdb_scan",
        "inference_vs_matmul_peak",
        "inference_vs_matmul_at_shape",
        "publish_vs_redis_set",
        "publish_write_vs_redis_set",
    }
    assert all(value > 0 for value in ratios.values())
    as_json = json.loads(result.report(as_json=True))
    assert as_json["users"] == 300 and len(as_json["stages"]) == len(STAGES)
    assert "publish" in result.report()
    assert chart_png(result).startswith(b"\x89PNG")
