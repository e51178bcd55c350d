"""One set of selectors reads both MAL and the replica.

Each extractor below uses only the landmarks listed in ../shared/mal_pages/README.md ("Facts
about the pages"). It runs on a recorded real page and on the replica's page of the same kind,
and both must yield the same kinds of fields (ids, counts, dates, names), so parsers written
against MAL work offline against the replica.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from parsel import Selector

from mal_replica.server import ReplicaHandle
from mal_replica.world import World

ANIME_ID = re.compile(r"/anime/(\d+)")
ANIME_PHP_ID = re.compile(r"anime\.php\?id=(\d+)")
PROFILE = re.compile(r"/profile/([A-Za-z0-9_\-]+)")


def number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def info_rows(page: Selector) -> dict[str, str]:
    rows = {}
    for row in page.xpath('//span[@class="dark_text"]/..'):
        label = row.css("span.dark_text::text").get("").strip().rstrip(":")
        value = " ".join(t.strip() for t in row.xpath(".//text()").getall()).strip()
        rows[label] = value.replace(label + ":", "", 1).strip()
    return rows


def anime_fields(page: Selector) -> dict:
    related = [
        int(m.group(1))
        for href in page.css(
            "div.related-entries div.entry a::attr(href), table.entries-table a::attr(href)"
        ).getall()
        if (m := ANIME_ID.search(href))
    ]
    relation_labels = [
        t.strip().rstrip(":")
        for t in page.css("table.entries-table td.borderClass.nowrap::text").getall()
        if t.strip()
    ]
    return {
        "title": page.css("h1.title-name strong::text").get("").strip(),
        "score": float(page.css("[itemprop=ratingValue]::text").get()),
        "score_count": int(page.css("[itemprop=ratingCount]::text").get()),
        "ranked": number(page.css("span.numbers.ranked strong::text").get()),
        "popularity": number(page.css("span.numbers.popularity strong::text").get()),
        "members": number(page.css("span.numbers.members strong::text").get()),
        "genres": page.css("span[itemprop=genre]::text").getall(),
        "synopsis": " ".join(page.css("p[itemprop=description] ::text").getall()).strip(),
        "main_pic": page.css("img[itemprop=image]::attr(data-src)").get(),
        "info": info_rows(page),
        "related": related,
        "relation_labels": relation_labels,
    }


def stats_fields(page: Selector) -> dict:
    info = info_rows(page)
    votes = [
        int(m.group(1))
        for t in page.css("table.score-stats small::text").getall()
        if (m := re.search(r"\((\d+) votes\)", t))
    ]
    members = page.css("table.table-recently-updated a::attr(href)").re(PROFILE.pattern)
    return {
        "statuses": {
            k: number(info[k])
            for k in ("Watching", "Completed", "On-Hold", "Dropped", "Plan to Watch", "Total")
        },
        "votes": votes,
        "members": members,
    }


def userrecs_fields(page: Selector) -> list[dict]:
    recs = []
    for block in page.xpath('//div[@class="borderClass"][.//div[@class="picSurround"]]'):
        href = block.css("div.picSurround a::attr(href)").get()
        more = block.css("a.js-similar-recommendations-button strong::text").get()
        recs.append(
            {
                "anime_id": int(ANIME_ID.search(href).group(1)),
                "recommenders": 1 + (int(more) if more else 0),
                "permalink": block.css('a[title="Permalink"]::attr(href)').get(),
                "first_by": block.css("div.spaceit_pad a[href*='/profile/']::text").get(),
            }
        )
    return recs


def reviews_fields(page: Selector) -> list[dict]:
    reviews = []
    for element in page.css("div.review-element"):
        reactions = json.loads(element.attrib["data-reactions"])
        reviews.append(
            {
                "reactions": int(reactions["num"]),
                "user": element.css("div.username a::text").get("").strip(),
                "date": datetime.strptime(
                    element.css("div.update_at::text").get("").strip(), "%b %d, %Y"
                ),
                "score": int(element.css("div.rating span.num::text").get()),
                "tags": element.css("div.tags div.tag::attr(class)").getall(),
            }
        )
    return reviews


def profile_fields(page: Selector) -> dict:
    status = {
        li.css("span.user-status-title::text").get("").strip(): li.css(
            "span.user-status-data::text"
        ).get("")
        for li in page.css("ul.user-status li")
    }
    counts = {
        li.css("a::text").get("").strip(): number(li.css("span::text").get())
        for li in page.css("div.stats.anime ul.stats-status li")
    }
    block = " ".join(page.css("div.stats.anime ::text").getall())
    days = float(re.search(r"Days:\s*([\d,.]+)", block).group(1).replace(",", ""))
    mean = float(re.search(r"Mean Score:\s*([\d.]+)", block).group(1))
    favorites = [
        int(m.group(1))
        for href in page.css("#anime_favorites li.btn-fav a::attr(href)").getall()
        if (m := ANIME_ID.search(href))
    ]
    return {
        "last_online": status.get("Last Online"),
        "joined": datetime.strptime(status["Joined"], "%b %d, %Y"),
        "counts": counts,
        "days": days,
        "mean": mean,
        "favorites": favorites,
        "friends_link": page.css("a[href$='/friends']::text").re_first(r"All \((\d+)\)"),
    }


def friends_fields(page: Selector) -> list[dict]:
    friends = []
    for box in page.css("div.boxlist-container.friend div.boxlist"):
        texts = [t.strip() for t in box.css("div.fn-grey2::text").getall()]
        since = next((t for t in texts if t.startswith("Friends since")), None)
        friends.append(
            {
                "name": box.css("div.title a::text").get("").strip(),
                "since": datetime.strptime(since[len("Friends since ") :], "%b %d, %Y %I:%M %p")
                if since
                else None,
            }
        )
    return friends


def history_fields(page: Selector) -> list[dict]:
    rows = []
    for row in page.css("div.history_content_wrapper tr"):
        href = row.css("a::attr(href)").get()
        if not href:
            continue
        rows.append(
            {
                "anime_id": int(ANIME_PHP_ID.search(href).group(1)),
                "episode": int(row.css("strong::text").get()),
                "when": row.css("td[align=right]::text").get("").strip(),
            }
        )
    return rows


# ------------------------------------------------------------------------------------------------


def real(mal_pages_dir: Path, name: str) -> Selector:
    return Selector((mal_pages_dir / "html" / name).read_text(encoding="utf-8"))


def served(replica: ReplicaHandle, path: str) -> Selector:
    response = httpx.get(replica.base_url + path, timeout=10)
    assert response.status_code == 200, path
    return Selector(response.text)


def anime_path(world: World, pos: int, section: str = "") -> str:
    a = world.anime
    path = f"/anime/{a['anime_id'].iat[pos]}/{a['slug'].iat[pos]}"
    return f"{path}/{section}" if section else path


def pick_anime_with_rich_relations(world: World) -> int:
    rel = world.relations
    tiles = set(rel.loc[rel["relation_type"].isin(["Sequel", "Prequel"]), "a"])
    table = set(rel.loc[~rel["relation_type"].isin(["Sequel", "Prequel"]), "a"])
    scored = set(np.nonzero(world.anime["score_count"].to_numpy() > 0)[0])
    return min((tiles & table & scored) or (table & scored))


def pick_user(world: World) -> int:
    u = world.users
    fav = set(world.favorites["user"])
    friends = set(world.friendships["a"]) | set(world.friendships["b"])
    hist = set(world.history["user"])
    candidates = sorted(fav & friends & hist)
    return max(candidates, key=lambda i: u["total_entries"].iat[i])


def test_anime_page_landmarks(mal_pages_dir, replica: ReplicaHandle, world: World) -> None:
    mal = anime_fields(real(mal_pages_dir, "anime_6_trigun.html"))
    pos = pick_anime_with_rich_relations(world)
    ours = anime_fields(served(replica, anime_path(world, pos)))
    for fields in (mal, ours):
        assert fields["title"] and fields["synopsis"] and fields["main_pic"]
        assert 1 <= fields["score"] <= 10 and fields["score_count"] > 0
        assert fields["ranked"] > 0 and fields["popularity"] > 0 and fields["members"] > 0
        assert fields["genres"] and fields["related"] and fields["relation_labels"]
        labels = "Type Episodes Status Aired Studios Source Duration Rating Score Ranked"
        for label in [*labels.split(), "Popularity", "Members", "Favorites"]:
            assert label in fields["info"], label
        assert number(fields["info"]["Members"]) == fields["members"]
    a = world.anime
    assert ours["title"] == a["title"].iat[pos]
    assert ours["score_count"] == a["score_count"].iat[pos]
    assert ours["members"] == a["members_count"].iat[pos]
    assert set(ours["genres"]) == set(a["genres"].iat[pos])
    expected_related = set(world.relations.loc[world.relations["a"] == pos, "b"])
    assert set(ours["related"]) == set(a["anime_id"].to_numpy()[list(expected_related)])


def test_stats_page_landmarks(mal_pages_dir, replica: ReplicaHandle, world: World) -> None:
    mal = stats_fields(real(mal_pages_dir, "anime_1_cowboy_bebop_stats.html"))
    pos = int(np.argmax(world.anime["members_count"].to_numpy()))
    ours = stats_fields(served(replica, anime_path(world, pos, "stats")))
    for fields in (mal, ours):
        parts = [v for k, v in fields["statuses"].items() if k != "Total"]
        assert sum(parts) == fields["statuses"]["Total"]
        assert len(fields["votes"]) == 10 and sum(fields["votes"]) > 0
        assert fields["members"]
    assert ours["statuses"]["Total"] == world.anime["total_count"].iat[pos]
    assert sum(ours["votes"]) == world.anime["score_count"].iat[pos]


def test_userrecs_page_landmarks(mal_pages_dir, replica: ReplicaHandle, world: World) -> None:
    mal = userrecs_fields(real(mal_pages_dir, "anime_21_one_piece_userrecs.html"))
    recs = world.recommendations
    row = int(np.argmax(recs["num_recommenders"].to_numpy()))
    pos = int(recs["a"].iat[row])
    ours = userrecs_fields(served(replica, anime_path(world, pos, "userrecs")))
    for fields in (mal, ours):
        assert fields and all(r["first_by"] for r in fields)
        assert any(r["recommenders"] > 1 for r in fields)
        assert all(re.search(r"/recommendations/anime/\d+-\d+$", r["permalink"]) for r in fields)
    other_id = int(world.anime["anime_id"].iat[int(recs["b"].iat[row])])
    match = [r for r in ours if r["anime_id"] == other_id]
    assert match and match[0]["recommenders"] == recs["num_recommenders"].iat[row]


def test_reviews_page_landmarks(mal_pages_dir, replica: ReplicaHandle, world: World) -> None:
    mal = reviews_fields(real(mal_pages_dir, "anime_1_cowboy_bebop_reviews.html"))
    pos = int(world.reviews["anime"].value_counts().index[0])
    ours = reviews_fields(served(replica, anime_path(world, pos, "reviews")))
    for fields in (mal, ours):
        assert fields
        for review in fields:
            assert review["user"] and review["reactions"] >= 0 and 1 <= review["score"] <= 10
            assert any(
                t in tag
                for tag in review["tags"]
                for t in ("recommended", "mixed-feelings", "not-recommended")
            )
    assert len(ours) == min(20, int((world.reviews["anime"] == pos).sum()))


def test_profile_page_landmarks(mal_pages_dir, replica: ReplicaHandle, world: World) -> None:
    mal = profile_fields(real(mal_pages_dir, "profile_sandshark.html"))
    upos = pick_user(world)
    ours = profile_fields(served(replica, f"/profile/{world.users['username'].iat[upos]}"))
    for fields in (mal, ours):
        assert fields["last_online"]
        assert set(fields["counts"]) == {
            "Watching", "Completed", "On-Hold", "Dropped", "Plan to Watch"
        }  # fmt: skip
        assert fields["days"] >= 0 and 0 <= fields["mean"] <= 10
        assert fields["favorites"] and fields["friends_link"]
    u = world.users
    assert ours["counts"]["Completed"] == u["num_completed"].iat[upos]
    assert ours["mean"] == pytest.approx(u["mean_score"].iat[upos])
    assert ours["days"] == pytest.approx(u["num_days"].iat[upos])


def test_friends_page_landmarks(mal_pages_dir, replica: ReplicaHandle, world: World) -> None:
    mal = friends_fields(real(mal_pages_dir, "profile_nekomata1037_friends.html"))
    upos = pick_user(world)
    name = world.users["username"].iat[upos]
    ours = friends_fields(served(replica, f"/profile/{name}/friends"))
    for fields in (mal, ours):
        assert fields and all(f["name"] for f in fields)
        assert sum(f["since"] is not None for f in fields) >= 0.9 * len(fields)
    f = world.friendships
    expected = int(((f["a"] == upos) | (f["b"] == upos)).sum())
    assert len(ours) == min(expected, 100)


def test_history_page_landmarks(mal_pages_dir, replica: ReplicaHandle, world: World) -> None:
    mal = history_fields(real(mal_pages_dir, "history_morshuwarrior.html"))
    upos = pick_user(world)
    ours = history_fields(served(replica, f"/history/{world.users['username'].iat[upos]}/anime"))
    for fields in (mal, ours):
        assert fields and all(r["episode"] >= 1 and r["when"] for r in fields)
    assert len(ours) == int((world.history["user"] == upos).sum())


def test_load_json_rows_have_the_real_keys_and_types(
    mal_pages_dir, replica: ReplicaHandle, world: World
) -> None:
    mal_rows = json.loads(
        (mal_pages_dir / "html" / "animelist_Xinil_load_status7_offset0.rows.json").read_text()
    )
    upos = pick_user(world)
    name = world.users["username"].iat[upos]
    response = httpx.get(f"{replica.base_url}/animelist/{name}/load.json?status=7&offset=0")
    ours = response.json()
    assert response.status_code == 200 and ours
    assert set(mal_rows[0]) <= set(ours[0]), set(mal_rows[0]) - set(ours[0])
    for key in ("status", "score", "num_watched_episodes", "anime_id", "updated_at",
                "anime_num_episodes", "anime_airing_status"):  # fmt: skip
        assert isinstance(ours[0][key], int) and isinstance(mal_rows[0][key], int), key
    missing = httpx.get(f"{replica.base_url}/animelist/no_such_user_x/load.json?offset=0")
    recorded = (mal_pages_dir / "html" / "animelist_nonexistent_user_load_400.json").read_text()
    assert missing.status_code == 400 and missing.json() == json.loads(recorded)


def test_friends_past_the_end_is_a_404_with_the_profile_layout(
    mal_pages_dir, replica: ReplicaHandle, world: World
) -> None:
    mal = real(mal_pages_dir, "profile_morshuwarrior_friends_offset_10000_404_2018.html")
    name = world.users["username"].iat[pick_user(world)]
    response = httpx.get(f"{replica.base_url}/profile/{name}/friends?offset=10000")
    assert response.status_code == 404
    ours = Selector(response.text)
    for page in (mal, ours):
        assert "No friends found" in " ".join(page.css("div.majorPad::text").getall())
        assert page.css("ul.user-status li")
