"""MAL HTML/JSON parsers against the recorded real pages in ../shared/mal_pages/html."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.parsers import ParseResult, build_response, parse_response, route

NOW = datetime(2026, 1, 17, 12, 0, tzinfo=UTC)
MAL = "https://myanimelist.net"


def parse_page(
    pages: Path, name: str, url: str, status: int = 200, base_url: str = MAL
) -> ParseResult:
    body = (pages / "html" / name).read_bytes()
    return parse_response(build_response(url, body, status), NOW, base_url=base_url)


def of_type(result: ParseResult, item_type: str) -> list[dict[str, Any]]:
    return [item for item in result.items if item["item_type"] == item_type]


def test_trigun_main_page(mal_pages_dir: Path) -> None:
    result = parse_page(mal_pages_dir, "anime_6_trigun.html", f"{MAL}/anime/6/Trigun")
    (anime,) = of_type(result, "anime")
    assert anime["anime_id"] == 6 and anime["url"] == f"{MAL}/anime/6"
    assert anime["title"] == "Trigun"
    assert anime["synopsis"].startswith("Vash the Stampede is the man with a $$60,000,000,000")
    assert anime["main_pic"] == "https://cdn.myanimelist.net/images/anime/1130/120002.jpg"
    assert (anime["type"], anime["source_type"], anime["num_episodes"]) == ("TV", "Manga", 26)
    assert anime["status"] == "Finished Airing"
    assert (anime["start_date"], anime["end_date"]) == ("1998-04-01", "1998-09-30")
    assert anime["premiered"] == "Spring 1998"
    assert anime["studios"] == ["Madhouse"]
    assert anime["genres"] == ["Action", "Adventure", "Sci-Fi", "Adult Cast", "Shounen"]
    assert anime["score"] == 8.22 and anime["score_count"] == 396690
    assert (anime["score_rank"], anime["popularity_rank"]) == (394, 264)
    assert (anime["members_count"], anime["favorites_count"]) == (822213, 17375)
    assert anime["rating"] == "PG-13 - Teens 13 or older"
    assert anime["crawl_date"] == "2026-01-17T12:00:00+00:00" and anime["source"] == "mal"
    relations = {(r["animeB"], r["relation_type"]) for r in of_type(result, "anime_relation")}
    assert relations == {(4106, "Side Story"), (52093, "Alternative Version")}  # manga skipped
    assert result.crawled["anime"] == {f"{MAL}/anime/6"}
    assert result.seen["anime"] == {f"{MAL}/anime/4106", f"{MAL}/anime/52093"}
    assert f"{MAL}/anime/6/Trigun/stats" in result.follow
    assert f"{MAL}/anime/6/Trigun/userrecs" in result.follow
    assert f"{MAL}/anime/6/Trigun/reviews?spoiler=on&preliminary=on" in result.follow


def test_relations_in_the_older_table_layout() -> None:
    html = b"""<html><body><div id="content"><h1 class="title-name"><strong>Old</strong></h1>
    <div><span class="dark_text">Type:</span> TV</div>
    <table class="anime_detail_related_anime">
    <tr><td class="ar fw-n borderClass">Adaptation:</td>
        <td class="borderClass"><a href="/manga/1/X">X</a></td></tr>
    <tr><td class="ar fw-n borderClass">Sequel:</td>
        <td class="borderClass"><a href="/anime/5/Y">Y</a>, <a href="/anime/7/Z">Z</a></td></tr>
    <tr><td class="ar fw-n borderClass">Spin-off:</td>
        <td class="borderClass"><a href="/anime/9/W">W</a></td></tr>
    </table></div></body></html>"""
    result = parse_response(build_response(f"{MAL}/anime/4/Old", html), NOW)
    relations = {(r["animeB"], r["relation_type"]) for r in of_type(result, "anime_relation")}
    assert relations == {(5, "Sequel"), (7, "Sequel"), (9, "Spin-Off")}


@pytest.mark.parametrize(
    ("name", "anime_id", "expected"),
    [
        (
            "anime_1_cowboy_bebop_stats.html",
            1,
            {
                "watching_count": 187097,
                "completed_count": 1176230,
                "on_hold_count": 114855,
                "dropped_count": 48355,
                "plan_to_watch_count": 499055,
                "total_count": 2025592,
                "score_10_count": 362350,
                "score_01_count": 2437,
                "favorites_count": 88578,  # the sidebar: what the MAL API source reads it from
            },
        ),
        (
            "anime_37405_dokidoki_little_ooyasan_stats.html",
            37405,
            {
                "watching_count": 4444,
                "total_count": 20848,
                "score_10_count": 1326,
                "favorites_count": 160,
            },
        ),
    ],
)
def test_stats_pages(mal_pages_dir: Path, name: str, anime_id: int, expected: dict) -> None:
    result = parse_page(mal_pages_dir, name, f"{MAL}/anime/{anime_id}/x/stats")
    (stats,) = of_type(result, "anime_stats")
    assert stats["anime_id"] == anime_id
    assert {k: stats[k] for k in expected} == expected
    assert all(stats[f"score_{n:02d}_count"] is not None for n in range(1, 11))
    assert result.seen["profile"]  # the "recently updated by" users


@pytest.mark.parametrize(
    ("name", "anime_id", "rating"),
    [
        ("anime_6_trigun.html", 6, "PG-13 - Teens 13 or older"),
        ("anime_1_cowboy_bebop_stats.html", 1, "R - 17+ (violence & profanity)"),
        ("anime_37405_dokidoki_little_ooyasan_stats.html", 37405, "Rx - Hentai"),
    ],
)
def test_age_rating_from_the_information_rows(
    mal_pages_dir: Path, name: str, anime_id: int, rating: str
) -> None:
    """Every anime sub-page shares the anime page's sidebar: the recorded stats pages hold the
    only real R and Rx ratings, read here as the anime page's parser reads its own rows."""
    result = parse_page(mal_pages_dir, name, f"{MAL}/anime/{anime_id}")
    (anime,) = of_type(result, "anime")
    assert anime["rating"] == rating
    assert not [i for i in result.items if i["item_type"] == "crawl_error"]


