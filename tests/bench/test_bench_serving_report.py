"""The serving bench's report: publish figures first (printed early), then the latencies."""

from __future__ import annotations

import numpy as np

from bench.serving import LatencyFigures, ServingBenchResult


def test_report_is_publish_lines_then_latency_lines() -> None:
    result = ServingBenchResult(users=1000, anime=50, clients=2, redis="embedded")
    result.user_payload_bytes, result.list_payload_bytes, result.list_entries = (
        3_000_000,
        500_000,
        120_000,
    )
    result.user_key_memory, result.list_key_memory = 3300.0, 640.0
    result.api_latencies = [
        LatencyFigures("API unfiltered", np.array([10.0, 20.0, 30.0]), 1.0),
        LatencyFigures("API filtered", np.array([10.0, 20.0, 60.0]), 1.0),
    ]
    result.filtered_full_share = 0.99
    result.parts, result.part_users = 10, 100_000
    result.prepare_s, result.write_s = 300.0, 120.5
    result.publish_s = result.prepare_s + result.write_s
    result.bench_peak_rss_mb, result.redis_peak_rss_mb = 3500.0, 4200.0
    lines = result.report().splitlines()
    assert lines[: len(result.publish_lines())] == result.publish_lines()
    assert all(len(line) > 20 for line in lines)  # whole lines, never a character each
    assert "3,000 bytes of JSON per user" in result.report()
    assert "ranked lists 3.30 GB + MAL lists 0.64 GB" in result.report()
    assert "filtered p99 / unfiltered p99 = 1.99" in result.report()
    assert "in 10 part(s) of 100,000 users: 420.5 s = prepare 300.0 s" in result.report()
    assert "redis-server peak RSS 4,200 MB), publishing process peak RSS 3,500 MB" in (
        result.report()
    )
    assert "holding 20 recommendations: 99.0%" in result.report()
