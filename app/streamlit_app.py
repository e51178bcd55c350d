"""animerec, the Streamlit page: thin wiring of ``app.logic`` and ``app.cards`` to widgets.

Reads Redis only (never the warehouse). Every value from the data goes through ``app.cards``
(escaped HTML) or a Streamlit widget (plain text); every failure becomes a sentence.
The visitor's hidden titles, likes and anonymous session id live in ``st.session_state`` (their
browser session): nothing here writes anything keyed by a username.
Run with ``python -m app`` (headless, no usage statistics).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis
import streamlit as st

from animerec_assets.contracts.feedback import FeedbackAction
from animerec_assets.lib.redis_conn import redis_client
from animerec_assets.lib.serving import Freshness, Recommendation
from animerec_assets.lib.serving.filters import MAX_CHOICES, Catalogue, Filters
from animerec_assets.lib.serving.reads import CatalogueCache
from animerec_assets.settings import load_settings
from app import cards, feedback, logic
from app.crawl_request import profile_crawl_status, request_profile_crawl

log = logging.getLogger("animerec.app")

CARD_BUTTONS: tuple[tuple[str, FeedbackAction], ...] = (
    ("Looks good", "like"),
    ("Not for me", "dislike"),
    ("Not interested", "hide"),
)


@st.cache_resource(show_spinner=False)
def _cached_client() -> redis.Redis:
    """One client (and connection pool) per app process; not cached when Redis is down."""
    return redis_client(load_settings())


@st.cache_resource(show_spinner=False)
def _catalogue_cache() -> CatalogueCache:
    """Every card of the live version, read once per version (not per visitor)."""
    return CatalogueCache()


def _catalogue(client: redis.Redis | None, freshness: Freshness | None) -> Catalogue:
    if client is None or freshness is None:
        return st.session_state.get("last-catalogue") or Catalogue.of("", {})
    catalogue = logic.load_catalogue(client, _catalogue_cache())
    if not catalogue.version:  # unreadable just now: the cards this visitor already had
        return st.session_state.get("last-catalogue") or catalogue
    st.session_state["last-catalogue"] = catalogue
    return catalogue


def _rng() -> random.Random:
    if "rng" not in st.session_state:
        st.session_state.rng = random.Random()
    return st.session_state.rng


def _session_id() -> str:
    """The anonymous id of this browser session, rotated as the feedback contract says."""
    session = logic.current_session(st.session_state.get("visitor-session"), datetime.now(UTC))
    st.session_state["visitor-session"] = session
    return session.session_id


def _record(action: FeedbackAction, context: dict[str, Any], card: logic.CardEvent | None) -> None:
    """One feedback event (record_event never raises: an outage loses the event, not the page)."""
    fields = logic.event_fields(
        session_id=_session_id(),
        model_version=context["model_version"],
        action=action,
        username=context["username"],
        card=card,
    )
    feedback.record(logic.connect_or_none(_cached_client), fields)


def _on_card_button(action: FeedbackAction, context: dict[str, Any], card: logic.CardEvent) -> None:
    """A card button: hide at once for "Not interested"/"Not for me", then the event."""
    if action in ("hide", "dislike"):
        st.session_state["hidden-ids"] = logic.hide(
            st.session_state.get("hidden-ids", []), card.anime_id
        )
    if action == "like":
        st.session_state.setdefault("liked-cards", set()).add(card.anime_id)
    _record(action, context, card)


def _on_another(state_key: str, context: dict[str, Any]) -> None:
    st.session_state.setdefault(state_key, {})["another"] = True
    _record("more", context, None)


def _filter_widgets(catalogue: Catalogue) -> Filters:
    """The read-time filters as widgets; their defaults are the ``Filters`` defaults."""
    defaults = logic.DEFAULT_FILTERS
    types, genres = logic.filter_options(catalogue)
    with st.expander("Filters", expanded=False):
        left, middle, right = st.columns(3)
        chosen_types = left.multiselect(
            "Types", types, key="f-types", max_selections=MAX_CHOICES, placeholder="Any type"
        )
        excluded = middle.multiselect(
            "Leave out genres", genres, key="f-genres", max_selections=MAX_CHOICES,
            placeholder="No genre left out",
        )  # fmt: skip
        min_members = right.number_input(
            "Minimum members", min_value=0, max_value=logic.MAX_MIN_MEMBERS,
            value=defaults.min_members, step=1000, key="f-members",
        )  # fmt: skip
        a, b, c = st.columns(3)
        upcoming = a.checkbox("Include upcoming", defaults.include_upcoming, key="f-upcoming")
        adult = a.checkbox("Adult titles", defaults.include_adult, key="f-adult")
        plan = b.checkbox(
            "Include plan-to-watch", defaults.include_plan_to_watch, key="f-plan",
            help="Titles on your list are never recommended; this lets plan-to-watch back in.",
        )  # fmt: skip
        order = c.checkbox(
            "Franchise order", defaults.franchise_order, key="f-order",
            help="A sequel only after its prequel; otherwise the franchise's first entry.",
        )  # fmt: skip
        one = c.checkbox("One per franchise", defaults.one_per_franchise, key="f-one")
        hidden = st.session_state.get("hidden-ids", [])
        if hidden and st.button(f"Show the {len(hidden)} hidden title(s) again", key="unhide"):
            st.session_state["hidden-ids"] = hidden = []
    return logic.build_filters(
        include_plan_to_watch=plan,
        include_upcoming=upcoming,
        types=chosen_types,
        exclude_genres=excluded,
        include_adult=adult,
        min_members=min_members,
        franchise_order=order,
        one_per_franchise=one,
        hidden=hidden,
    )


def _picks(
    state_key: str,
    recs: Sequence[Recommendation],
    catalogue: Catalogue,
    filters: Filters,
    context: dict[str, Any],
    button_label: str,
    user_list: dict[int, str] | None = None,
) -> None:
    """Five of what the filters leave, their buttons, and "Another 5" over the same pool."""
    pool = logic.filtered_pool(
        recs, catalogue, filters, datetime.now(UTC).date(), user_list=user_list
    )
    stored = st.session_state.setdefault(state_key, {})
    if stored.pop("another", False):
        shown = logic.pick_five(pool, _rng(), stored.get("shown", []))
    else:
        shown = logic.keep_and_top_up(pool, stored.get("shown", []), _rng())
    stored["shown"] = [r.anime_id for r in shown]
    st.html(cards.pool_count_html(len(pool), len(recs)))
    if not shown:
        st.info("No pick matches these filters. Loosen them to see more.")
        return
    events = logic.card_events(shown)
    seen: set = stored.setdefault("recorded", set())
    for event in events:  # "shown" once per card, place and model version
        key = (context["model_version"], event.anime_id, event.position)
        if key not in seen:
            seen.add(key)
            _record("shown", context, event)
    st.button(
        button_label,
        key=f"{state_key}-another",
        on_click=_on_another,
        args=(state_key, context),
        disabled=len(pool) <= logic.PICKS,  # nothing else to show
    )
    settings = load_settings()
    origins = cards.image_origins(settings.mal_base_url)
    liked = st.session_state.get("liked-cards", set())
    for column, rec, event in zip(st.columns(logic.PICKS), shown, events, strict=False):
        with column:
            link = logic.click_url(
                rec.anime_id,
                position=event.position,
                reason_type=event.reason_type,
                session_id=_session_id(),
                model_version=context["model_version"],
                mal_base_url=settings.mal_base_url,
                api_url=settings.api_url,
            )
            st.html(cards.recommendation_card_html(rec, event.position, link, origins))
            for label, action in CARD_BUTTONS:
                st.button(
                    label,
                    key=f"{state_key}-{action}-{rec.anime_id}",
                    on_click=_on_card_button,
                    args=(action, context, event),
                    width="stretch",
                )
            if rec.anime_id in liked:
                st.caption("You liked this one.")


def _for_you(client: redis.Redis | None, freshness: Freshness | None) -> None:
    with st.form("user-form", border=False):
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        raw = left.text_input(
            "MyAnimeList username or id", max_chars=logic.MAX_INPUT_CHARS, placeholder="e.g. Xinil"
        )
        submitted = right.form_submit_button("Recommend", type="primary", width="stretch")
    if submitted:
        st.session_state.user_raw = raw
        st.session_state.pop("user-picks", None)
    elif "user_raw" not in st.session_state and st.query_params.get("user"):
        # a link such as the API's crawl hint (/?user=NAME): validated like typed input below
        st.session_state.user_raw = st.query_params["user"][: logic.MAX_INPUT_CHARS]
    if not st.session_state.get("user_raw"):
        st.caption("Enter your MyAnimeList username to get five picks from your top 20.")
        return
    catalogue = _catalogue(client, freshness)  # the cards: the view is read without them
    view = logic.load_user_view(client, st.session_state.user_raw, catalogue)
    last = st.session_state.get("last-view")
    if view.status is logic.Status.UNAVAILABLE and last and last.user_key == view.user_key:
        view = last  # the store went away: keep showing the picks this visitor already had
    if view.status is logic.Status.INVALID:
        st.warning(view.message)
        return
    if view.status is logic.Status.UNKNOWN_USER:
        _unknown_user(client, freshness, view.user_key, view.display_name)
        return
    if view.status is not logic.Status.OK:
        (st.error if view.status is logic.Status.UNAVAILABLE else st.info)(view.message)
        return
    st.session_state["last-view"] = view
    _crawl_done_note(view.user_key, freshness)
    st.subheader(f"Picked for {view.display_name}", anchor=False)
    filters = _filter_widgets(catalogue)
    context = _context(freshness, username=view.user_key)
    _picks(
        "user-picks", view.recommendations, catalogue, filters, context, "Another 5",
        user_list=view.user_list,
    )  # fmt: skip


def _context(freshness: Freshness | None, username: str | None) -> dict[str, Any]:
    """What every event of these cards carries besides the card itself."""
    return {"model_version": freshness.model_version if freshness else "", "username": username}


def _crawl_done_note(user_key: str, freshness: Freshness | None) -> None:
    """A visitor who asked for a crawl in this session sees it reach the published model."""
    if user_key in st.session_state.get("crawl-requested-at", {}):
        _progress(logic.crawl_progress(
            requested_at=st.session_state["crawl-requested-at"][user_key],
            last_crawled_at=None, status_readable=True, freshness=freshness,
            has_recommendations=True,
        ))  # fmt: skip


def _progress(progress: logic.CrawlProgress) -> None:
    st.html(cards.crawl_progress_html(logic.progress_steps(progress), progress.message))


def _unknown_user(
    client: redis.Redis | None, freshness: Freshness | None, user_key: str, display_name: str
) -> None:
    notice = cards.notice_html(display_name, logic.UNKNOWN_USER_MESSAGE)
    st.html(notice)
    requests: dict = st.session_state.setdefault("crawl-requests", {})
    requested_at: dict = st.session_state.setdefault("crawl-requested-at", {})
    settings = load_settings()
    if st.button("Crawl my profile", key="crawl-request"):
        requests[user_key] = result = request_profile_crawl(
            user_key, settings.crawler_service_url, token=settings.crawler_service_token
        )
        if result.ok:
            requested_at.setdefault(user_key, datetime.now(UTC))
    if user_key in requests:  # kept on screen across the reruns that follow
        result = requests[user_key]
        (st.success if result.ok else st.warning)(result.message)
    if user_key in requested_at:
        status = profile_crawl_status(
            user_key, settings.crawler_service_url, token=settings.crawler_service_token
        )
        _progress(logic.crawl_progress(
            requested_at=requested_at[user_key],
            last_crawled_at=status.last_crawled_at if status else None,
            status_readable=status is not None, freshness=freshness, has_recommendations=False,
        ))  # fmt: skip
        st.button("Check progress", key="crawl-progress")  # a rerun reads the status again
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
        catalogue = _catalogue(client, freshness)
        filters = _filter_widgets(catalogue)
        # the typed name is not who these picks are for: no username on their events
        context = _context(freshness, username=None)
        _picks("liked-picks", recs, catalogue, filters, context, "Another 5 like these")


def _similar(client: redis.Redis | None) -> None:
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
    settings = load_settings()
    origins = cards.image_origins(settings.mal_base_url)
    st.html(cards.similar_cards_html(neighbours, origins, settings.mal_base_url))


def main() -> None:
    st.set_page_config(page_title="animerec", page_icon="🎴", layout="wide")
    st.html(cards.CSS)
    st.title("animerec", anchor=False)
    client = logic.connect_or_none(_cached_client)
    status, freshness = logic.read_freshness(client)
    if status is logic.Status.UNAVAILABLE and "last-view" in st.session_state:
        # the store went away after this visitor's picks were shown: keep the page, say so
        st.warning(logic.STORE_LOST_MESSAGE)
        client, freshness = None, st.session_state.get("last-freshness")
    elif client is None or status is logic.Status.UNAVAILABLE:
        st.error(logic.REDIS_DOWN_MESSAGE)
        return
    elif status is logic.Status.NOT_PUBLISHED:
        st.info(logic.NOT_PUBLISHED_MESSAGE)
        return
    else:
        st.session_state["last-freshness"] = freshness
    st.html(cards.freshness_html(logic.freshness_text(freshness)))
    for_you, similar = st.tabs(["For you", "Similar anime"])
    with for_you:
        _for_you(client, freshness)
    with similar:
        _similar(client)


try:
    main()
except Exception:  # the page must never show a traceback
    log.exception("the page failed")
    st.error("Something went wrong on our side. Please reload the page.")