def test_an_unknown_age_rating_is_dropped_with_a_note(mal_pages_dir: Path) -> None:
    body = (mal_pages_dir / "html" / "anime_6_trigun.html").read_text()
    marked = body.replace("PG-13 - Teens 13 or older", "X - Only at midnight", 1)
    assert marked != body
    result = parse_response(build_response(f"{MAL}/anime/6", marked.encode()), NOW)
    (anime,) = of_type(result, "anime")
    assert anime["rating"] is None and anime["title"] == "Trigun"  # the rest of the row stays
    (note,) = of_type(result, "crawl_error")
    assert note["reason"].startswith("bounded: ") and "not a MAL age rating" in note["reason"]
    assert (note["parent_kind"], note["parent_id"]) == ("anime", "6")


def test_userrecs_counts_recommenders(mal_pages_dir: Path) -> None:
    url = f"{MAL}/anime/21/One_Piece/userrecs"
    result = parse_page(mal_pages_dir, "anime_21_one_piece_userrecs.html", url)
    recs = of_type(result, "anime_recommendation")
    assert len(recs) == 143
    first = recs[0]
    assert (first["animeA"], first["animeB"], first["num_recommenders"]) == (21, 6702, 76)
    assert first["recommendation_url"] == f"{MAL}/recommendations/anime/21-6702"
    assert all(r["num_recommenders"] >= 1 for r in recs)
    assert len({r["animeB"] for r in recs}) == len(recs)
    assert f"{MAL}/profile/doorotka" in result.seen["profile"]


def test_reviews_page(mal_pages_dir: Path) -> None:
    url = f"{MAL}/anime/1/Cowboy_Bebop/reviews?spoiler=on&preliminary=on"
    result = parse_page(mal_pages_dir, "anime_1_cowboy_bebop_reviews.html", url)
    reviews = of_type(result, "review")
    assert len(reviews) == 20
    first = reviews[0]
    assert first["review_id"] == 7406 and first["user_id"] == "TheLlama"
    assert first["review_date"] == "2008-08-24T05:46:00"
    assert (first["review_num_useful"], first["review_score"]) == (2270, 10)
    assert first["review_tags"] == ["recommended"]
    assert first["review_story_score"] is None  # the 2022+ layout has no sub-scores
    all_tags = {tag for r in reviews for tag in r["review_tags"]}
    assert {"recommended", "mixed-feelings"} <= all_tags
    assert result.follow == [
        f"{MAL}/anime/1/Cowboy_Bebop/reviews?sort=mostvoted&filter_check=&filter_hide="
        "&preliminary=on&spoiler=on&p=2"
    ]
    assert f"{MAL}/profile/TheLlama" in result.seen["profile"]


