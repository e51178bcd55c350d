"""The Streamlit script itself, run headless by Streamlit's AppTest (no browser)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.launch import APP_SCRIPT

CARD_ID = re.compile(r'data-testid="anime-card" data-anime-id="(\d+)"')


@pytest.fixture
def run_app(monkeypatch, seeded_home):
    def run(**env: str) -> AppTest:
        monkeypatch.setenv("ANIMEREC_HOME", str(seeded_home.home))
        monkeypatch.setenv("ANIMEREC_ENV", "local")
        monkeypatch.delenv("REDIS_URL", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        st.cache_resource.clear()
        return AppTest.from_file(str(APP_SCRIPT), default_timeout=30).run()

    yield run
    st.cache_resource.clear()


def _card_ids(at: AppTest) -> list[str]:
    return [i for m in at.html for i in CARD_ID.findall(m.value)]


def _submit(at: AppTest, user: str) -> AppTest:
    at.text_input[0].input(user)
    next(b for b in at.button if b.label == "Recommend").click()
    return at.run()


def test_known_user_gets_five_and_another_five(run_app) -> None:
    at = _submit(run_app(), "User_5")
    assert not at.exception
    first = _card_ids(at)
    assert len(first) == 5
    next(b for b in at.button if b.label == "Another 5").click()
    at.run()
    second = _card_ids(at)
    assert len(second) == 5 and not set(first) & set(second)


def test_invalid_and_unknown_users(run_app) -> None:
    at = _submit(run_app(), "bad name!")
    assert "does not look like a MyAnimeList username" in at.warning[0].value
    at = _submit(at, "ghost_user")
    assert any('data-testid="unknown-user"' in m.value for m in at.html)
    assert not _card_ids(at)


def test_a_link_with_the_username_opens_that_users_picks(monkeypatch, seeded_home) -> None:
    """The API's crawl hint links to /?user=NAME: the name arrives as typed input would, and is
    validated the same way."""
    monkeypatch.setenv("ANIMEREC_HOME", str(seeded_home.home))
    monkeypatch.setenv("ANIMEREC_ENV", "local")
    monkeypatch.delenv("REDIS_URL", raising=False)
    st.cache_resource.clear()

    def opened(user: str) -> AppTest:
        at = AppTest.from_file(str(APP_SCRIPT), default_timeout=30)
        at.query_params["user"] = user
        return at.run()

    assert len(_card_ids(opened("User_5"))) == 5
    at = opened("ghost_user")
    assert any('data-testid="unknown-user"' in m.value for m in at.html)
    at = opened("<script>alert(1)</script>")
    assert "does not look like a MyAnimeList username" in at.warning[0].value
    assert not _card_ids(at)
    st.cache_resource.clear()


def test_redis_down_is_a_message(run_app) -> None:
    at = run_app(REDIS_URL="redis://127.0.0.1:1/0")
    assert not at.exception
    assert "not reachable" in at.error[0].value
    assert not at.tabs


def _progress_steps(at: AppTest) -> list[tuple[str, bool]]:
    found = [m.value for m in at.html if 'data-testid="crawl-progress"' in m.value]
    assert len(found) == 1, found
    steps = re.findall(r'data-done="(true|false)">([^<]+)<', found[0])
    return [(label, done == "true") for done, label in steps]


def test_crawl_progress_goes_queued_crawled_then_published(
    monkeypatch, own_world, crawl_service
) -> None:
    """The steps come from the crawl service's scheduler and the published version."""
    from app_world import MODEL_VERSION, world_anime, world_recommendations

    from animerec_assets.lib.serving import publish
    from animerec_assets.lib.serving.synthetic import synthetic_similar

    monkeypatch.setenv("ANIMEREC_HOME", str(own_world.home))
    monkeypatch.setenv("ANIMEREC_ENV", "local")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("ANIMEREC_CRAWLER_SERVICE_URL", crawl_service.url)
    monkeypatch.setenv("ANIMEREC_SERVICE_TOKEN", crawl_service.token)
    st.cache_resource.clear()
    at = _submit(AppTest.from_file(str(APP_SCRIPT), default_timeout=30).run(), "New_Fan")
    assert any('data-testid="unknown-user"' in m.value for m in at.html)
    next(b for b in at.button if b.label == "Crawl my profile").click()
    at.run()
    assert not at.exception
    assert _progress_steps(at) == [
        ("Queued", True), ("Crawled", False), ("In the published model", False),
    ]  # fmt: skip

    crawl_service.scheduler.mark_crawled("profile", ["https://myanimelist.net/profile/new_fan"])
    next(b for b in at.button if b.label == "Check progress").click()
    at.run()
    assert _progress_steps(at) == [
        ("Queued", True), ("Crawled", True), ("In the published model", False),
    ]  # fmt: skip

    # the next model knows the new user
    recs = world_recommendations()
    new_fan = recs[recs["user_id"] == "User_1"].assign(user_id="New_Fan")
    publish(
        own_world.client,
        pd.concat([recs, new_fan], ignore_index=True),
        synthetic_similar(400),
        world_anime("http://127.0.0.1:9"),
        model_version=f"{MODEL_VERSION}-next",
    )
    next(b for b in at.button if b.label == "Recommend").click()
    at.run()
    assert len(_card_ids(at)) == 5
    assert _progress_steps(at) == [
        ("Queued", True), ("Crawled", True), ("In the published model", True),
    ]  # fmt: skip
    assert any(f"model {MODEL_VERSION}-next" in m.value for m in at.html)
    st.cache_resource.clear()
