"""The replica's MAL API v2: client id, paging, nsfw, faults; its bodies parse to the HTML items."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from crawler.parsers import ParseResult, build_response, parse_response
from crawler.urls import (
    mal_url,
    malapi_anime_url,
    malapi_animelist_url,
    to_fetch_url,
)
from mal_replica.export import processed_tables
from mal_replica.server import ReplicaHandle, run_replica
from mal_replica.world import World

NOW = datetime(2026, 1, 17, tzinfo=UTC)
CLIENT = {"X-MAL-CLIENT-ID": "test-client"}


def fetch_parse(
    http: httpx.Client, replica: ReplicaHandle, url: str, base: str, headers: dict | None = None
) -> ParseResult:
    fetch = to_fetch_url(url, base)
    response = http.get(fetch, headers=headers or {})
    return parse_response(
        build_response(fetch, response.content, response.status_code), NOW, base_url=base
    )


def of_type(result: ParseResult, item_type: str) -> list[dict[str, Any]]:
    return [item for item in result.items if item["item_type"] == item_type]


def whole_list(http: httpx.Client, replica: ReplicaHandle, username: str) -> tuple[list, int]:
    """Every user_anime row the API gives, following the parser's paging; and the pages read."""
    rows: list[dict[str, Any]] = []
    url: str | None = malapi_animelist_url(username)
    pages = 0
    while url is not None:
        result = fetch_parse(http, replica, url, replica.malapi_base_url, CLIENT)
        assert not of_type(result, "crawl_error"), result.items[:1]
        rows += of_type(result, "user_anime")
        pages += 1
        url = result.follow[0] if result.follow else None
    return rows, pages


def html_list(http: httpx.Client, replica: ReplicaHandle, username: str) -> tuple[list, int]:
    rows: list[dict[str, Any]] = []
    url: str | None = mal_url(f"/animelist/{username}/load.json", status=7, offset=0)
    pages = 0
    while url is not None:
        result = fetch_parse(http, replica, url, replica.base_url)
        rows += of_type(result, "user_anime")
        pages += 1
        url = result.follow[0] if result.follow else None
    return rows, pages


def _comparable(rows: list[dict[str, Any]]) -> set[tuple]:
    keys = ("user_id", "anime_id", "score", "status", "progress", "last_interaction_date")
    return {tuple(row[k] for k in keys) for row in rows}


def test_requests_without_a_client_id_get_malapi_401(
    client: httpx.Client, replica: ReplicaHandle, world: World
) -> None:
    anime_id = int(world.anime["anime_id"].iat[0])
    path = to_fetch_url(malapi_anime_url(anime_id), replica.malapi_base_url)
    refused = client.get(path)
    assert refused.status_code == 401 and set(refused.json()) == {"error", "message"}
    assert client.get(path, headers=CLIENT).status_code == 200
    replica.app.malapi_client_ids = frozenset({"only-this-one"})
    try:
        assert client.get(path, headers=CLIENT).status_code == 401
    finally:
        replica.app.malapi_client_ids = None
    missing = client.get(
        to_fetch_url(malapi_anime_url(999_999), replica.malapi_base_url), headers=CLIENT
    )
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


@pytest.fixture(scope="module")
def long_lists() -> Iterator[ReplicaHandle]:
    """A world whose longest lists outgrow load.json's 300-row page."""
    with run_replica(n_users=80, n_anime=800, seed=3, long_list_share=0.1) as handle:
        yield handle


