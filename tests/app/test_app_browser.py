"""The app in headless Chromium, against an embedded Redis seeded by the real publish code.

Screenshots land in test-artifacts/ (gitignored).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_browser import ARTIFACTS, CARDS, choose, serve_app, shown_ids, submit_user

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(seeded_home, app_env_for, cover_server: str) -> Iterator[str]:
    # the crawl service is deliberately down: the app must say so politely; the cover server
    # stands for the crawled site (the replica), whose /images/ the cards may show
    env = app_env_for(
        seeded_home.home,
        ANIMEREC_CRAWLER_SERVICE_URL="http://127.0.0.1:9",
        ANIMEREC_MAL_BASE_URL=cover_server,
    )
    yield from serve_app(env, "app-browser")


def test_known_user_sees_five_cards_and_another_five_changes_them(page, app_url) -> None:
    submit_user(page, app_url, "User_0")
    first = shown_ids(page)
    assert len(first) == 5
    assert "Model browser-test" in page.get_by_test_id("freshness").inner_text()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / "app-known-user.png", full_page=True)

    page.get_by_role("button", name="Another 5", exact=True).click()
    page.wait_for_function(
        """(before) => {
            const ids = [...document.querySelectorAll('[data-testid=anime-card]')]
                .map(e => e.getAttribute('data-anime-id'));
            return ids.length === 5 && ids.every(id => !before.includes(id));
        }""",
        arg=first,
    )
    second = shown_ids(page)
    assert len(second) == 5 and not set(first) & set(second)
    page.screenshot(path=ARTIFACTS / "app-another-five.png", full_page=True)
    # a hostile title in the data never runs as script
    assert page.locator("[data-testid=anime-card] script").count() == 0
    assert page.dialogs == []


def test_unknown_user_gets_a_message_a_crawl_request_and_picks_from_named_anime(
    page, app_url
) -> None:
    submit_user(page, app_url, "nobody_here")
    notice = page.get_by_test_id("unknown-user")
    notice.wait_for()
    assert "No recommendations for nobody_here yet" in notice.inner_text()

    page.get_by_role("button", name="Crawl my profile").click()
    page.get_by_text("The crawl service is not reachable right now").wait_for()

    page.get_by_label("Search a title you liked").fill("cowboy")
    page.get_by_label("Search a title you liked").press("Enter")
    liked = page.locator("[data-testid=stMultiSelect]")
    liked.get_by_text("No options to select").wait_for(state="detached")  # search rerun done
    choose(page, liked, "Cowboy Bebop")
    page.keyboard.press("Escape")
    cards = page.locator(CARDS)
    cards.nth(4).wait_for()
    assert "Because you liked Cowboy Bebop" in cards.first.inner_text()
    assert page.get_by_text("The crawl service is not reachable right now").is_visible()
    page.screenshot(path=ARTIFACTS / "app-unknown-user.png", full_page=True)


def test_invalid_input_is_refused_and_nothing_is_injected(page, app_url) -> None:
    submit_user(page, app_url, "<img src=x onerror=alert(1)>")
    page.get_by_text("does not look like a MyAnimeList username").wait_for()
    assert page.locator("img[src=x]").count() == 0
    assert page.dialogs == []


def test_similar_anime_search_shows_ranked_neighbours(page, app_url) -> None:
    page.goto(app_url)
    page.get_by_role("tab", name="Similar anime").click()
    page.get_by_label("Search an anime title").fill("bebop")
    page.get_by_label("Search an anime title").press("Enter")
    cards = page.locator("[data-testid=similar-grid] [data-testid=similar-card]")
    cards.nth(4).wait_for()
    assert "#1 · similarity" in cards.first.inner_text()
    page.screenshot(path=ARTIFACTS / "app-similar.png", full_page=True)


def test_crawled_markup_shows_as_plain_text_with_no_foreign_image_or_link(
    page, app_url, cover_server: str
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    submit_user(page, app_url, "User_1")  # whose top 20 all carry Markdown/HTML titles
    cards = page.locator(CARDS)
    cards.nth(4).wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / "app-hostile-titles.png", full_page=True)
    titles = [cards.nth(i).locator(".ar-title").inner_text() for i in range(5)]
    for title in titles:  # the markup is there, as the characters it was typed with
        assert title.startswith(
            ("Bebop ![p](http://x/p.png) [Log in](http://x/login)", "<img src=x onerror=alert(1)>")
        ), title
    images = cards.locator("img")
    assert images.count() == 5 and cards.locator("strong, b, em").count() == 0
    sources = [images.nth(i).get_attribute("src") for i in range(5)]
    assert all(src.startswith((f"{cover_server}/images/", "data:image/svg")) for src in sources)
    links = page.locator("a[href]")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert not [href for href in hrefs if "//x/" in href or href == "x"]
    card_links = cards.locator("a[href]")  # the configured MAL site (here the cover server)
    assert card_links.count() == 10
    for i in range(card_links.count()):
        card = card_links.nth(i).locator("xpath=ancestor::div[@data-anime-id]")
        expected = f"{cover_server}/anime/{card.get_attribute('data-anime-id')}"
        assert card_links.nth(i).get_attribute("href") == expected
    assert page.locator("img[src*='//x/'], img[src=x], [onerror]").count() == 0
    assert not [url for url in requested if "//x/" in url]
    assert page.dialogs == []
