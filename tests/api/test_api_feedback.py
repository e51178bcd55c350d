"""The API's feedback calls against the real Redis server: POST /v1/feedback and GET /v1/go."""

from __future__ import annotations

import pytest
import redis
from fastapi.testclient import TestClient
from feedback_checks import assert_no_address_under, stored_entries

from animerec_assets.contracts.feedback import SESSION_EVENT_LIMIT
from animerec_assets.lib.feedback.events import new_session_id
from animerec_assets.lib.feedback.stream import FeedbackKeys
from animerec_assets.lib.redis_conn import RedisUnavailableError
from api.server import ApiConfig, create_app

VISITOR = ("203.0.113.7", 40123)  # the caller's address: it must not reach Redis


def _api(client_factory, prefix: str, **config: object) -> TestClient:
    settings = ApiConfig(prefix=prefix, **config)  # type: ignore[arg-type]
    return TestClient(create_app(client_factory, settings), client=VISITOR)


@pytest.fixture
def api(api_redis: redis.Redis, api_prefix: str) -> TestClient:
    return _api(lambda: api_redis, api_prefix, rate_limit="100000/minute")


def like(session: str, anime_id: int = 5114, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "session_id": session,
        "model_version": "test-model-1",
        "action": "like",
        "anime_id": anime_id,
        "position": 2,
        "reason_type": "similar_to",
        "reason_anime_id": 1,
    }
    body.update(changes)
    return body


def test_an_event_is_recorded_with_origin_api_and_no_address(
    api: TestClient, api_redis: redis.Redis, api_prefix: str
) -> None:
    keys = FeedbackKeys.for_prefix(api_prefix)
    session = new_session_id()
    response = api.post("/v1/feedback", json=like(session, username="Xinil"))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["recorded"] is True and body["status"] == "recorded"
    more = {"session_id": session, "model_version": "test-model-1", "action": "more"}
    assert api.post("/v1/feedback", json=more).status_code == 202
    [(first_id, first), (_, second)] = stored_entries(api_redis, keys)
    assert first_id == body["event_id"]
    assert first == {
        "session_id": session,
        "username": "xinil",
        "model_version": "test-model-1",
        "anime_id": "5114",
        "position": "2",
        "reason_type": "similar_to",
        "reason_anime_id": "1",
        "action": "like",
        "origin": "api",
    }
    assert second["action"] == "more" and second["anime_id"] == ""
    assert assert_no_address_under(api_redis, keys) > 0


def test_a_flooding_session_gets_429_and_others_still_202(
    api: TestClient, api_redis: redis.Redis, api_prefix: str
) -> None:
    flooder, other = new_session_id(), new_session_id()
    codes = [
        api.post("/v1/feedback", json=like(flooder, i + 1)).status_code
        for i in range(SESSION_EVENT_LIMIT + 5)
    ]
    assert codes == [202] * SESSION_EVENT_LIMIT + [429] * 5
    capped = api.post("/v1/feedback", json=like(flooder))
    assert capped.status_code == 429 and int(capped.headers["Retry-After"]) >= 1
    assert capped.json()["status"] == "rate_limited"
    assert api.post("/v1/feedback", json=like(other)).status_code == 202
    keys = FeedbackKeys.for_prefix(api_prefix)
    assert api_redis.xlen(keys.stream) == SESSION_EVENT_LIMIT + 1


@pytest.mark.parametrize(
    "changes",
    [
        {"ip": "203.0.113.7"},
        {"origin": "app"},
        {"action": "buy"},
        {"anime_id": None},
        {"anime_id": 0},
        {"position": -1},
        {"session_id": "not-a-session"},
        {"model_version": "x" * 65},
        {"username": "<script>"},
        {"reason_type": "because"},
    ],
)
def test_invalid_events_are_422_and_store_nothing(
    api: TestClient, api_redis: redis.Redis, api_prefix: str, changes: dict[str, object]
) -> None:
    response = api.post("/v1/feedback", json=like(new_session_id(), **changes))
    assert response.status_code == 422, response.text
    assert api_redis.exists(FeedbackKeys.for_prefix(api_prefix).stream) == 0


def test_go_records_the_click_and_redirects_to_mal_by_integer_id(
    api_redis: redis.Redis, api_prefix: str
) -> None:
    api = _api(lambda: api_redis, api_prefix, mal_base_url="http://127.0.0.1:8900/")
    session = new_session_id()
    params = {"session": session, "model_version": "test-model-1", "position": 4}
    response = api.get("/v1/go/5114", params=params, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "http://127.0.0.1:8900/anime/5114"
    assert response.headers["x-feedback"] == "recorded"
    assert response.headers["cache-control"] == "no-store"
    [(_, fields)] = stored_entries(api_redis, FeedbackKeys.for_prefix(api_prefix))
    assert (fields["action"], fields["anime_id"], fields["position"]) == ("click_mal", "5114", "4")
    assert fields["origin"] == "api" and fields["session_id"] == session
    # the default target is MAL itself
    default = _api(lambda: api_redis, api_prefix).get(
        "/v1/go/1", params=params, follow_redirects=False
    )
    assert default.headers["location"] == "https://myanimelist.net/anime/1"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/go/%2F%2Fevil.example",
        "/v1/go/https:%2F%2Fevil.example",
        "/v1/go/0",
        "/v1/go/1e3",
        "/v1/go/-1",
    ],
)
def test_go_is_never_an_open_redirect(api: TestClient, path: str) -> None:
    params = {"session": new_session_id(), "model_version": "m", "position": 0}
    response = api.get(path, params=params, follow_redirects=False)
    assert response.status_code in (404, 422)
    assert "location" not in response.headers


def test_go_refuses_bad_feedback_parameters(api: TestClient) -> None:
    good = {"session": new_session_id(), "model_version": "m", "position": 0}
    for bad in (
        {"session": "x"},
        {"position": 5000},
        {"model_version": "a b"},
        {"reason_type": "x"},
    ):
        response = api.get("/v1/go/1", params={**good, **bad}, follow_redirects=False)
        assert response.status_code == 422, bad
    next_param = api.get("/v1/go/1", params={**good, "next": "https://evil.example"},
                         follow_redirects=False)  # fmt: skip
    assert next_param.headers["location"] == "https://myanimelist.net/anime/1"


def test_the_mal_base_url_must_be_a_plain_url() -> None:
    for bad in ("javascript:alert(1)", "https://mal.example/?next=", "//evil.example", ""):
        with pytest.raises(ValueError, match="mal_base_url"):
            ApiConfig(mal_base_url=bad)


def test_redis_down_still_answers_202_and_redirects(api_prefix: str) -> None:
    def unreachable() -> redis.Redis:
        raise RedisUnavailableError("Redis at redis://127.0.0.1:1 does not answer")

    dead_port = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    for factory in (unreachable, lambda: dead_port):
        api = _api(factory, api_prefix)
        response = api.post("/v1/feedback", json=like(new_session_id()))
        assert response.status_code == 202
        assert response.json() == {"recorded": False, "status": "unavailable", "event_id": None}
        params = {"session": new_session_id(), "model_version": "m", "position": 0}
        click = api.get("/v1/go/7", params=params, follow_redirects=False)
        assert click.status_code == 302 and click.headers["x-feedback"] == "unavailable"
        assert click.headers["location"] == "https://myanimelist.net/anime/7"
