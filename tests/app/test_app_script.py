"""The Streamlit script itself, run headless by Streamlit's AppTest (no browser)."""

from __future__ import annotations

import re

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


def test_redis_down_is_a_message(run_app) -> None:
    at = run_app(REDIS_URL="redis://127.0.0.1:1/0")
    assert not at.exception
    assert "not reachable" in at.error[0].value
    assert not at.tabs
