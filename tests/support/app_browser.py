"""Driving the Streamlit app in headless Chromium: launch arguments and page helpers shared by
the app's browser tests (fixtures in tests/app/conftest.py)."""

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


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


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
