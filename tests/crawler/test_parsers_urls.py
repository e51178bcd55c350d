"""crawler.urls: canonical URLs, ids from paths on any host, page types, host rewriting."""

from __future__ import annotations

import pytest

from crawler.urls import (
    InvalidUrlError,
    InvalidUsernameError,
    anime_url,
    canonicalize,
    page_type,
    parse_url,
    profile_url,
    to_canonical_host,
    to_fetch_url,
    validate_username,
    with_query,
)

REPLICA = "http://127.0.0.1:8765"


def test_canonical_urls() -> None:
    assert anime_url(6) == "https://myanimelist.net/anime/6"
    assert profile_url("sandshark") == "https://myanimelist.net/profile/sandshark"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://myanimelist.net/anime/6/Trigun", "anime"),
        ("https://myanimelist.net/anime/6", "anime"),
        ("http://127.0.0.1:8765/anime/6/Trigun", "anime"),
        ("https://myanimelist.net/anime.php?id=1676", "anime"),
        ("https://myanimelist.net/anime/1/Cowboy_Bebop/stats", "anime_stats"),
        ("https://myanimelist.net/anime/1/x/reviews?p=2", "anime_reviews"),
        ("https://myanimelist.net/anime/21/One_Piece/userrecs", "anime_userrecs"),
        ("https://myanimelist.net/anime/22147/A/pics", "anime_pics"),
        ("https://myanimelist.net/anime/6/Trigun/clubs", "anime_clubs"),
        ("https://myanimelist.net/anime/21/One_Piece/episode/1", None),
        ("https://myanimelist.net/anime/21/One_Piece/moreinfo", None),
        ("https://myanimelist.net/profile/sandshark", "profile"),
        ("https://myanimelist.net/profile/morshuwarrior/friends?offset=10000", "profile_friends"),
        ("https://myanimelist.net/history/morshuwarrior/", "history"),
        ("https://myanimelist.net/history/morshuwarrior/anime", "history"),
        ("https://myanimelist.net/animelist/Xinil/load.json?status=7&offset=0", "animelist"),
        ("https://myanimelist.net/clubs.php?cid=1", "club"),
        ("https://myanimelist.net/topanime.php?limit=50", "top_anime"),
        ("https://api.jikan.moe/v4/anime/6/full", "jikan_anime"),
        ("http://127.0.0.1:8765/jikan/v4/anime/6/statistics", "jikan_anime_stats"),
        ("https://api.jikan.moe/v4/users/nekomata1037/history/anime", "jikan_user_history"),
        ("https://api.jikan.moe/v4/users/a/full", None),  # 1-char username
        ("https://example.com/", None),
        ("not a url", None),
    ],
)
def test_page_type(url: str, expected: str | None) -> None:
    assert page_type(url) == expected


def test_ids_come_from_paths_not_hosts() -> None:
    info = parse_url("http://replica.local:9/anime/37405/Dokidoki/stats")
    assert info is not None and info.anime_id == 37405
    assert info.canonical == "https://myanimelist.net/anime/37405"
    assert canonicalize("http://x/profile/Nekomata1037/friends") == (
        "profile",
        "https://myanimelist.net/profile/Nekomata1037",
    )


@pytest.mark.parametrize(
    "hostile",
    ["a", "x" * 17, "rob'; DROP TABLE anime_schedule;--", "../../etc/passwd", "名前", "a b"],
)
def test_hostile_usernames_are_refused(hostile: str) -> None:
    with pytest.raises(InvalidUsernameError, match="invalid MAL username"):
        validate_username(hostile)
    with pytest.raises((InvalidUsernameError, InvalidUrlError)):
        canonicalize(f"https://myanimelist.net/profile/{hostile}")


def test_unknown_urls_are_refused() -> None:
    with pytest.raises(InvalidUrlError, match="not a MAL anime or profile URL"):
        canonicalize("https://myanimelist.net/manga/703/Trigun")
    with pytest.raises(InvalidUrlError):
        anime_url(0)


def test_to_fetch_url_rewrites_hosts_both_ways() -> None:
    assert to_fetch_url("https://myanimelist.net/anime/6", REPLICA) == f"{REPLICA}/anime/6"
    assert to_fetch_url("/profile/x_y/friends?p=2", REPLICA + "/") == (
        f"{REPLICA}/profile/x_y/friends?p=2"
    )
    jikan = "https://api.jikan.moe/v4/anime/6/full"
    assert to_fetch_url(jikan, f"{REPLICA}/jikan/v4") == f"{REPLICA}/jikan/v4/anime/6/full"
    assert to_fetch_url(jikan, "https://api.jikan.moe/v4") == jikan
    assert to_canonical_host(f"{REPLICA}/anime/6/T/stats?x=1", REPLICA) == (
        "https://myanimelist.net/anime/6/T/stats?x=1"
    )
    assert to_canonical_host(f"{REPLICA}/jikan/v4/anime/6/full", "") == jikan
    with pytest.raises(InvalidUrlError):
        to_fetch_url("anime/6", REPLICA)
    with pytest.raises(InvalidUrlError):
        to_fetch_url("/anime/6", "ftp://nope")


def test_with_query_keeps_other_parameters() -> None:
    url = "https://myanimelist.net/animelist/X/load.json?status=7&offset=0"
    assert with_query(url, offset=300) == (
        "https://myanimelist.net/animelist/X/load.json?status=7&offset=300"
    )
