"""The replica over real HTTP: URL shapes, paging, redirects, errors, images, counters."""

from __future__ import annotations

import io
import re

import httpx
import numpy as np
from parsel import Selector
from PIL import Image

from mal_replica.server import ReplicaHandle, run_replica
from mal_replica.world import World


def anime_path(world: World, pos: int, section: str = "") -> str:
    path = f"/anime/{world.anime['anime_id'].iat[pos]}/{world.anime['slug'].iat[pos]}"
    return f"{path}/{section}" if section else path


def test_links_point_at_the_replica_itself(client: httpx.Client, replica: ReplicaHandle) -> None:
    page = Selector(client.get("/topanime.php").text)
    links = page.css("table.top-ranking-table h3 a::attr(href)").getall()
    assert len(links) == 50
    assert all(link.startswith(replica.base_url + "/anime/") for link in links)
    assert client.get(links[0]).status_code == 200


def test_topanime_pages_through_every_ranked_anime(client, world: World) -> None:
    seen, limit = [], 0
    while True:
        page = Selector(client.get(f"/topanime.php?limit={limit}").text)
        ids = page.css("tr.ranking-list h3 a::attr(href)").re(r"/anime/(\d+)/")
        seen += [int(i) for i in ids]
        next_link = page.css("a.next::attr(href)").get()
        if not next_link:
            break
        limit = int(re.search(r"limit=(\d+)", next_link).group(1))
    ranked = world.anime[world.anime["score_rank"] > 0].sort_values("score_rank")
    assert seen == ranked["anime_id"].tolist()
    popular = Selector(client.get("/topanime.php?type=bypopularity").text)
    first = popular.css("tr.ranking-list h3 a::attr(href)").re_first(r"/anime/(\d+)/")
    top = world.anime.loc[world.anime["popularity_rank"] == 1, "anime_id"].iat[0]
    assert int(first) == top


def test_anime_id_only_and_anime_php_urls(client, world: World) -> None:
    anime_id = int(world.anime["anime_id"].iat[5])
    assert client.get(f"/anime/{anime_id}").status_code == 200
    moved = client.get(f"/anime.php?id={anime_id}")
    assert moved.status_code == 301
    assert moved.headers["location"].endswith(anime_path(world, 5))
    assert client.get("/anime/99999999/Nothing").status_code == 404
    assert client.get("/anime.php?id=abc").status_code == 404
    assert "404 Not Found" in client.get("/no/such/page").text


def test_profiles_are_case_insensitive_and_unknown_users_404(client, world: World) -> None:
    name = world.users["username"].iat[3]
    assert client.get(f"/profile/{name.upper()}").status_code == 200
    assert client.get("/profile/zz_nobody_zz").status_code == 404
    assert client.get("/jikan/v4/users/zz_nobody_zz/full").status_code == 404


def test_load_json_pages_by_300_rows() -> None:
    with run_replica(n_users=30, n_anime=2000, seed=2, mean_list_size=1500.0) as replica:
        world = replica.world
        upos = int(np.argmax(world.users["total_entries"].to_numpy()))
        total = int(world.users["total_entries"].iat[upos])
        assert total > 300
        name = world.users["username"].iat[upos]
        rows, offset = [], 0
        with httpx.Client(base_url=replica.base_url) as client:
            while True:
                page = client.get(f"/animelist/{name}/load.json?status=7&offset={offset}").json()
                assert len(page) <= 300
                rows += page
                if len(page) < 300:
                    break
                offset += 300
            completed = client.get(f"/animelist/{name}/load.json?status=2&offset=0").json()
        assert len(rows) == total
        assert len({r["anime_id"] for r in rows}) == total
        assert all(r["status"] == 2 for r in completed)
        assert len(completed) == min(300, int(world.users["num_completed"].iat[upos]))


