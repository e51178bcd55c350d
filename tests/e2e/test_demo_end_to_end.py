"""The whole chain, as a newcomer runs it: ``animerec demo`` on the embedded defaults.

One run of the demo (serve mode) on a small replica world: it must crawl the replica, build the
processed tables, train, publish to Redis, then start the Dagster UI, the app and the JSON API
and print where they are. After Ctrl-C nothing it started runs on, and the processed tables must
equal the replica's ground truth.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pandas as pd
import psutil
import pytest
from demo_process import default_ctrl_c, demo_env
from ground_truth import KEYS, differences

from animerec_assets.lib.serving.payloads import TOP_N_PLAN_TO_WATCH, TOP_N_USER
from animerec_cli.demo import DEMO_HOME_MARK
from app.launch import free_port
from mal_replica.export import processed_tables
from mal_replica.world import generate_world

pytestmark = pytest.mark.slow

USERS, ANIME, SEED = 150, 100, 11
BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 900


LOCATION_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def _read_until(process: subprocess.Popen, pattern: str, timeout_s: float) -> str:
    """Collect the demo's output until a line matches ``pattern``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            seen.append(line)
            if re.search(pattern, line):
                return "".join(seen)
            continue
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"demo never printed {pattern!r}; output:\n{''.join(seen)[-5000:]}")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    home = Path(f"/tmp/ar-e2e-{os.getpid()}")
    ports = {name: free_port() for name in ("replica", "ui", "app", "crawler", "api")}
    env = demo_env(home)
    command = [
        str(BIN / "animerec"), "demo", "--users", str(USERS), "--anime", str(ANIME),
        "--seed", str(SEED), "--replica-port", str(ports["replica"]),
        "--ui-port", str(ports["ui"]), "--app-port", str(ports["app"]),
        "--crawler-port", str(ports["crawler"]), "--api-port", str(ports["api"]),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=default_ctrl_c,  # it is stopped with Ctrl-C (SIGINT) below
    )
    try:
        output = _read_until(process, r"Press Ctrl-C to stop", STARTUP_TIMEOUT_S)
        running = {
            "ui": httpx.get(f"http://127.0.0.1:{ports['ui']}/server_info", timeout=10),
            "app": httpx.get(f"http://127.0.0.1:{ports['app']}/_stcore/health", timeout=10),
            "crawler": httpx.get(f"http://127.0.0.1:{ports['crawler']}/health", timeout=10),
            "code_location": httpx.post(
                f"http://127.0.0.1:{ports['ui']}/graphql",
                json={"query": LOCATION_QUERY},
                timeout=60,
            ).json(),
        }
        from animerec_assets.lib.redis_conn import connect
        from animerec_assets.lib.serving import get_freshness, get_recommendations

        client = connect(None, home / "redis")
        world = generate_world(USERS, ANIME, SEED)
        some_user = str(world.users["username"].iloc[0])
        api = f"http://127.0.0.1:{ports['api']}/v1"
        served = {
            "freshness": get_freshness(client),
            "recommendations": get_recommendations(client, some_user),
            "api_freshness": httpx.get(f"{api}/freshness", timeout=10),
            "api_recommendations": httpx.get(
                f"{api}/users/{some_user}/recommendations", timeout=30
            ),
        }
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    after_stop = {"api_port_open": _port_open(ports["api"]), "left": _marked_processes(home)}
    yield {"home": home, "ports": ports, "output": output, "running": running, **served,
           **after_stop}  # fmt: skip
    from animerec_assets.lib.redis_conn import stop_embedded_redis

    stop_embedded_redis(home / "redis")
    subprocess.run(["rm", "-rf", str(home)], check=False)


def test_demo_prints_where_the_ui_and_the_app_are(demo_run):
    ports = demo_run["ports"]
    assert f"Dagster UI    http://127.0.0.1:{ports['ui']}" in demo_run["output"]
    assert f"the app       http://127.0.0.1:{ports['app']}" in demo_run["output"]
    assert demo_run["running"]["ui"].status_code == 200
    assert demo_run["running"]["app"].status_code == 200
    assert demo_run["running"]["crawler"].status_code == 200
    # The UI's own code server loaded the definitions (not just a webserver that answers).
    entries = demo_run["running"]["code_location"]["data"]["workspaceOrError"]["locationEntries"]
    assert [e["locationOrLoadError"]["__typename"] for e in entries] == ["RepositoryLocation"], (
        entries
    )


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _marked_processes(home: Path) -> list[str]:
    """Live processes the demo started on ``home`` (they carry its mark)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if (
                process.environ().get(DEMO_HOME_MARK) == str(home)
                and process.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(f"{process.pid}: {' '.join(process.info['cmdline'] or [])[:120]}")
        except psutil.Error:
            continue
    return found


def test_demo_runs_the_json_api_beside_the_app_and_stops_it(demo_run):
    ports = demo_run["ports"]
    assert f"JSON API      http://127.0.0.1:{ports['api']}/docs" in demo_run["output"]
    freshness = demo_run["api_freshness"]
    assert freshness.status_code == 200, (freshness.text, demo_run["output"][-4000:])
    assert freshness.json()["version"] == demo_run["freshness"].version
    answer = demo_run["api_recommendations"]
    assert answer.status_code == 200, answer.text
    published = {r.anime_id for r in demo_run["recommendations"]}
    for rec in answer.json()["recommendations"]:  # the published ranking, or a franchise's first
        assert rec["anime_id"] in published or rec["reason"].startswith("Watch this before")
    # Ctrl-C stopped it with everything else
    assert not demo_run["api_port_open"]
    assert demo_run["left"] == []


def test_demo_publishes_recommendations_the_app_can_read(demo_run):
    # the demo carries on past a failed job (the UI shows why): its output says which
    failed = [line for line in demo_run["output"].splitlines() if "FAILED" in line]
    redis_log = demo_run["home"] / "redis" / "redis.log"
    starts = redis_log.read_text().count("Server initialized") if redis_log.exists() else 0
    assert demo_run["freshness"] is not None, (
        f"nothing published; {failed or 'no job failed'}; redis-server started {starts} time(s)"
    )
    recommendations = demo_run["recommendations"]
    assert 5 <= len(recommendations) <= TOP_N_USER + TOP_N_PLAN_TO_WATCH
    assert len({r.anime_id for r in recommendations}) == len(recommendations)


def _processed(home: Path, table: str) -> pd.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as db:
        return db.execute(f'select * from processed."{table}"').df()


@pytest.mark.parametrize("table", list(KEYS))
def test_processed_equals_the_replica_ground_truth(demo_run, table):
    truth = processed_tables(generate_world(USERS, ANIME, SEED))[table]
    crawled = _processed(demo_run["home"], table)
    assert list(crawled.columns) == list(truth.columns)
    assert len(crawled) == len(truth)
    assert differences(table, crawled, truth) == []
