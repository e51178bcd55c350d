"""The filters, the card buttons and the feedback events, in headless Chromium against the app
over a demo-sized world published into a real Redis (tests/support/app_world.py).

One page load per test: each checks several things on the same page, because a load (a new
Streamlit session) costs seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from app_browser import (
    ARTIFACTS,
    another_five,
    card,
    card_button,
    choose,
    serve_app,
    shown_ids,
    submit_user,
    wait_for_pool,
)
from app_world import (
    ACTION,
    ADULT,
    FAN,
    FAN_DEFAULT_POOL,
    MODEL_VERSION,
    MOVIE,
    NICHE,
    SAGA,
    SAGA_FINAL,
    SAGA_MOVIE,
    UPCOMING,
)
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CRAWL_SERVICE_DOWN = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def world_url(app_world, app_env_for, cover_server: str) -> Iterator[str]:
    env = app_env_for(
        app_world.home,
        ANIMEREC_CRAWLER_SERVICE_URL=CRAWL_SERVICE_DOWN,
        ANIMEREC_MAL_BASE_URL=cover_server,
    )
    yield from serve_app(env, "app-filters")


def _toggle(page, label: str) -> None:
    """Flip a filter checkbox and wait until it shows flipped. A click that lands while the
    app is still re-rendering the previous change can be lost (the widget is replaced): it is
    clicked again, as a visitor would."""
    box = page.get_by_role("checkbox", name=label)
    wanted = not box.is_checked()
    for _ in range(3):
        box.click(force=True)
        try:
            expect(box).to_be_checked(checked=wanted, timeout=5_000)
            return
        except AssertionError:
            continue
    expect(box).to_be_checked(checked=wanted)


def _min_members(page, value: int) -> None:
    field = page.get_by_label("Minimum members")
    field.fill(str(value))
    field.press("Enter")


def test_each_filter_changes_the_cards_as_it_should(page, world_url) -> None:
    submit_user(page, world_url, FAN)
    default = wait_for_pool(page, len(FAN_DEFAULT_POOL), FAN_DEFAULT_POOL)
    # unfiltered, the final season, an upcoming and an adult title lead the published list
    assert not {SAGA_FINAL, UPCOMING, ADULT} & set(default)
    for anime_id in default:  # every reason names the anime it comes from
        reason = card(page, anime_id).locator(".ar-reason").inner_text()
        assert reason.startswith(("Because you liked ", "Watch this before Saga Final Season"))
    page.get_by_text("Filters", exact=True).click()

    _toggle(page, "Include upcoming")
    assert UPCOMING not in default
    wait_for_pool(page, 10, [*FAN_DEFAULT_POOL, UPCOMING])
    _toggle(page, "Include upcoming")
    wait_for_pool(page, 9, FAN_DEFAULT_POOL)

    _toggle(page, "Adult titles")  # off by default
    wait_for_pool(page, 10, [*FAN_DEFAULT_POOL, ADULT])
    _toggle(page, "Adult titles")
    wait_for_pool(page, 9, FAN_DEFAULT_POOL)

    # popular titles only: the Saga; its final season (the sequel the user ranks best) gives
    # way to the franchise's first entry, whose prequel chain the user has not started
    _min_members(page, 50_000)
    assert wait_for_pool(page, 1, [SAGA]) == [SAGA]
    reason = card(page, SAGA).locator(".ar-reason").inner_text()
    assert reason == "Watch this before Saga Final Season"
    page.screenshot(path=ARTIFACTS / "app-franchise-first-entry.png", full_page=True)
    _toggle(page, "Franchise order")  # off: the final season itself
    assert wait_for_pool(page, 1, [SAGA_FINAL]) == [SAGA_FINAL]
    _toggle(page, "One per franchise")  # off too: every Saga entry the user was given
    assert set(wait_for_pool(page, 3, [SAGA_FINAL, SAGA, SAGA_MOVIE])) == {
        SAGA_FINAL, SAGA, SAGA_MOVIE,
    }  # fmt: skip
    _toggle(page, "Franchise order")  # on again, one per franchise still off
    assert set(wait_for_pool(page, 2, [SAGA, SAGA_MOVIE])) == {SAGA, SAGA_MOVIE}
    _toggle(page, "One per franchise")
    wait_for_pool(page, 1, [SAGA])
    _min_members(page, 1_000)  # the niche title (10 members) goes
    wait_for_pool(page, 8, [a for a in FAN_DEFAULT_POOL if a != NICHE])
    _min_members(page, 0)
    wait_for_pool(page, 9, FAN_DEFAULT_POOL)

    genres = page.locator("[data-testid=stMultiSelect]").filter(has_text="Leave out genres")
    choose(page, genres, "Action", exact=True)
    page.keyboard.press("Escape")
    without_action = [a for a in FAN_DEFAULT_POOL if a != ACTION]
    wait_for_pool(page, 8, without_action)

    types = page.locator("[data-testid=stMultiSelect]").filter(has_text="Types")
    choose(page, types, "Movie", exact=True)
    page.keyboard.press("Escape")
    # movies only: the Saga's movie takes the final season's place (the first entry a movie
    # fan can start with), then the one other movie
    assert set(wait_for_pool(page, 2, [SAGA_MOVIE, MOVIE])) == {SAGA_MOVIE, MOVIE}
    for anime_id in (SAGA_MOVIE, MOVIE):
        assert "Movie" in card(page, anime_id).locator(".ar-meta").inner_text()
    assert (
        card(page, SAGA_MOVIE).locator(".ar-reason").inner_text()
        == "Watch this before Saga Final Season"
    )
    # the published list already leaves out the user's whole MAL list (plan-to-watch too):
    # asking for plan-to-watch cannot bring back what was never published
    _toggle(page, "Include plan-to-watch")
    assert set(wait_for_pool(page, 2, [SAGA_MOVIE, MOVIE])) == {SAGA_MOVIE, MOVIE}
    page.screenshot(path=ARTIFACTS / "app-filters.png", full_page=True)
    assert page.dialogs == []


def test_hidden_titles_never_come_back_and_links_point_at_mal(
    page, world_url, cover_server: str
) -> None:
    submit_user(page, world_url, FAN)
    first = wait_for_pool(page, 9, FAN_DEFAULT_POOL)
    for anime_id in first:  # both links of every card: the configured MAL site, by id
        hrefs = card(page, anime_id).locator("a[href]")
        assert hrefs.count() == 2
        for i in range(2):
            assert hrefs.nth(i).get_attribute("href") == f"{cover_server}/anime/{anime_id}"

    # titles outside the Saga (hiding the Saga's first entry brings its movie instead)
    not_interested, not_for_me = [a for a in first if a != SAGA][:2]
    card_button(page, not_interested, "Not interested").click()
    remaining = [a for a in FAN_DEFAULT_POOL if a != not_interested]
    after_hide = wait_for_pool(page, 8, remaining)
    assert set(first) - {not_interested} <= set(after_hide)  # only the hidden card went
    card_button(page, not_for_me, "Not for me").click()
    remaining = [a for a in remaining if a != not_for_me]
    wait_for_pool(page, 7, remaining)

    seen: set[int] = set()
    for _ in range(4):
        another_five(page)
        shown = wait_for_pool(page, 7, remaining)
        seen |= set(shown)
    assert not {not_interested, not_for_me} & seen

    submit_user(page, None, FAN.upper())  # the same user again: still hidden in this session
    page.get_by_text(f"Picked for {FAN.upper()}").wait_for()
    wait_for_pool(page, 7, remaining)
    page.screenshot(path=ARTIFACTS / "app-hidden.png", full_page=True)


API_URL = "http://127.0.0.1:9/api"  # never followed here: the links are only read


def _stream_events(client) -> list[dict[str, str]]:
    from animerec_assets.lib.feedback.stream import FeedbackKeys

    return [
        {k.decode(): v.decode() for k, v in fields.items()}
        for _, fields in client.xrange(FeedbackKeys().stream)
    ]


@pytest.fixture
def own_world_url(own_world, app_env_for, cover_server: str) -> Iterator[str]:
    """The app over a world of the test's own, linking cards through the API's /v1/go."""
    env = app_env_for(
        own_world.home,
        ANIMEREC_CRAWLER_SERVICE_URL=CRAWL_SERVICE_DOWN,
        ANIMEREC_MAL_BASE_URL=cover_server,
        ANIMEREC_API_URL=API_URL,
    )
    yield from serve_app(env, "app-feedback")


def test_card_buttons_record_events_and_a_redis_outage_keeps_the_page(
    page, own_world, own_world_url: str
) -> None:
    url = own_world_url
    submit_user(page, url, FAN)
    first = wait_for_pool(page, 9, FAN_DEFAULT_POOL)
    # clicks through to MAL go through the API's recorder, with the card's place
    sessions = set()
    for position, anime_id in enumerate(first):
        href = card(page, anime_id).locator("a[href]").first.get_attribute("href")
        prefix = f"{API_URL}/v1/go/{anime_id}?session="
        assert href.startswith(prefix), href
        query = parse_qs(href.partition("?")[2])
        assert query["model_version"] == [MODEL_VERSION]
        assert query["position"] == [str(position)]
        assert query["reason_type"] in (["similar_to"], ["franchise"])
        sessions.update(query["session"])
    assert len(sessions) == 1
    session = sessions.pop()

    liked, hidden = [a for a in first if a != SAGA][:2]
    card_button(page, liked, "Looks good").click()
    page.get_by_text("You liked this one.").wait_for()
    card_button(page, hidden, "Not interested").click()
    wait_for_pool(page, 8, [a for a in FAN_DEFAULT_POOL if a != hidden])
    another_five(page)

    events = _stream_events(own_world.client)
    actions = [e["action"] for e in events]
    assert actions.count("like") == 1 and actions.count("hide") == 1
    assert actions.count("more") == 1 and actions.count("shown") >= 6
    for event in events:  # anonymous session, the typed user, the live model, no address
        assert set(event) == {
            "session_id", "username", "model_version", "anime_id", "position",
            "reason_type", "reason_anime_id", "action", "origin",
        }  # fmt: skip
        assert event["session_id"] == session and event["username"] == FAN.lower()
        assert event["model_version"] == MODEL_VERSION and event["origin"] == "app"
    like = next(e for e in events if e["action"] == "like")
    assert (int(like["anime_id"]), int(like["position"])) == (liked, first.index(liked))
    assert like["reason_type"] == "similar_to" and like["reason_anime_id"]
    shown_first = {int(e["anime_id"]) for e in events[: len(first)]}
    assert shown_first == set(first)

    # Redis goes away while the visitor keeps clicking: the page stays, events are lost
    own_world.client.shutdown(nosave=True)
    on_screen = shown_ids(page, 5)
    gone = next(a for a in on_screen if a != str(SAGA))
    kept = next(a for a in on_screen if a not in (str(SAGA), gone))
    card_button(page, int(kept), "Looks good").click()
    page.get_by_text("these are the picks you already had").wait_for()
    card_button(page, int(gone), "Not interested").click()
    page.wait_for_function(
        """(gone) => !document.querySelector('[data-stale=true]') &&
            [...document.querySelectorAll('[data-testid=anime-card]')]
                .every(e => e.dataset.animeId !== gone)""",
        arg=gone,
    )
    assert len(shown_ids(page, 4)) >= 4
    assert page.get_by_text("Something went wrong").count() == 0
    assert page.get_by_text("You liked this one.").count() >= 1
    page.screenshot(path=ARTIFACTS / "app-redis-outage.png", full_page=True)
