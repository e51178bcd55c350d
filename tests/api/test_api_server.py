"""The public API against the real Redis server, over a world published by the real publish."""

from __future__ import annotations

from datetime import date

import pytest
import redis
from api_world import publish_world
from fastapi.testclient import TestClient

from api.server import ApiConfig, create_app

APP_URL = "https://animerec.example.org"


def _client(api_redis: redis.Redis, prefix: str, **config: object) -> TestClient:
    settings = ApiConfig(
        prefix=prefix,
        app_url=APP_URL,
        today=lambda: date(2026, 11, 29),
        **config,  # type: ignore[arg-type]
    )
    return TestClient(create_app(lambda: api_redis, settings))


@pytest.fixture
def api(api_redis: redis.Redis, api_prefix: str) -> TestClient:
    publish_world(api_redis, api_prefix)
    return _client(api_redis, api_prefix)


def _ids(api: TestClient, user: str = "Tester", **params: object) -> list[int]:
    response = api.get(f"/v1/users/{user}/recommendations", params=params)
    assert response.status_code == 200, response.text
    return [r["anime_id"] for r in response.json()["recommendations"]]


def test_default_filters(api: TestClient) -> None:
    response = api.get("/v1/users/TESTER/recommendations")
    assert response.status_code == 200
    body = response.json()
    # final season -> the franchise's first entry; upcoming and adult titles out; one Saga only
    assert [r["anime_id"] for r in body["recommendations"]] == [100, 1, 2, 6, 7]
    first = body["recommendations"][0]
    assert first["reason"] == "Watch this before Saga Final Season"
    assert first["reason_anime"]["anime_id"] == 102
    assert first["anime"]["url"] == "https://myanimelist.net/anime/100"
    assert first["anime"]["franchise_id"] == 100 and first["anime"]["franchise_order"] == 1
    assert [r["rank"] for r in body["recommendations"]] == [1, 2, 3, 4, 5]


def test_each_filter_changes_the_list(api: TestClient) -> None:
    assert _ids(api, include_upcoming="true") == [100, 1, 2, 3, 6, 7]
    assert _ids(api, include_adult="true") == [100, 1, 2, 4, 5, 6, 7]
    assert _ids(api, type=["tv"]) == [100, 1, 6, 7]
    assert _ids(api, type=["Movie", "OVA"], include_adult="true") == [103, 2, 4, 5]
    assert _ids(api, exclude_genre=["Action", "comedy"]) == [100, 2]
    assert _ids(api, min_members=100) == [100, 1, 2, 7]
    assert _ids(api, franchise_order="false") == [102, 1, 2, 6, 7]
    assert _ids(api, franchise_order="false", one_per_franchise="false") == [
        102, 1, 2, 6, 100, 7, 103,
    ]  # fmt: skip
    assert _ids(api, limit=2) == [100, 1]
    # Tester's list is not published: nothing to add back (same list)
    assert _ids(api, include_plan_to_watch="true") == [100, 1, 2, 6, 7]


def test_the_users_own_list_is_left_out_and_plan_to_watch_comes_back_when_asked(
    api: TestClient,
) -> None:
    # 102's prequel is not completed and S1 (100) is only planned: the side story, the first
    # entry the user can start with, takes its place; 2 and 100 are planned, out by default
    assert _ids(api, user="planner") == [103, 1, 7]
    response = api.get("/v1/users/Planner/recommendations", params={"include_plan_to_watch": 1})
    body = response.json()["recommendations"]
    assert [r["anime_id"] for r in body] == [100, 1, 2, 7]
    assert body[0]["reason"] == "Watch this before Saga Final Season"
    assert body[2]["anime"]["title"] == "Beta Garden"  # cards come with a list read bare


def test_a_sequel_only_once_its_prequel_is_completed_on_the_list(api: TestClient) -> None:
    assert _ids(api, user="fan_2") == [101, 7]  # S1 completed: S2 is next
    # S1 is being watched: S2 waits; S1 itself is on the list, so the side story stands in
    assert _ids(api, user="watcher") == [103, 1]
    assert _ids(api, user="watcher", franchise_order="false") == [101, 1]


def test_hidden_titles_never_come_back(api: TestClient) -> None:
    assert _ids(api, exclude="100,1") == [103, 2, 6, 7]
    assert _ids(api, exclude=["100", "1", "103"]) == [2, 6, 7]


def test_sequel_whose_prequel_is_not_a_candidate_stays(api: TestClient) -> None:
    # no list published for Fan_3, and S1 is not among their candidates: the model left it
    # out, so it is on their list
    assert _ids(api, user="fan_3") == [101, 7]


