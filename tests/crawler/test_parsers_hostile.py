"""Property tests (hypothesis): every parser on mutated real pages and replica pages.

Mutations put what an attacker controls where the parsers read: huge, negative and non-finite
numbers, text with control, bidi and line-break characters, markup, very long strings, pictures
on other hosts, wrong JSON types, cut bodies. Whatever the page, ``parse_response`` must not
raise, and every item must be within its field's bounds: numbers in range, text capped and
clean, pictures on allowed hosts, every row castable by landing (nothing quarantined), strict
JSON. The checks below state the bounds on their own, not through ``crawler.parsers.bounds``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animerec_assets.contracts.landing import ITEM_KEYS
from animerec_assets.lib.landing import items_to_landing_frames
from crawler.parsers import build_response, parse_response
from crawler.parsers.bounds import Limits, is_note
from crawler.urls import parse_url

NOW = datetime(2026, 1, 17, 12, 0, tzinfo=UTC)
MAL = "https://myanimelist.net"
JIKAN = "https://api.jikan.moe/v4"
CDN = "cdn.myanimelist.net"
EXAMPLES = 20  # per page; the suite runs every page of both corpora
EXAMPLES_RUN: Counter[str] = Counter()  # printed by the last test, for the closing note

# Real pages: file (under ../shared/mal_pages) -> the URL the spider would have fetched.
REAL_PAGES: dict[str, tuple[str, int]] = {
    "html/anime_6_trigun.html": (f"{MAL}/anime/6/Trigun", 200),
    "html/anime_1_cowboy_bebop_stats.html": (f"{MAL}/anime/1/Cowboy_Bebop/stats", 200),
    "html/anime_21_one_piece_userrecs.html": (f"{MAL}/anime/21/One_Piece/userrecs", 200),
    "html/anime_1_cowboy_bebop_reviews.html": (f"{MAL}/anime/1/Cowboy_Bebop/reviews", 200),
    "html/anime_37405_dokidoki_little_ooyasan_stats.html": (f"{MAL}/anime/37405/x/stats", 200),
    "html/anime_22147_amagi_brilliant_park_pics.html": (f"{MAL}/anime/22147/x/pics", 200),
    "html/club_1_cowboy_bebop.html": (f"{MAL}/clubs.php?cid=1", 200),
    "html/profile_morshuwarrior_friends_2024.html": (f"{MAL}/profile/morshuwarrior/friends", 200),
    "html/profile_nekomata1037_friends.html": (f"{MAL}/profile/nekomata1037/friends", 200),
    "html/history_morshuwarrior.html": (f"{MAL}/history/morshuwarrior/anime", 200),
    "html/profile_sandshark.html": (f"{MAL}/profile/sandshark", 200),
    "html/animelist_Xinil_load_status7_offset0.rows.json": (
        f"{MAL}/animelist/Xinil/load.json?status=7&offset=0",
        200,
    ),
    "html/animelist_loadjson_rows_deno_test_2021.json": (
        f"{MAL}/animelist/someone/load.json?status=7&offset=0",
        200,
    ),
    "html/animelist_nonexistent_user_load_400.json": (
        f"{MAL}/animelist/nobody_here/load.json?status=7&offset=0",
        400,
    ),
    "jikan/aniprops_v4_anime_6_full.json": (f"{JIKAN}/anime/6/full", 200),
    "jikan/jikanpy_v4_anime_457.json": (f"{JIKAN}/anime/457", 200),
    "jikan/reactivejikan_v4_anime_getAnimeStatistics.json": (
        f"{JIKAN}/anime/11757/statistics",
        200,
    ),
    "jikan/reactivejikan_v4_anime_getAnimeRecommendations.json": (
        f"{JIKAN}/anime/11757/recommendations",
        200,
    ),
    "jikan/reactivejikan_v4_anime_getAnimeReviews.json": (
        f"{JIKAN}/anime/11757/reviews?page=1",
        200,
    ),
    "jikan/reactivejikan_v4_anime_getAnimePictures.json": (f"{JIKAN}/anime/1/pictures", 200),
    "jikan/jikanpy_v4_users_nekomata1037_full.json": (f"{JIKAN}/users/nekomata1037/full", 200),
    "jikan/jikanpy_v4_users_nekomata1037_friends.json": (
        f"{JIKAN}/users/nekomata1037/friends?page=1",
        200,
    ),
    "jikan/reactivejikan_v4_users_getUserHistory_anime.json": (
        f"{JIKAN}/users/USER_1/history/anime",
        200,
    ),
    "jikan/reactivejikan_v4_users_getUserFavorites.json": (f"{JIKAN}/users/USER_1/favorites", 200),
    "jikan/reactivejikan_v4_users_getUserProfile.json": (f"{JIKAN}/users/USER_1", 200),
}


@dataclass(frozen=True)
class Page:
    url: str  # as fetched
    body: bytes
    status: int
    base_url: str  # the fetch host's base (MAL, Jikan or the replica)
    limits: Limits


# ---- what the bounds are (stated independently of the implementation) -----------------------

TEXT_CAPS = {"title": 300, "synopsis": 10_000, "reason": 1000}
DEFAULT_TEXT_CAP = 2048
IDS = {"anime_id", "animeA", "animeB", "review_id", "favorite_anime_ids"}
SCORES_1_10 = {
    "review_score",
    "review_story_score",
    "review_animation_score",
    "review_sound_score",
    "review_character_score",
    "review_enjoyment_score",
}
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
USERNAME = re.compile(r"^[A-Za-z0-9_-]{2,16}$")


def check_text(item_type: str, name: str, text: str) -> None:
    assert len(text) <= TEXT_CAPS.get(name, DEFAULT_TEXT_CAP), (item_type, name, len(text))
    for char in text:
        category = unicodedata.category(char)
        assert char not in BIDI, (name, hex(ord(char)))
        assert category != "Cs", (name, "lone surrogate")
        if category == "Cc":
            assert char == "\n" and name == "synopsis", (item_type, name, hex(ord(char)))
    text.encode("utf-8")  # never raises for clean text
    if name in ("user_id", "userA", "userB"):
        assert USERNAME.fullmatch(text), (name, text)


def check_number(item_type: str, name: str, value: int | float) -> None:
    assert not isinstance(value, bool), (item_type, name)
    assert math.isfinite(value) and 0 <= value < 2**53, (item_type, name, value)
    if name in IDS:
        assert value >= 1, (name, value)
    if name in SCORES_1_10:
        assert 1 <= value <= 10, (name, value)
    if name == "score":
        low = 0 if item_type == "user_anime" else 1
        assert low <= value <= 10, (item_type, name, value)
    if name == "mean_score":
        assert value <= 10, value
    if name in ("score_rank", "popularity_rank"):
        assert value >= 1, (name, value)


def check_picture(url: str, limits: Limits) -> None:
    parts = urlsplit(url)
    netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    assert parts.scheme in ("http", "https") and netloc in limits.picture_hosts, url


def check_items(page: Page, items: list[dict[str, Any]]) -> None:
    json.dumps(items, allow_nan=False).encode("utf-8")  # strict JSON, valid UTF-8
    info = parse_url(page.url)
    for item in items:
        item_type = item["item_type"]
        for name, value in item.items():
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list):
                assert len(value) <= 1000, (item_type, name, len(value))
            for entry in values:
                if entry is None:
                    continue
                if isinstance(entry, str):
                    check_text(item_type, name, entry)
                    if name in ("main_pic", "pics"):
                        check_picture(entry, page.limits)
                else:
                    assert isinstance(entry, int | float), (item_type, name, type(entry))
                    check_number(item_type, name, entry)
        for key in ITEM_KEYS.get(item_type, ()):
            if key in IDS | {"user_id", "userA", "userB"}:
                assert item[key] is not None, (item_type, key)  # no row without its id
        if item_type in ("user", "user_anime", "user_history") and info and info.username:
            assert str(item["user_id"]).lower() == info.username.lower(), item["user_id"]
        if item_type == "user_user" and info and info.username:
            assert item["userA"].lower() == info.username.lower()
    frames = items_to_landing_frames(items, "2026-01-17 12:00:00")
    assert frames["quarantine"].empty, frames["quarantine"]["reason"].tolist()


def parse_and_check(page: Page, body: bytes, label: str) -> list[dict[str, Any]]:
    response = build_response(page.url, body, page.status)
    result = parse_response(response, NOW, base_url=page.base_url, limits=page.limits)
    check_items(page, result.items)
    for kind, urls in result.seen.items():
        for url in urls:
            info = parse_url(url)
            assert info is not None and info.kind == kind and info.canonical == url, url
            assert info.anime_id is None or 0 < info.anime_id < 2**53, url
    EXAMPLES_RUN[label] += 1
    if any(is_note(item) for item in result.items):
        EXAMPLES_RUN[f"{label}: values refused (note)"] += 1
    elif any(item["item_type"] == "crawl_error" for item in result.items):
        EXAMPLES_RUN[f"{label}: page failed (crawl_error)"] += 1
    return result.items


# ---- mutations --------------------------------------------------------------------------------

CONTROL = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\u2028\u2029\ufeff"
ALPHABET = "aZ9 _-.:/<>[]()!*#&;\"'\n\r\t" + CONTROL + "".join(sorted(BIDI)) + "é漢😀"
MARKUP = [
    "Bebop\n\n![p](http://x.example/p.png) [Log in](http://x.example/login)",
    "<script>alert(1)</script>",
    '<img src="http://x.example/p.png">',
    "\u202eevil\u202c title",
]
hostile_text = st.one_of(
    st.text(alphabet=ALPHABET, max_size=40),
    st.sampled_from(MARKUP),
    st.integers(300, 30_000).map(lambda n: "Ab\u202e" * n),
)
hostile_number = st.one_of(
    st.integers(-(10**25), 10**25).map(str),
    st.sampled_from(["9" * 23, "9" * 400, "-1", "-0", "1e400", "1,000,000,000,000,000,000", "NaN"]),
    st.integers(2**53 - 2, 2**53 + 2).map(lambda n: f"{n:,}"),
)
hostile_url = st.sampled_from(
    [
        "http://evil.example/p.png",
        "javascript:alert(1)",
        "//evil.example/x.jpg",
        "https://cdn.myanimelist.net.evil.example/x.jpg",
        "https://cdn.myanimelist.net:8443/x.jpg",
        "https://user@cdn.myanimelist.net/x.jpg",
        "https://cdn.myanimelist.net/images/anime/1/2.jpg",
        "/images/anime/1/2.jpg",
    ]
)
# Text next to these markers is what the parsers read: mutate it more often.
LANDMARKS = re.compile(
    r"title-name|itemprop|dark_text|user-status|stats-status|score-stats|di-ib|picSurround|"
    r"review-element|friend|history|fn-grey2|numbers|js-similar|<title>|<h1",
)
TEXT_NODE = re.compile(r">([^<>]{1,300})<")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
ATTRIBUTE = re.compile(r'(?:src|data-src|href|content)="([^"]*)"')


@dataclass(frozen=True)
class HtmlSpans:
    text: list[tuple[int, int]]
    near_landmarks: list[tuple[int, int]]
    numbers: list[tuple[int, int]]
    landmark_numbers: list[tuple[int, int]]
    attributes: list[tuple[int, int]]


def html_spans(html: str) -> HtmlSpans:
    text = [m.span(1) for m in TEXT_NODE.finditer(html)]
    near = [s for s in text if LANDMARKS.search(html, max(0, s[0] - 300), s[0])]
    numbers = [(a + m.start(), a + m.end()) for a, b in text for m in NUMBER.finditer(html, a, b)]
    landmark_numbers = [
        (a + m.start(), a + m.end()) for a, b in near for m in NUMBER.finditer(html, a, b)
    ]
    attributes = [m.span(1) for m in ATTRIBUTE.finditer(html)]
    return HtmlSpans(
        text, near or text, numbers or text, landmark_numbers or numbers or text, attributes or text
    )


@st.composite
def mutated_html(draw: st.DrawFn, html: str, spans: HtmlSpans) -> bytes:
    edits: dict[tuple[int, int], str] = {}
    for _ in range(draw(st.integers(1, 10))):
        kinds = ["landmark", "landmark", "landmark_number", "landmark_number", "number", "text"]
        kind = draw(st.sampled_from([*kinds, "url"]))
        pool, value = {
            "landmark": (spans.near_landmarks, hostile_text),
            "landmark_number": (spans.landmark_numbers, hostile_number),
            "number": (spans.numbers, hostile_number),
            "text": (spans.text, st.one_of(hostile_text, hostile_number)),
            "url": (spans.attributes, hostile_url),
        }[kind]
        if pool:
            edits[pool[draw(st.integers(0, len(pool) - 1))]] = draw(value)
    out, last = [], 0
    for (start, end), replacement in sorted(edits.items()):
        if start < last:
            continue  # overlapping edit: skip
        out += [html[last:start], replacement]
        last = end
    out.append(html[last:])
    body = "".join(out)
    if draw(st.integers(0, 9)) == 0:  # sometimes a cut body
        body = body[: draw(st.integers(0, len(body)))]
    return body.encode("utf-8", "replace")


hostile_json_value = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([10**23, 10**400, -1, 0, 2**53, 2**53 - 1, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
    st.text(alphabet="\ud800\udfff\u202ea", max_size=4),  # lone surrogates come through JSON
    hostile_url,
    st.none(),
    st.booleans(),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(
        st.sampled_from(["mal_id", "name", "url", "username"]), st.integers(), max_size=2
    ),
)


def json_leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:50]):
            yield from json_leaves(child, (*path, index))
    yield path


@st.composite
def mutated_json(draw: st.DrawFn, document: Any, leaves: list[tuple[Any, ...]]) -> bytes:
    copy = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 12))):
        path = leaves[draw(st.integers(0, len(leaves) - 1))]
        if not path:
            continue
        parent = copy
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = draw(hostile_json_value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit replaced an ancestor
    return json.dumps(copy, ensure_ascii=True, allow_nan=True).encode()


# ---- the corpora ------------------------------------------------------------------------------


def real_pages() -> dict[str, Page]:
    folder = Path(__file__).resolve().parents[2] / ".." / "shared" / "mal_pages"
    pages = {}
    for name, (url, status) in REAL_PAGES.items():
        path = folder / name
        if path.exists():
            base = JIKAN if url.startswith(JIKAN) else MAL
            pages[f"real:{name}"] = Page(url, path.read_bytes(), status, base, Limits())
    return pages


def replica_pages() -> list[Page]:
    server = pytest.importorskip("mal_replica.server")
    with server.run_replica(n_users=40, n_anime=30, seed=3) as replica:
        world = replica.world
        anime = int(world.anime["anime_id"].iloc[0])
        user = str(world.users["username"].iloc[0])
        base, jikan = replica.base_url, replica.jikan_base_url
        limits = Limits(picture_hosts=frozenset({CDN, urlsplit(base).netloc}))
        paths = [
            (base, f"/anime/{anime}"),
            *[(base, f"/anime/{anime}/_/{sub}") for sub in ("stats", "userrecs", "pics", "clubs")],
            (base, f"/anime/{anime}/_/reviews?p=1"),
            (base, f"/profile/{user}"),
            (base, f"/profile/{user}/friends"),
            (base, f"/history/{user}/anime"),
            (base, f"/animelist/{user}/load.json?status=7&offset=0"),
            (base, "/topanime.php"),
            (jikan, f"/anime/{anime}/full"),
            *[(jikan, f"/anime/{anime}/{sub}") for sub in ("statistics", "recommendations")],
            (jikan, f"/anime/{anime}/reviews?page=1"),
            (jikan, f"/anime/{anime}/pictures"),
            (jikan, f"/users/{user}/full"),
            (jikan, f"/users/{user}/friends?page=1"),
            (jikan, f"/users/{user}/history/anime"),
            (jikan, "/top/anime"),
        ]
        pages = []
        with httpx.Client(timeout=10, follow_redirects=True) as client:
            for root, path in paths:
                response = client.get(root + path)
                pages.append(Page(str(response.url), response.content, 200, root, limits))
    return pages


@pytest.fixture(scope="module")
def corpus() -> dict[str, Page]:
    pages = real_pages()
    for page in replica_pages():
        pages[f"replica:{urlsplit(page.url).path}?{urlsplit(page.url).query}"] = page
    return pages


REAL_IDS = [f"real:{name}" for name in REAL_PAGES]
REPLICA_KINDS = [
    "anime", "anime_stats", "anime_userrecs", "anime_pics", "anime_clubs", "anime_reviews",
    "profile", "profile_friends", "history", "animelist", "top_anime", "jikan_anime",
    "jikan_anime_stats", "jikan_anime_recommendations", "jikan_anime_reviews",
    "jikan_anime_pics", "jikan_user", "jikan_user_friends", "jikan_user_history",
    "jikan_top_anime",
]  # fmt: skip


def page_of(corpus: dict[str, Page], page_id: str) -> Page:
    if page_id.startswith("real:"):
        if page_id not in corpus:
            pytest.skip(f"shared test data not present: {page_id}")
        return corpus[page_id]
    for key, page in corpus.items():
        info = parse_url(page.url)
        if key.startswith("replica:") and info is not None and info.page_type == page_id:
            return page
    raise AssertionError(f"no replica page of type {page_id}")


def run_property(page: Page, label: str) -> None:
    is_json = page.body.lstrip()[:1] in (b"{", b"[")
    parse_and_check(page, page.body, label)  # the page as it is
    if is_json:
        document = json.loads(page.body)
        leaves = list(json_leaves(document))
        strategy = mutated_json(document, leaves)
    else:
        html = page.body.decode("utf-8", "replace")
        strategy = mutated_html(html, html_spans(html))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=strategy)
    def check(body: bytes) -> None:
        parse_and_check(page, body, label)

    check()


@pytest.mark.slow
@pytest.mark.parametrize("page_id", REAL_IDS)
def test_real_pages_mutated(corpus: dict[str, Page], page_id: str) -> None:
    run_property(page_of(corpus, page_id), "real")


@pytest.mark.slow
@pytest.mark.parametrize("page_type", REPLICA_KINDS)
def test_replica_pages_mutated(corpus: dict[str, Page], page_type: str) -> None:
    run_property(page_of(corpus, page_type), "replica")


def test_the_issue_examples_are_refused_with_a_note() -> None:
    """The values the issue found in the wild: each one None or cleaned, with a note."""
    page = (
        b"""<html><body><div id="content">
    <h1 class="title-name"><strong>Bebop\n\n![p](http://x/p.png)\u202e</strong></h1>
    <img itemprop="image" data-src="http://x.example/p.png">
    <p itemprop="description">"""
        + b"x" * 10_000_000
        + b"""</p>
    <div><span class="dark_text">Type:</span> TV</div>
    <div><span class="dark_text">Episodes:</span> -26</div>
    <span itemprop="ratingValue">"""
        + b"9" * 400
        + b"""</span>
    <span itemprop="ratingCount">12345678901234567890123</span>
    </div></body></html>"""
    )
    page = page.replace(b"\\u202e", "\u202e".encode())
    result = parse_response(build_response(f"{MAL}/anime/1", page), NOW, base_url=MAL)
    (anime,) = [i for i in result.items if i["item_type"] == "anime"]
    assert anime["title"] == "Bebop ![p](http://x/p.png)"  # one line, no bidi; text, not markup
    assert len(anime["synopsis"]) == 10_000
    assert anime["main_pic"] is None
    assert anime["num_episodes"] is None and anime["score"] is None
    assert anime["score_count"] is None
    (note,) = [i for i in result.items if i["item_type"] == "crawl_error"]
    assert is_note(note) and note["url"] == f"{MAL}/anime/1"
    for field in ("anime.title", "anime.synopsis", "anime.main_pic", "anime.num_episodes"):
        assert field in note["reason"]
    assert "anime.score" in note["reason"] and "anime.score_count" in note["reason"]
    assert json.dumps(result.items, allow_nan=False)


@pytest.mark.parametrize(
    ("shown", "expected"),
    [("sandshark", "sandshark"), ("SandShark", "SandShark"), ("mallory", None)],
)
def test_identity_comes_from_the_url(mal_pages_dir: Path, shown: str, expected: str | None) -> None:
    body = (mal_pages_dir / "html" / "profile_sandshark.html").read_text(encoding="utf-8")
    body = body.replace("sandshark's Profile", f"{shown}'s Profile")
    response = build_response(f"{MAL}/profile/sandshark", body.encode())
    result = parse_response(response, NOW, base_url=MAL)
    users = [i for i in result.items if i["item_type"] == "user"]
    if expected is None:
        assert users == [] and result.follow == [] and result.crawled["profile"] == set()
        (error,) = result.items
        assert error["item_type"] == "crawl_error" and "identity mismatch" in error["reason"]
        assert not is_note(error)
    else:
        assert [u["user_id"] for u in users] == [expected]


def test_jikan_identity_comes_from_the_url() -> None:
    body = json.dumps({"data": {"username": "mallory", "statistics": {}}}).encode()
    result = parse_response(build_response(f"{JIKAN}/users/alice/full", body), NOW)
    assert [i["item_type"] for i in result.items] == ["crawl_error"]
    body = json.dumps({"data": {"mal_id": 7, "title": "Other"}}).encode()
    result = parse_response(build_response(f"{JIKAN}/anime/6/full", body), NOW)
    assert "identity mismatch" in result.items[0]["reason"]


def test_zz_examples_run() -> None:
    """Prints how many generated pages the property tests parsed (for the closing note)."""
    print(f"\nhypothesis examples parsed: {dict(EXAMPLES_RUN)}")


def test_every_contract_field_has_a_bound() -> None:
    """A field added to the landing contract without a bound would fail every page."""
    from animerec_assets.contracts.landing import COMMON_FIELDS, ITEM_FIELDS
    from crawler.parsers.bounds import rule_for

    for item_type, fields in ITEM_FIELDS.items():
        for name, _ in [*COMMON_FIELDS, *fields]:
            assert rule_for(item_type, name) is not None, f"{item_type}.{name}"
