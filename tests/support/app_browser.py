"""Driving the Streamlit app in headless Chromium: the app's environment, the browser and page
fixtures and the page helpers shared by the browser tests (the fixtures come to every test
folder as a plugin named in tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 30_000
CARDS = "[data-testid=anime-card]"


def app_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment the app subprocess runs with: only this home's Redis."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "ANIMEREC_ENV")}
    env.update(ANIMEREC_HOME=str(home), ANIMEREC_ENV="local", **extra)
    return env


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (Debian's), one per test module."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page; JavaScript dialogs are collected (and dismissed)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1500})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    yield page
    context.close()


def submit_user(page, url: str | None, user: str) -> None:
    """Type a username and press Recommend (``url``: load the page first)."""
    if url is not None:
        page.goto(url)
    page.get_by_label("MyAnimeList username or id").fill(user)
    page.get_by_role("button", name="Recommend", exact=True).click()


def shown_ids(page, expected: int = 5) -> list[str]:
    """The anime ids of the cards on screen, once ``expected`` of them are there."""
    cards = page.locator(CARDS)
    if expected:
        cards.nth(expected - 1).wait_for()
    return [cards.nth(i).get_attribute("data-anime-id") for i in range(cards.count())]


def wait_for_pool(page, matching: int, allowed: list[int]) -> list[int]:
    """Wait until the page says ``matching`` picks match and shows min(matching, 5) cards, all
    from ``allowed``; returns the ids on screen."""
    page.wait_for_function(
        """([matching, allowed]) => {
            if (document.querySelector('[data-stale=true]')) return false;
            const count = document.querySelector('[data-testid=pool-count]');
            if (!count || Number(count.dataset.matching) !== matching) return false;
            const ids = [...document.querySelectorAll('[data-testid=anime-card]')]
                .map(e => Number(e.dataset.animeId));
            return ids.length === Math.min(matching, 5) && ids.every(id => allowed.includes(id));
        }""",
        arg=[matching, allowed],
    )
    return [int(i) for i in shown_ids(page, 0)]


def card(page, anime_id: int):
    return page.locator(f"{CARDS}[data-anime-id='{anime_id}']")


def card_button(page, anime_id: int, label: str):
    column = page.locator("[data-testid=stColumn]").filter(has=card(page, anime_id))
    return column.get_by_role("button", name=label, exact=True)


def another_five(page) -> None:
    """Press "Another 5" and wait for its cards (with more than five picks, some are new)."""
    before = shown_ids(page, 5)
    page.get_by_role("button", name="Another 5", exact=True).click()
    page.wait_for_function(
        """(before) => !document.querySelector('[data-stale=true]') &&
            [...document.querySelectorAll('[data-testid=anime-card]')]
                .map(e => e.dataset.animeId).join() !== before.join()""",
        arg=before,
    )


def choose(page, multiselect, option: str, attempts: int = 4, *, exact: bool = False) -> None:
    """Open a Streamlit multiselect and pick an option (a rerun may close the list once)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        multiselect.locator("input").click()
        choice = page.get_by_role("option", name=option, exact=exact)
        try:
            choice.first.wait_for(timeout=5_000)
            choice.first.click()
            return
        except PlaywrightTimeout:  # the dropdown closed under a rerun: open it again
            page.keyboard.press("Escape")
    page.screenshot(path=ARTIFACTS / "app-multiselect-failure.png", full_page=True)
    raise AssertionError(f"could not pick {option!r} in the multiselect")


def serve_app(env: dict[str, str], log_name: str) -> Iterator[str]:
    """The app in a subprocess on a free port (its log under test-artifacts/), stopped after."""
    from app.launch import free_port, start_app, stop_app

    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    process = start_app(port, env, log_path=ARTIFACTS / f"{log_name}.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_app(process)