def test_unknown_user_gets_404_with_the_crawl_hint(api: TestClient) -> None:
    response = api.get("/v1/users/nobody_here/recommendations")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "not been crawled" in detail["message"]
    # the public app, not the internal crawl service: a visitor asks there, the app has the token
    assert detail["crawl_request"]["url"] == f"{APP_URL}/?user=nobody_here"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/users/a/recommendations", {}),
        ("/v1/users/way_too_long_username_x/recommendations", {}),
        ("/v1/users/bad%20name/recommendations", {}),
        ("/v1/users/Tester/recommendations", {"exclude": "1;2"}),
        ("/v1/users/Tester/recommendations", {"exclude": ",".join(map(str, range(600)))}),
        ("/v1/users/Tester/recommendations", {"limit": 0}),
        ("/v1/users/Tester/recommendations", {"limit": 101}),
        ("/v1/users/Tester/recommendations", {"min_members": -1}),
        ("/v1/users/Tester/recommendations", {"type": "<script>"}),
        ("/v1/users/Tester/recommendations", {"include_adult": "maybe"}),
        ("/v1/anime/0/similar", {}),
        ("/v1/anime/abc/similar", {}),
        ("/v1/anime/search", {"q": "x"}),
        ("/v1/anime/search", {}),
        ("/v1/anime/search", {"q": "x" * 101}),
    ],
)
def test_bad_input_is_422(api: TestClient, path: str, params: dict) -> None:
    response = api.get(path, params=params)
    assert response.status_code == 422, response.text


def test_similar_search_and_freshness(api: TestClient) -> None:
    similar = api.get("/v1/anime/1/similar", params={"limit": 1})
    assert similar.status_code == 200
    assert [s["anime_id"] for s in similar.json()["similar"]] == [2]
    assert similar.json()["similar"][0]["anime"]["title"] == "Beta Garden"
    assert api.get("/v1/anime/6/similar").status_code == 404
    search = api.get("/v1/anime/search", params={"q": "saga"})
    assert search.status_code == 200
    assert search.json()["results"][0]["anime_id"] == 100
    assert api.get("/v1/anime/search", params={"q": "season"}).json()["results"]
    freshness = api.get("/v1/freshness").json()
    assert freshness["model_version"] == "test-model-1"
    assert freshness["counts"]["users"] == 5
    assert freshness["counts"]["user_lists"] == 3


def test_etag_follows_the_live_version(
    api: TestClient, api_redis: redis.Redis, api_prefix: str
) -> None:
    first = api.get("/v1/users/Tester/recommendations")
    tag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = api.get("/v1/users/Tester/recommendations", headers={"If-None-Match": tag})
    assert again.status_code == 304
    other_query = api.get("/v1/users/Tester/recommendations", params={"limit": 3})
    assert other_query.headers["etag"] != tag
    publish_world(api_redis, api_prefix, model_version="test-model-2")
    after = api.get("/v1/users/Tester/recommendations", headers={"If-None-Match": tag})
    assert after.status_code == 200
    assert after.headers["etag"] != tag
    assert api.get("/v1/freshness").json()["model_version"] == "test-model-2"


def test_rate_limit_per_client(api_redis: redis.Redis, api_prefix: str) -> None:
    publish_world(api_redis, api_prefix)
    limited = _client(api_redis, api_prefix, rate_limit="3/minute")
    codes = [limited.get("/v1/freshness").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = limited.get("/v1/freshness")
    assert int(refused.headers["retry-after"]) >= 1


def test_cors_only_for_configured_origins(api_redis: redis.Redis, api_prefix: str) -> None:
    publish_world(api_redis, api_prefix)
    api = _client(api_redis, api_prefix, cors_origins=("https://ext.example",))
    allowed = api.get("/v1/freshness", headers={"Origin": "https://ext.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://ext.example"
    other = api.get("/v1/freshness", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_nothing_published_is_503(api_redis: redis.Redis, api_prefix: str) -> None:
    api = _client(api_redis, api_prefix)
    assert api.get("/v1/freshness").status_code == 503
    assert api.get("/v1/users/Tester/recommendations").status_code == 503
    assert api.get("/v1/anime/search", params={"q": "saga"}).status_code == 503


def test_redis_down_is_503(api_prefix: str) -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    api = TestClient(create_app(lambda: down, ApiConfig(prefix=api_prefix)))
    response = api.get("/v1/users/Tester/recommendations")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"


def test_openapi_spec_lists_every_endpoint(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/v1/users/{username}/recommendations",
        "/v1/anime/{anime_id}/similar",
        "/v1/anime/search",
        "/v1/freshness",
        "/v1/feedback",
        "/v1/go/{anime_id}",
    }
