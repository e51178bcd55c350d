"""The app's pure decisions around the cards: filters from widgets, hidden titles, which five
are on screen, feedback event fields, links, the session id and crawl progress."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from animerec_assets.contracts.feedback import (
    FEEDBACK_FIELD_NAMES,
    MAX_POSITION,
    SESSION_ROTATE_S,
)
from animerec_assets.lib.serving import AnimeCard, Freshness, Recommendation
from animerec_assets.lib.serving.filters import MAX_CHOICES, MAX_EXCLUDED_IDS, Catalogue
from app import logic
from app.cards import crawl_progress_html, pool_count_html, recommendation_card_html

TODAY = date(2026, 11, 29)


def _recs(n: int = 20) -> list[Recommendation]:
    return [
        Recommendation(rank=i, anime_id=100 + i, score=1 - i / 100, anime=AnimeCard(100 + i, "t"))
        for i in range(1, n + 1)
    ]


def test_widget_values_become_bounded_filters() -> None:
    assert logic.build_filters() == logic.DEFAULT_FILTERS
    filters = logic.build_filters(
        types=["TV", "Movie"],
        exclude_genres=[f"g{i}" for i in range(MAX_CHOICES + 30)],
        min_members=-5,
        hidden=range(MAX_EXCLUDED_IDS + 10),
        include_adult=True,
    )
    assert filters.types == {"tv", "movie"} and filters.include_adult
    assert len(filters.exclude_genres) == MAX_CHOICES
    assert filters.min_members == 0
    # the newest hidden titles are kept when there are too many
    assert (
        len(filters.exclude_ids) == MAX_EXCLUDED_IDS and MAX_EXCLUDED_IDS + 9 in filters.exclude_ids
    )
    assert logic.build_filters(min_members=10**12).min_members == logic.MAX_MIN_MEMBERS


def test_hide_keeps_each_title_once_newest_last() -> None:
    hidden = logic.hide([], 5)
    hidden = logic.hide(hidden, 7)
    assert logic.hide(hidden, 5) == [7, 5]
    many = list(range(MAX_EXCLUDED_IDS))
    assert logic.hide(many, 10**6)[-1] == 10**6 and len(logic.hide(many, 10**6)) == MAX_EXCLUDED_IDS


def test_hidden_titles_leave_the_pool_and_the_rest_stays_on_screen() -> None:
    recs = _recs(8)
    catalogue = Catalogue.of("v", {})
    pool = logic.filtered_pool(recs, catalogue, logic.build_filters(), TODAY)
    shown = logic.keep_and_top_up(pool, [], random.Random(3))
    assert len(shown) == 5 and [r.rank for r in shown] == sorted(r.rank for r in shown)
    hidden_id = shown[2].anime_id
    pool = logic.filtered_pool(recs, catalogue, logic.build_filters(hidden=[hidden_id]), TODAY)
    assert hidden_id not in {r.anime_id for r in pool} and len(pool) == 7
    after = logic.keep_and_top_up(pool, [r.anime_id for r in shown], random.Random(4))
    before_ids = {r.anime_id for r in shown} - {hidden_id}
    assert before_ids <= {r.anime_id for r in after} and len(after) == 5
    on_screen = {r.anime_id for r in after}
    for seed in range(30):  # "Another 5" only draws from the pool, all of its fresh titles first
        more = {r.anime_id for r in logic.pick_five(pool, random.Random(seed), list(on_screen))}
        assert hidden_id not in more and len(more) == 5
        assert {r.anime_id for r in pool} - on_screen <= more


def test_the_users_own_list_leaves_the_pool_plan_to_watch_only_when_asked() -> None:
    recs = _recs(8)
    catalogue = Catalogue.of("v", {})
    user_list = {101: "plan_to_watch", 102: "completed", 103: "dropped"}
    pool = logic.filtered_pool(recs, catalogue, logic.build_filters(), TODAY, user_list=user_list)
    assert [r.anime_id for r in pool] == [104, 105, 106, 107, 108]
    planned = logic.build_filters(include_plan_to_watch=True)
    pool = logic.filtered_pool(recs, catalogue, planned, TODAY, user_list=user_list)
    assert [r.anime_id for r in pool] == [101, 104, 105, 106, 107, 108]


def test_filter_options_come_from_the_published_cards() -> None:
    cards = {
        1: AnimeCard(1, "a", type="TV", genres=("Action", "Drama")),
        2: AnimeCard(2, "b", type="Movie", genres=("action", " ")),
        3: AnimeCard(3, "c", type=None),
    }
    types, genres = logic.filter_options(Catalogue.of("v", cards))
    assert types == ["Movie", "TV"]
    assert genres == ["Action", "Drama"]  # one choice per spelling up to case


def test_reason_names_the_anime_it_comes_from() -> None:
    liked = AnimeCard(9, "Cowboy Bebop")
    with_text = Recommendation(1, 2, 0.5, reason="People like you loved it", reason_anime=liked)
    assert logic.reason_text(with_text) == (
        "People like you loved it (because you liked Cowboy Bebop)"
    )
    named = Recommendation(1, 2, 0.5, reason="Watch this before Cowboy Bebop", reason_anime=liked)
    assert logic.reason_text(named) == "Watch this before Cowboy Bebop"


def test_reason_types() -> None:
    sequel = AnimeCard(3, "Saga Final", franchise_id=1)
    first = AnimeCard(1, "Saga", franchise_id=1)
    other = AnimeCard(7, "Other")
    assert (
        logic.reason_type_of(
            Recommendation(1, 1, 0.5, "Watch", 3, anime=first, reason_anime=sequel)
        )
        == "franchise"
    )
    assert logic.reason_type_of(Recommendation(1, 1, 0.5, None, 7, first, other)) == "similar_to"
    assert logic.reason_type_of(Recommendation(1, 1, 0.5, reason="text")) == "other"
    assert logic.reason_type_of(Recommendation(1, 1, 0.5)) == "popular"


def test_event_fields_follow_the_contract_and_carry_no_address() -> None:
    shown = _recs(3)
    events = logic.card_events(shown)
    assert [e.position for e in events] == [0, 1, 2]
    fields = logic.event_fields(
        session_id="s" * 22, model_version="m1", action="like", username="fan", card=events[1]
    )
    assert set(fields) == set(FEEDBACK_FIELD_NAMES) - {"event_id", "event_time"}
    assert fields["anime_id"] == shown[1].anime_id and fields["position"] == 1
    assert fields["origin"] == "app" and fields["username"] == "fan"
    more = logic.event_fields(session_id="s" * 22, model_version="m1", action="more")
    assert more["anime_id"] is None and more["position"] is None and more["username"] is None
    far = logic.card_events(_recs(1) * (MAX_POSITION + 5))
    assert far[-1].position == MAX_POSITION


def test_session_ids_rotate_per_the_contract() -> None:
    start = datetime(2026, 11, 29, tzinfo=UTC)
    ids = iter(["a", "b", "c"])
    first = logic.current_session(None, start, lambda: next(ids))
    assert first.session_id == "a"
    almost = start + timedelta(seconds=SESSION_ROTATE_S - 1)
    assert logic.current_session(first, almost, lambda: "x") is first
    later = start + timedelta(seconds=SESSION_ROTATE_S)
    rotated = logic.current_session(first, later, lambda: next(ids))
    assert rotated.session_id == "b" and rotated.started_at == later
    # a clock that went backwards starts a new session too
    assert logic.current_session(rotated, start, lambda: next(ids)).session_id == "c"
    # by default the feedback library's random ids (22 URL-safe characters)
    assert len(logic.current_session(None, start).session_id) == 22


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (None, "https://myanimelist.net/anime/42"),
        ("https://myanimelist.net", "https://myanimelist.net/anime/42"),
        ("http://127.0.0.1:8900/", "http://127.0.0.1:8900/anime/42"),
        ("javascript:alert(1)", "https://myanimelist.net/anime/42"),
        ("http://user:pw@evil.example", "https://myanimelist.net/anime/42"),
        ('http://x/"onmouseover="alert(1)', "https://myanimelist.net/anime/42"),
        ("http://x/?q=1", "https://myanimelist.net/anime/42"),
        ("http://x:99999", "https://myanimelist.net/anime/42"),
    ],
)
def test_mal_links_are_the_configured_site_and_the_id_only(base, expected) -> None:
    assert logic.mal_anime_url(42, base) == expected


def test_clicks_go_through_the_api_when_it_is_configured() -> None:
    direct = logic.click_url(
        7, position=2, session_id="abc", model_version="m 1", mal_base_url=None, api_url=None
    )
    assert direct == "https://myanimelist.net/anime/7"
    tracked = logic.click_url(
        7,
        position=2,
        session_id="abc",
        model_version="m&1",
        reason_type="similar_to",
        api_url="http://127.0.0.1:8600/",
    )
    assert tracked == (
        "http://127.0.0.1:8600/v1/go/7?session=abc&model_version=m%261&position=2"
        "&reason_type=similar_to"
    )
    assert logic.click_url(7, position=0, session_id="a", model_version="m", api_url="ftp://x") == (
        "https://myanimelist.net/anime/7"
    )


def test_card_html_carries_its_link_and_place() -> None:
    rec = _recs(1)[0]
    link = "http://127.0.0.1:8600/v1/go/101?session=a&model_version=m&position=3"
    page = recommendation_card_html(rec, 3, link)
    assert 'data-position="3"' in page
    assert page.count('href="http://127.0.0.1:8600/v1/go/101?session=a&amp;model_version=m') == 2
    assert 'data-matching="7"' in pool_count_html(7, 20)


REQUESTED = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def _progress(**kwargs: object) -> logic.CrawlProgress:
    values: dict[str, object] = {
        "requested_at": REQUESTED,
        "last_crawled_at": None,
        "status_readable": True,
        "freshness": Freshness("v1", "model-1", "2026-11-29T09:00:00+00:00"),
        "has_recommendations": False,
    }
    values.update(kwargs)
    return logic.crawl_progress(**values)  # type: ignore[arg-type]


def test_crawl_progress_reads_the_scheduler_and_the_published_version() -> None:
    assert _progress().stage is logic.CrawlStage.QUEUED
    # crawled before the request (an old crawl): still queued
    old = REQUESTED - timedelta(days=3)
    assert _progress(last_crawled_at=old).stage is logic.CrawlStage.QUEUED
    crawled = REQUESTED + timedelta(minutes=20)
    waiting = _progress(last_crawled_at=crawled)
    assert waiting.stage is logic.CrawlStage.CRAWLED and "next published model" in waiting.message
    later_model = Freshness("v2", "model-2", "2026-11-29T12:00:00+00:00")
    missed = _progress(last_crawled_at=crawled, freshness=later_model)
    assert missed.stage is logic.CrawlStage.CRAWLED and "model-2" in missed.message
    done = _progress(has_recommendations=True, freshness=later_model)
    assert done.stage is logic.CrawlStage.PUBLISHED and "model-2" in done.message
    unreadable = _progress(status_readable=False)
    assert unreadable.stage is logic.CrawlStage.UNREADABLE
    assert [done for _, done in logic.progress_steps(unreadable)] == [False, False, False]
    assert [done for _, done in logic.progress_steps(waiting)] == [True, True, False]
    assert [done for _, done in logic.progress_steps(done)] == [True, True, True]
    html = crawl_progress_html([("Queued", True), ("<b>Crawled</b>", False)], "x")
    assert 'data-done="true"' in html and "<b>" not in html


def test_parse_utc() -> None:
    assert logic.parse_utc("2026-11-29T10:00:00") == REQUESTED
    assert logic.parse_utc("2026-11-29T11:00:00+01:00") == REQUESTED
    assert logic.parse_utc("yesterday") is None and logic.parse_utc(None) is None