def test_lists_match_load_json_and_the_truth_in_fewer_pages(long_lists: ReplicaHandle) -> None:
    replica = long_lists
    client = httpx.Client(timeout=10.0)
    truth = processed_tables(replica.world)["user_anime"]
    sizes = truth.groupby("user_id", observed=True).size().sort_values()
    longest, typical = str(sizes.index[-1]), str(sizes.index[len(sizes) // 2])
    assert sizes.iloc[-1] > 300, "the test world needs a list longer than load.json's page"
    for username in (longest, typical):
        api_rows, api_pages = whole_list(client, replica, username)
        mal_rows, mal_pages = html_list(client, replica, username)
        assert _comparable(api_rows) == _comparable(mal_rows)
        assert len(api_rows) == int(sizes[username])
        mine = truth[truth["user_id"] == username]
        assert {r["anime_id"] for r in api_rows} == set(mine["anime_id"])
    assert (api_pages, mal_pages) == (1, 1)
    _, long_api_pages = whole_list(client, replica, longest)
    assert long_api_pages < html_list(client, replica, longest)[1]
    client.close()


def test_paging_with_small_limits_and_nsfw(
    client: httpx.Client, replica: ReplicaHandle, world: World
) -> None:
    truth = processed_tables(world)["user_anime"]
    username = str(truth.groupby("user_id", observed=True).size().idxmax())
    base = f"{replica.malapi_base_url}/users/{username}/animelist"
    whole = client.get(base, params={"limit": 1000, "nsfw": "true"}, headers=CLIENT).json()
    assert "next" not in whole["paging"]
    paged: list[int] = []
    url: str | None = f"{base}?limit=50&nsfw=true&fields=list_status"
    while url:
        body = client.get(url, headers=CLIENT).json()
        paged += [entry["node"]["id"] for entry in body["data"]]
        url = body["paging"].get("next")
    assert paged == [entry["node"]["id"] for entry in whole["data"]]
    safe = client.get(base, params={"limit": 1000}, headers=CLIENT).json()
    assert len(safe["data"]) < len(whole["data"]), "gray-rated entries need nsfw=true"
    too_many = client.get(base, params={"limit": 1001}, headers=CLIENT)
    assert too_many.status_code == 400


def test_anime_details_parse_to_the_html_pages_items(
    client: httpx.Client, replica: ReplicaHandle, world: World
) -> None:
    different_fields: dict[str, int] = {}
    for anime_id in world.anime["anime_id"].iloc[:60].tolist():
        api = fetch_parse(
            client, replica, malapi_anime_url(anime_id), replica.malapi_base_url, CLIENT
        )
        html = fetch_parse(client, replica, mal_url(f"/anime/{anime_id}"), replica.base_url)
        (mine,) = of_type(api, "anime")
        (theirs,) = of_type(html, "anime")
        for name, value in theirs.items():
            if name not in ("source", "crawl_date", "favorites_count") and mine[name] != value:
                different_fields[name] = different_fields.get(name, 0) + 1
        relations = {(r["animeB"], r["relation_type"]) for r in of_type(api, "anime_relation")}
        assert relations == {
            (r["animeB"], r["relation_type"]) for r in of_type(html, "anime_relation")
        }
        recs = fetch_parse(
            client, replica, mal_url(f"/anime/{anime_id}/_/userrecs"), replica.base_url
        )
        keys = ("animeB", "recommendation_url", "num_recommenders")
        assert {tuple(r[k] for k in keys) for r in of_type(api, "anime_recommendation")} == {
            tuple(r[k] for k in keys) for r in of_type(recs, "anime_recommendation")
        }
        pics = fetch_parse(client, replica, mal_url(f"/anime/{anime_id}/_/pics"), replica.base_url)
        assert of_type(api, "anime_pics")[0]["pics"] == of_type(pics, "anime_pics")[0]["pics"]
    assert different_fields == {}


@pytest.mark.parametrize(
    ("fault", "status", "error"),
    [
        ("forbidden", 403, "forbidden"),
        ("rate_limit", 429, "too_many_requests"),
        ("not_found", 404, "not_found"),
    ],
)
def test_faults_answer_in_malapi_error_bodies(
    client: httpx.Client,
    replica: ReplicaHandle,
    world: World,
    fault: str,
    status: int,
    error: str,
) -> None:
    anime_id = int(world.anime["anime_id"].iat[0])
    path = f"{replica.malapi_base_url.removeprefix(replica.base_url)}/anime/{anime_id}"
    replica.add_fault_rule(path, fault)
    response = client.get(path, headers=CLIENT)
    assert response.status_code == status and response.json()["error"] == error
    if fault == "forbidden":
        assert response.json()["message"] == "DoS detected"
