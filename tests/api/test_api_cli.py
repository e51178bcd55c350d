"""``animerec api serve`` starts a real server process, validates input before Redis, stops."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

from animerec_cli.main import COMMANDS
from api.launch import free_port, start_api, stop_api


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_api_is_a_lazy_sub_command() -> None:
    assert COMMANDS["api"].module == "api.cli"


@pytest.mark.slow
def test_api_serve_answers_and_stops(redis_server_url: str) -> None:
    env = {
        **os.environ,
        "ANIMEREC_ENV": "local",
        "REDIS_URL": redis_server_url,
        "ANIMEREC_API_CORS_ORIGINS": "https://ext.example",  # what the ConfigMap sets
    }
    port = free_port()
    process = start_api(port, env, "--rate-limit", "50/minute")
    try:
        status, spec = _get(f"http://127.0.0.1:{port}/openapi.json")
        assert status == 200 and "/v1/freshness" in spec["paths"]
        status, body = _get(f"http://127.0.0.1:{port}/v1/users/x/recommendations")
        assert status == 422 and "2-16 letters" in body["detail"]
        for origin, allowed in (("https://ext.example", True), ("https://evil.example", False)):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/openapi.json", headers={"Origin": origin}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                header = response.headers.get("access-control-allow-origin")
            assert (header == origin) is allowed
    finally:
        stop_api(process)
    assert process.poll() is not None
