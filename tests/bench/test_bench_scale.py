"""``animerec bench scale`` at a toy size: every stage runs for real and reports its figures."""

from __future__ import annotations

import json

import pytest

from bench.scale import STAGES, chart_png, run_scale_bench


@pytest.mark.slow  # dbt build + TensorFlow training of the model job
@pytest.mark.timeout(300)
def test_scale_bench_runs_every_stage_of_the_served_pipeline(tmp_path) -> None:
    result = run_scale_bench(users=300, anime=150, workdir=tmp_path, progress=False)
    assert [stage.name for stage in result.stages] == list(STAGES)
    assert all(stage.seconds > 0 and stage.peak_bytes > 0 for stage in result.stages)
    assert result.counts["landing.user_anime"] > 1000
    assert result.counts["positives"] > 0 and result.counts["ranker_lists"] > 0
    by_name = {stage.name: stage for stage in result.stages}
    assert 250 < by_name["serve"].rows <= 300  # users with an empty list get none
    # at most 100 ranked + 50 plan-to-watch rows per user reach the publish
    assert 0 < result.counts["published_rows"] <= 150 * by_name["serve"].rows
    assert by_name["publish"].rows > by_name["serve"].rows  # user + anime + similar keys
    assert any("chosen ranking" in line for line in result.profile)
    ratios = result.ratios()
    assert set(ratios) == {
        "dbt_vs_duckdb_scan",
        "serve_scoring_vs_matmul_peak",
        "publish_vs_redis_set",
        "publish_write_vs_redis_set",
    }
    assert all(value > 0 for value in ratios.values())
    as_json = json.loads(result.report(as_json=True))
    assert as_json["users"] == 300 and len(as_json["stages"]) == len(STAGES)
    assert "publish" in result.report() and "profile" in result.report()
    assert chart_png(result).startswith(b"\x89PNG")