def test_pictures_page(mal_pages_dir: Path) -> None:
    url = f"{MAL}/anime/22147/Amagi_Brilliant_Park/pics"
    (pics,) = parse_page(mal_pages_dir, "anime_22147_amagi_brilliant_park_pics.html", url).items
    assert pics["item_type"] == "anime_pics" and pics["anime_id"] == 22147
    assert len(pics["pics"]) == 7
    assert pics["pics"][0] == "https://cdn.myanimelist.net/images/anime/7/65293l.jpg"


def test_club_page_only_reports_what_it_shows(mal_pages_dir: Path) -> None:
    result = parse_page(mal_pages_dir, "club_1_cowboy_bebop.html", f"{MAL}/clubs.php?cid=1")
    assert result.items == []
    assert {f"{MAL}/anime/1", f"{MAL}/anime/5", f"{MAL}/anime/4037"} <= result.seen["anime"]
    url = f"{MAL}/clubs.php?action=view&t=members&id=21349"
    members = parse_page(mal_pages_dir, "club_21349_members.html", url)
    assert f"{MAL}/profile/-Abyssal-" in members.seen["profile"]


def test_anime_clubs_page_lists_club_names() -> None:
    html = b"""<html><body><div id="content"><h2>Clubs</h2>
    <a href="/clubs.php?cid=1">Cowboy Bebop</a> <a href="/clubs.php?cid=379">Fantasy League</a>
    </div></body></html>"""
    (item,) = parse_response(build_response(f"{MAL}/anime/1/x/clubs", html), NOW).items
    assert item["clubs"] == ["Cowboy Bebop", "Fantasy League"]


def test_profile_page(mal_pages_dir: Path) -> None:
    result = parse_page(mal_pages_dir, "profile_sandshark.html", f"{MAL}/profile/sandshark")
    (user,) = result.items
    assert user["item_type"] == "user" and user["user_id"] == "sandshark"
    assert user["last_online_date"] == "2026-01-16T14:25:00"  # "Yesterday, 2:25 PM"
    assert user["join_date"] == "2014-02-26"
    counts = [user[f"num_{s}"] for s in ("watching", "completed", "on_hold", "dropped")]
    assert counts == [4, 830, 24, 69] and user["num_plan_to_watch"] == 123
    assert (user["num_days"], user["mean_score"]) == (226.9, 6.69)
    assert user["favorite_anime_ids"] == [43, 889, 17549, 11061, 918, 1210]
    assert user["clubs"] is None  # this profile shows a count, not the clubs
    assert result.crawled["profile"] == {f"{MAL}/profile/sandshark"}
    assert f"{MAL}/profile/morshuwarrior" in result.seen["profile"]
    assert f"{MAL}/anime/58390" in result.seen["anime"]  # last anime updates
    assert f"{MAL}/animelist/sandshark/load.json?status=7&offset=0" in result.follow
    assert f"{MAL}/profile/sandshark/friends" in result.follow


def test_friends_pages_and_paging(mal_pages_dir: Path) -> None:
    url = f"{MAL}/profile/morshuwarrior/friends"
    result = parse_page(mal_pages_dir, "profile_morshuwarrior_friends_2024.html", url)
    friends = of_type(result, "user_user")
    assert len(friends) == 100
    assert friends[0]["userA"] == "morshuwarrior" and friends[0]["userB"] == "database_animal"
    assert friends[0]["friendship_date"] == "2022-11-10T14:25:00"
    assert result.follow == [f"{MAL}/profile/morshuwarrior/friends?p=2"]
    url = f"{MAL}/profile/Nekomata1037/friends"
    last = parse_page(mal_pages_dir, "profile_nekomata1037_friends.html", url)
    assert len(of_type(last, "user_user")) == 39 and last.follow == []


