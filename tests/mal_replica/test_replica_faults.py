"""Fault injection: repeatable per URL and attempt, explicit rules, and the admin endpoint."""

from __future__ import annotations

import time

import httpx
import pytest

from mal_replica.faults import (
    FaultConfigError,
    FaultInjector,
    FaultRates,
    decide_by_rates,
)
from mal_replica.server import ReplicaApp, ReplicaHandle, run_replica
from mal_replica.world import World


def test_rate_decisions_depend_only_on_seed_url_and_attempt() -> None:
    rates = FaultRates(rate_limit=0.3, server_error=0.2, seed=5)
    urls = [f"/anime/{i}" for i in range(400)]
    first = [decide_by_rates(rates, u, 0) for u in urls]
    again = [decide_by_rates(rates, u, 0) for u in reversed(urls)][::-1]
    assert first == again
    kinds = [f.kind if f else None for f in first]
    assert 0.2 < kinds.count("rate_limit") / len(urls) < 0.4
    assert 0.1 < kinds.count("server_error") / len(urls) < 0.3
    other_seed = [decide_by_rates(FaultRates(rate_limit=0.3, seed=6), u, 0) for u in urls]
    assert other_seed != first
    retried = [decide_by_rates(rates, u, 1) for u in urls]
    assert retried != first, "a retry is a new attempt with its own draw"


def test_rules_take_precedence_and_are_consumed() -> None:
    injector = FaultInjector(FaultRates(server_error=1.0))
    injector.configure(rules=[{"path": "/profile/*", "fault": "rate_limit", "remaining": 2}])
    decisions = [injector.decide("/profile/a", "/profile/a", True).kind for _ in range(3)]
    assert decisions == ["rate_limit", "rate_limit", "server_error"]
    assert injector.decide("/robots.txt", "/robots.txt", rates_apply=False) is None


@pytest.mark.parametrize(
    ("rates", "rules"),
    [
        ({"rate_limit": 0.8, "server_error": 0.5}, None),
        ({"slow": -0.1}, None),
        ({"nonsense": 0.1}, None),
        ({"server_error_status": 404}, None),
        (None, [{"path": "/x", "fault": "explode"}]),
        (None, [{"path": "no-slash", "fault": "slow"}]),
        (None, [{"fault": "slow"}]),
    ],
)
def test_bad_fault_settings_are_rejected_and_leave_state_unchanged(rates, rules) -> None:
    injector = FaultInjector()
    before = injector.snapshot()
    with pytest.raises(FaultConfigError):
        injector.configure(rates=rates, rules=rules)
    assert injector.snapshot() == before


def test_429_with_retry_after_then_success(client, world: World) -> None:
    name = world.users["username"].iat[1]
    answer = client.post(
        "/_replica/faults",
        json={
            "rules": [
                {
                    "path": f"/profile/{name}",
                    "fault": "rate_limit",
                    "remaining": 2,
                    "retry_after": 7,
                }
            ]
        },
    )
    assert answer.status_code == 200 and answer.json()["rules"][0]["remaining"] == 2
    responses = [client.get(f"/profile/{name}") for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["retry-after"] == "7"
    assert client.get("/_replica/faults").json()["rules"] == []


def test_server_errors_and_not_found_for_html_and_api(client, replica, world: World) -> None:
    anime_id = int(world.anime["anime_id"].iat[0])
    replica.add_fault_rule(f"/anime/{anime_id}", "server_error", remaining=1)
    replica.add_fault_rule(f"/jikan/v4/anime/{anime_id}/full", "server_error", remaining=1)
    replica.add_fault_rule(f"/jikan/v4/anime/{anime_id}/statistics", "not_found", remaining=1)
    assert client.get(f"/anime/{anime_id}").status_code == 503
    api = client.get(f"/jikan/v4/anime/{anime_id}/full")
    assert api.status_code == 503 and api.json()["status"] == 503
    missing = client.get(f"/jikan/v4/anime/{anime_id}/statistics")
    assert missing.status_code == 404 and missing.json()["type"] == "BadResponseException"
    assert client.get(f"/jikan/v4/anime/{anime_id}/full").status_code == 200


def test_truncated_and_malformed_bodies(client, replica, world: World) -> None:
    path = f"/anime/{world.anime['anime_id'].iat[2]}/{world.anime['slug'].iat[2]}"
    whole = client.get(path).text
    replica.add_fault_rule(path, "truncated")
    cut = client.get(path)
    assert cut.status_code == 200 and len(cut.text) < len(whole) and whole.startswith(cut.text)
    replica.add_fault_rule(path, "malformed")
    broken = client.get(path)
    assert broken.status_code == 200 and "</html>" not in broken.text
    name = world.users["username"].iat[2]
    replica.add_fault_rule(f"/animelist/{name}/load.json", "malformed")
    with pytest.raises(ValueError):
        client.get(f"/animelist/{name}/load.json?offset=0").json()


def test_slow_answers_take_the_configured_delay(client, replica, world: World) -> None:
    replica.add_fault_rule("/robots.txt", "slow", delay=0.4)
    started = time.perf_counter()
    assert client.get("/robots.txt").status_code == 200
    assert time.perf_counter() - started >= 0.4
    started = time.perf_counter()
    client.get("/robots.txt")
    assert time.perf_counter() - started < 0.4


def test_rates_over_http_are_repeatable(replica: ReplicaHandle, world: World) -> None:
    paths = [f"/anime/{i}" for i in world.anime["anime_id"].iloc[:60]]

    def run() -> list[int]:
        replica.clear_faults()
        replica.set_fault_rates(rate_limit=0.25, server_error=0.15, seed=11)
        with httpx.Client(base_url=replica.base_url) as client:
            return [client.get(p).status_code for p in paths]

    first, second = run(), run()
    replica.clear_faults()
    assert first == second
    assert {429, 503} <= set(first) and 200 in first


def test_admin_endpoint_rejects_bad_input(client) -> None:
    assert client.post("/_replica/faults", content=b"not json").status_code == 400
    assert client.post("/_replica/faults", json=[1, 2]).status_code == 400
    bad = client.post("/_replica/faults", json={"rates": {"rate_limit": 2}})
    assert bad.status_code == 400 and "rate_limit" in bad.json()["error"]
    assert client.get("/_replica/nothing").status_code == 404
    assert client.delete("/_replica/faults").json()["rules"] == []


def test_fault_control_is_served_only_when_faults_are_enabled(world: World) -> None:
    with (
        run_replica(world=world, fault_control=False) as handle,
        httpx.Client(base_url=handle.base_url) as anyone,
    ):
        refused = anyone.post("/_replica/faults", json={"rates": {"server_error": 1.0}})
        assert refused.status_code == 404
        assert anyone.get("/_replica/faults").status_code == 404
        assert anyone.get("/robots.txt").status_code == 200  # and nothing was turned on
        assert anyone.get("/_replica/health").status_code == 200
    assert ReplicaApp(world).fault_control is False  # the default for anything served
