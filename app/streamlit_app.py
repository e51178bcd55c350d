"""animerec, the Streamlit page: thin wiring of ``app.logic`` and ``app.cards`` to widgets.

Reads Redis only (never the warehouse). Every value from the data goes through ``app.cards``
(escaped HTML) or a Streamlit widget (plain text); every failure becomes a sentence.
Run with ``python -m app`` (headless, no usage statistics).
"""

from __future__ import annotations

import logging
import random

import redis
import streamlit as st

from animerec_assets.lib.redis_conn import redis_client
from animerec_assets.settings import load_settings
from app import cards, logic
from app.crawl_request import request_profile_crawl

log = logging.getLogger("animerec.app")


@st.cache_resource(show_spinner=False)
def _cached_client() -> redis.Redis:
    """One client (and connection pool) per app process; not cached when Redis is down."""
    return redis_client(load_settings())


def _rng() -> random.Random:
    if "rng" not in st.session_state:
        st.session_state.rng = random.Random()
    return st.session_state.rng


def _rotating_picks(state_key: str, recs: list, button_label: str) -> list:
    """Five picks kept across reruns; the button swaps them for five others."""
    wanted_ids = [r.anime_id for r in recs]
    stored = st.session_state.get(state_key)
    if stored is None or stored["pool"] != wanted_ids:
        stored = {"pool": wanted_ids, "shown": [r.anime_id for r in logic.pick_five(recs, _rng())]}
    if st.button(button_label, key=f"{state_key}-another", type="secondary"):
        stored["shown"] = [r.anime_id for r in logic.pick_five(recs, _rng(), stored["shown"])]
    st.session_state[state_key] = stored
    by_id = {r.anime_id: r for r in recs}
    return sorted((by_id[a] for a in stored["shown"] if a in by_id), key=lambda r: r.rank)


def _for_you(client: redis.Redis) -> None:
    with st.form("user-form", border=False):
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        raw = left.text_input(
            "MyAnimeList username or id", max_chars=logic.MAX_INPUT_CHARS, placeholder="e.g. Xinil"
        )
        submitted = right.form_submit_button("Recommend", type="primary", width="stretch")
    if submitted:
        st.session_state.user_raw = raw
        st.session_state.pop("user-picks", None)
    if not st.session_state.get("user_raw"):
        st.caption("Enter your MyAnimeList username to get five picks from your top 20.")
        return
    view = logic.load_user_view(client, st.session_state.user_raw)
    if view.status is logic.Status.INVALID:
        st.warning(view.message)
        return
    if view.status is logic.Status.UNKNOWN_USER:
        _unknown_user(client, view.user_key, view.display_name)
        return
    if view.status is not logic.Status.OK:
        (st.error if view.status is logic.Status.UNAVAILABLE else st.info)(view.message)
        return
    st.subheader(f"Picked for {view.display_name}", anchor=False)
    picks = _rotating_picks("user-picks", view.recommendations, "Another 5")
    st.html(cards.recommendation_cards_html(picks, _image_origins()))


def _image_origins() -> frozenset[str]:
    """Where covers may be loaded from (MAL's CDN; the replica's /images/ in the demo)."""
    return cards.image_origins(load_settings().mal_base_url)


def _unknown_user(client: redis.Redis, user_key: str, display_name: str) -> None:
    notice = cards.notice_html(display_name, logic.UNKNOWN_USER_MESSAGE)
    st.html(notice)
    requests: dict = st.session_state.setdefault("crawl-requests", {})
    if st.button("Crawl my profile", key="crawl-request"):
        settings = load_settings()
        requests[user_key] = request_profile_crawl(
            user_key, settings.crawler_service_url, token=settings.crawler_service_token
        )
    if user_key in requests:  # kept on screen across the reruns that follow
        result = requests[user_key]
        (st.success if result.ok else st.warning)(result.message)
    st.subheader("Meanwhile: name anime you liked", anchor=False)
    query = st.text_input("Search a title you liked", key="liked-query", max_chars=64)
    labels: dict[int, str] = dict(st.session_state.get("liked-labels", {}))
    found = logic.safe_search(client, query)
    if query and not found:
        st.caption("No title matches that search.")
    labels.update({c.anime_id: cards.search_option_label(c) for c in found})
    chosen = st.multiselect(
        "Anime you liked",
        options=list(labels),
        format_func=lambda anime_id: labels.get(anime_id, str(anime_id)),
        key="liked-ids",
    )
    st.session_state["liked-labels"] = {a: labels[a] for a in chosen}
    recs = logic.safe_from_anime(client, chosen)
    if chosen and not recs:
        st.caption("We know no similar anime for those yet.")
    if recs:
        picks = _rotating_picks("liked-picks", recs, "Another 5 like these")
        st.html(cards.recommendation_cards_html(picks, _image_origins()))


def _similar(client: redis.Redis) -> None:
    query = st.text_input("Search an anime title", key="similar-query", max_chars=64)
    if not query:
        st.caption("Type part of a title, e.g. 'bebop'.")
        return
    found = logic.safe_search(client, query)
    if not found:
        st.info("No title matches that search.")
        return
    labels = {c.anime_id: cards.search_option_label(c) for c in found}
    anime_id = st.selectbox(
        "Anime",
        options=list(labels),
        format_func=lambda anime_id: labels.get(anime_id, str(anime_id)),
    )
    if anime_id is None:  # no option chosen (cannot happen with a non-empty list; typed so)
        return
    neighbours = logic.safe_similar(client, int(anime_id))
    if not neighbours:
        st.info("No similar anime are known for this one yet.")
        return
    st.html(cards.similar_cards_html(neighbours, _image_origins()))


def main() -> None:
    st.set_page_config(page_title="animerec", page_icon="🎴", layout="wide")
    st.html(cards.CSS)
    st.title("animerec", anchor=False)
    client = logic.connect_or_none(_cached_client)
    status, freshness = logic.read_freshness(client)
    if status is not logic.Status.UNAVAILABLE:
        st.html(cards.freshness_html(logic.freshness_text(freshness)))
    if client is None or status is logic.Status.UNAVAILABLE:
        st.error(logic.REDIS_DOWN_MESSAGE)
        return
    if status is logic.Status.NOT_PUBLISHED:
        st.info(logic.NOT_PUBLISHED_MESSAGE)
        return
    for_you, similar = st.tabs(["For you", "Similar anime"])
    with for_you:
        _for_you(client)
    with similar:
        _similar(client)


try:
    main()
except Exception:  # the page must never show a traceback
    log.exception("the page failed")
    st.error("Something went wrong on our side. Please reload the page.")
