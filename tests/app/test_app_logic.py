"""The app's decisions (no Streamlit), against an embedded Redis seeded by the publish code."""

from __future__ import annotations

import random
from datetime import date

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from animerec_assets.lib.redis_conn import RedisUnavailableError
from animerec_assets.lib.serving import AnimeCard, Freshness, Recommendation
from animerec_assets.lib.serving.reads import CatalogueCache
from app import logic
from app.cards import (
    card_html,
    notice_html,
    recommendation_cards_html,
    safe_image_url,
    search_option_label,
)


def _dead_client() -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))


def _recs(n: int = 20) -> list[Recommendation]:
    return [Recommendation(rank=i, anime_id=100 + i, score=1 - i / 100) for i in range(1, n + 1)]


def test_known_user_view(seeded_home) -> None:
    view = logic.load_user_view(seeded_home.client, "  User_3 ")
    assert view.status is logic.Status.OK
    assert view.user_key == "user_3" and view.display_name == "User_3"
    assert len(view.recommendations) == 20


def test_with_the_cached_catalogue_the_view_is_read_without_cards(seeded_home) -> None:
    catalogue = logic.load_catalogue(seeded_home.client, CatalogueCache())
    view = logic.load_user_view(seeded_home.client, "User_3", catalogue)
    assert view.status is logic.Status.OK and len(view.recommendations) == 20
    assert all(r.anime is None for r in view.recommendations)
    # the filters take the cards of what they keep from the catalogue
    pool = logic.filtered_pool(
        view.recommendations, catalogue, logic.build_filters(include_upcoming=True),
        date(2026, 11, 29), user_list=view.user_list,
    )  # fmt: skip
    assert pool and all(r.anime == catalogue.cards[r.anime_id] for r in pool)


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("nobody_here", logic.Status.UNKNOWN_USER),
        ("123456", logic.Status.UNKNOWN_USER),
        ("", logic.Status.INVALID),
        ("a", logic.Status.INVALID),
        ("<script>alert(1)</script>", logic.Status.INVALID),
        ("user_3*", logic.Status.INVALID),
        ("user:3", logic.Status.INVALID),
        ("x" * 500, logic.Status.INVALID),
        (None, logic.Status.INVALID),
    ],
)
def test_user_view_statuses(seeded_home, typed, status) -> None:
    view = logic.load_user_view(seeded_home.client, typed)
    assert view.status is status
    assert view.recommendations == []
    assert view.message


def test_redis_down_and_nothing_published(serving_empty_client) -> None:
    assert logic.load_user_view(None, "xinil").status is logic.Status.UNAVAILABLE
    assert logic.load_user_view(_dead_client(), "xinil").status is logic.Status.UNAVAILABLE
    assert logic.read_freshness(_dead_client()) == (logic.Status.UNAVAILABLE, None)
    assert logic.load_user_view(serving_empty_client, "xinil").status is logic.Status.NOT_PUBLISHED
    assert logic.safe_search(_dead_client(), "bebop") == []
    assert logic.safe_similar(_dead_client(), 1) == []
    assert logic.safe_from_anime(_dead_client(), [1]) == []


def test_connect_or_none_turns_failures_into_none() -> None:
    def failing() -> redis.Redis:
        raise RedisUnavailableError("down")

    assert logic.connect_or_none(failing) is None


def test_pick_five_is_random_ordered_and_another_five_changes_all() -> None:
    rng = random.Random(1)
    recs = _recs()
    first = logic.pick_five(recs, rng)
    assert len(first) == 5 and [r.rank for r in first] == sorted(r.rank for r in first)
    for _ in range(20):
        nxt = logic.pick_five(recs, rng, [r.anime_id for r in first])
        assert len(nxt) == 5 and not {r.anime_id for r in nxt} & {r.anime_id for r in first}
        first = nxt


def test_pick_five_with_short_lists() -> None:
    rng = random.Random(2)
    assert len(logic.pick_five(_recs(7), rng, [101, 102, 103])) == 5
    assert len(logic.pick_five(_recs(3), rng)) == 3
    assert logic.pick_five([], rng) == []


def test_reason_text_prefers_model_text_then_title_then_id() -> None:
    card = AnimeCard(1, "Cowboy Bebop")
    assert logic.reason_text(Recommendation(1, 2, 0.5, reason="because X")) == "because X"
    assert logic.reason_text(Recommendation(1, 2, 0.5, reason_anime_id=1, reason_anime=card)) == (
        "Because you liked Cowboy Bebop"
    )
    assert "#7" in logic.reason_text(Recommendation(1, 2, 0.5, reason_anime_id=7))
    assert logic.reason_text(Recommendation(1, 2, 0.5))


def test_freshness_text() -> None:
    freshness = Freshness("v", "tfrs-1", "2025-01-02T03:04:05+00:00")
    assert logic.freshness_text(freshness) == "Model tfrs-1 · published 2025-01-02 03:04:05 UTC"
    assert logic.freshness_text(None) == "No model published yet"


HOSTILE = "<script>alert('x')</script>\" onload=\"alert(1)"


def test_cards_escape_everything_from_the_data() -> None:
    card = AnimeCard(
        5, HOSTILE, main_pic="javascript:alert(1)", type="<b>TV</b>", score=8.5, genres=(HOSTILE,)
    )
    rec = Recommendation(1, 5, 0.9, reason=HOSTILE, anime=card)
    page = recommendation_cards_html([rec])
    assert "<script>" not in page and "<b>TV" not in page
    assert 'onload="' not in page
    assert "javascript:" not in page
    assert "&lt;script&gt;" in page
    assert page.count('data-testid="anime-card"') == 1
    assert "<b>" not in notice_html("<b>x</b>", HOSTILE).replace("<b>&lt;b&gt;", "")


def test_card_without_details_still_renders() -> None:
    html = card_html(42, None)
    assert "Anime #42" in html and "https://myanimelist.net/anime/42" in html


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://cdn.myanimelist.net/images/anime/1/1.jpg", True),
        ("http://127.0.0.1:8000/images/c.png", False),  # not MAL's CDN (see test_app_cards)
        ("http://x/p.png", False),
        ("javascript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//evil.example/x.png", False),
        (None, False),
    ],
)
def test_only_mal_cdn_image_urls_are_used(url, kept) -> None:
    assert (safe_image_url(url) == url) is kept


def test_search_labels_are_plain_text() -> None:
    assert (
        search_option_label(AnimeCard(1, "Trigun", type="TV", score=8.22)) == "Trigun (TV · 8.22)"
    )
    assert search_option_label(AnimeCard(1, "Trigun")) == "Trigun"


def test_search_similar_and_named_anime_flows(seeded_home) -> None:
    client = seeded_home.client
    found = logic.safe_search(client, "cowboy")
    assert found[0].title == "Cowboy Bebop"
    assert logic.safe_search(client, "") == []
    similar = logic.safe_similar(client, found[0].anime_id)
    assert len(similar) == 10 and similar[0].rank == 1
    recs = logic.safe_from_anime(client, [found[0].anime_id])
    assert len(recs) == 20
    assert logic.reason_text(recs[0]) == "Because you liked Cowboy Bebop"