def test_reviews_and_stats_members_are_paged(client, world: World) -> None:
    pos = int(world.reviews["anime"].value_counts().index[0])
    count = int((world.reviews["anime"] == pos).sum())
    collected, page_no = 0, 1
    while True:
        page = Selector(client.get(anime_path(world, pos, "reviews") + f"?p={page_no}").text)
        collected += len(page.css("div.review-element"))
        more = page.css("a[data-ga-click-type=review-more-reviews]::attr(href)").get()
        if not more:
            break
        page_no = int(re.search(r"p=(\d+)", more).group(1))
    assert collected == count
    busiest = int(np.argmax(world.anime["members_count"].to_numpy()))
    members = int(world.anime["members_count"].iat[busiest])
    stats = Selector(client.get(anime_path(world, busiest, "stats")).text)
    assert len(stats.css("table.table-recently-updated tr")) == 1 + min(75, members)
    if members > 75:
        assert stats.css("a[href*='stats?show=75']")


def test_friends_are_paged_with_p_and_offset() -> None:
    with run_replica(n_users=400, n_anime=100, seed=4, mean_friends=150.0) as replica:
        world = replica.world
        f = world.friendships
        degree = np.bincount(np.r_[f["a"], f["b"]], minlength=len(world.users))
        upos = int(np.argmax(degree))
        assert degree[upos] > 100
        name = world.users["username"].iat[upos]
        with httpx.Client(base_url=replica.base_url) as client:
            first = Selector(client.get(f"/profile/{name}/friends").text)
            second = Selector(client.get(f"/profile/{name}/friends?p=2").text)
            by_offset = Selector(client.get(f"/profile/{name}/friends?offset=100").text)
            assert first.css("a[href$='friends?p=2']")
            names = first.css("div.boxlist div.title a::text").getall()
            names += second.css("div.boxlist div.title a::text").getall()
            assert len(names) == degree[upos] == len(set(names))
            assert (
                by_offset.css("div.boxlist div.title a::text").getall()
                == second.css("div.boxlist div.title a::text").getall()
            )
            assert client.get(f"/profile/{name}/friends?p=99").status_code == 404
            api = client.get(f"/jikan/v4/users/{name}/friends?page=2").json()
            assert not api["pagination"]["has_next_page"]
            assert len(api["data"]) == degree[upos] - 100


def test_robots_txt_and_users_listing(client, world: World) -> None:
    robots = client.get("/robots.txt")
    assert robots.status_code == 200 and "Disallow: /_replica/" in robots.text
    first = Selector(client.get("/users.php").text).css("a[href*='/profile/']::text").getall()
    second = Selector(client.get("/users.php").text).css("a[href*='/profile/']::text").getall()
    assert len(first) == 20 and first != second
    assert set(first) <= set(world.users["username"])


def test_images_are_real_jpegs_and_unknown_ones_404(client, world: World) -> None:
    page = Selector(client.get(anime_path(world, 0, "pics")).text)
    urls = page.css("a.js-picture-gallery::attr(href)").getall()
    assert len(urls) == int((world.pictures["anime"] == 0).sum())
    large = client.get(urls[0])
    assert large.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(large.content)).format == "JPEG"
    small = client.get(urls[0].replace("l.jpg", ".jpg"))
    assert Image.open(io.BytesIO(small.content)).size < Image.open(io.BytesIO(large.content)).size
    assert client.get("/images/anime/1/1.jpg").status_code == 404


def test_request_counters_by_page_type(client, replica: ReplicaHandle, world: World) -> None:
    replica.reset_stats()
    name = world.users["username"].iat[0]
    client.get(anime_path(world, 1))
    client.get(anime_path(world, 1, "stats"))
    client.get(f"/profile/{name}")
    client.get(f"/profile/{name}")
    client.get("/profile/zz_nobody_zz")
    stats = client.get("/_replica/stats").json()
    assert stats["by_page_type"] == {"anime": 1, "anime_stats": 1, "profile": 3}
    assert stats["by_page_type_status"]["profile"] == {"200": 2, "404": 1}
    log = client.get("/_replica/log?n=2").json()
    assert [entry["page_type"] for entry in log] == ["profile", "profile"]
    assert client.delete("/_replica/stats").json()["total"] == 0