def test_friends_paged_past_the_end_2018_404(mal_pages_dir: Path) -> None:
    name = "profile_morshuwarrior_friends_offset_10000_404_2018.html"
    url = f"{MAL}/profile/morshuwarrior/friends?offset=10000"
    result = parse_page(mal_pages_dir, name, url, status=404)
    assert result.items == [] and result.follow == []  # the end of the list, not an error
    # The same 404 body on a profile page is a real failure.
    body = (mal_pages_dir / "html" / name).read_bytes()
    err = parse_response(build_response(f"{MAL}/profile/morshuwarrior", body, 404), NOW)
    (item,) = err.items
    assert (item["item_type"], item["status_code"], item["reason"]) == (
        "crawl_error",
        404,
        "HTTP 404",
    )


def test_history_page(mal_pages_dir: Path) -> None:
    url = f"{MAL}/history/morshuwarrior/"
    result = parse_page(mal_pages_dir, "history_morshuwarrior.html", url)
    rows = of_type(result, "user_history")
    assert len(rows) == 130
    assert rows[0] == {
        **rows[0],
        "user_id": "morshuwarrior",
        "anime_id": 1676,
        "episode": 4,
        "history_date": "2026-01-17T05:00:00",  # "7 hours ago"
    }
    assert any(r["anime_id"] == 122 and r["history_date"] == "2026-01-11T06:54:00" for r in rows)
    assert f"{MAL}/anime/1676" in result.seen["anime"]


def test_load_json_rows_and_paging(mal_pages_dir: Path) -> None:
    url = f"{MAL}/animelist/Xinil/load.json?status=7&order=1&offset=0"
    result = parse_page(mal_pages_dir, "animelist_Xinil_load_status7_offset0.rows.json", url)
    rows = of_type(result, "user_anime")
    assert len(rows) == 7 and result.follow == []  # a short page: the last one
    bebop = rows[0]
    assert (bebop["user_id"], bebop["anime_id"], bebop["score"]) == ("Xinil", 1, 10)
    assert (bebop["status"], bebop["progress"]) == ("completed", 26)
    assert bebop["last_interaction_date"] == "2009-08-10T23:43:11"
    assert rows[1]["status"] == "watching" and rows[1]["progress"] == 623


@pytest.mark.parametrize(
    "name",
    ["animelist_loadjson_rows_deno_test_2021.json", "animelist_loadjson_kuristina_2017.json"],
)
def test_load_json_rows_of_other_eras(mal_pages_dir: Path, name: str) -> None:
    url = f"{MAL}/animelist/someone/load.json?status=7&offset=0"
    rows = of_type(parse_page(mal_pages_dir, name, url), "user_anime")
    assert rows and all(
        r["anime_id"] > 0
        and r["status"] in {"watching", "completed", "on_hold", "dropped", "plan_to_watch"}
        for r in rows
    )


def test_load_json_full_page_asks_for_the_next_offset() -> None:
    rows = (
        b"[" + b",".join(b'{"status":2,"score":7,"anime_id":%d}' % i for i in range(1, 301)) + b"]"
    )
    url = "http://127.0.0.1:9/animelist/Xinil/load.json?status=7&offset=300"
    result = parse_response(build_response(url, rows), NOW, base_url="http://127.0.0.1:9")
    assert len(result.items) == 300
    assert result.follow == [f"{MAL}/animelist/Xinil/load.json?status=7&offset=600"]


def test_load_json_400_for_unknown_user_is_an_error_item(mal_pages_dir: Path) -> None:
    url = f"{MAL}/animelist/nobody_here/load.json?status=7&offset=0"
    result = parse_page(mal_pages_dir, "animelist_nonexistent_user_load_400.json", url, 400)
    (error,) = result.items
    assert error["item_type"] == "crawl_error" and error["status_code"] == 400
    assert error["url"] == url and "invalid request" in error["reason"]


def test_unparsed_pages_are_unroutable() -> None:
    assert route(f"{MAL}/anime/21/One_Piece/moreinfo") is None
    assert route(f"{MAL}/anime/21/One_Piece/episode") is None
    assert route(f"{MAL}/anime/6/Trigun") is not None
