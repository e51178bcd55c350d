"""The feedback loop end to end: a visitor in headless Chromium clicks on the real app's cards,
the events go to the app's Redis stream, and landing/feedback (every hour the stream's entries
fall in), the dbt feedback models and feedback/online_metrics run on a fresh DuckDB; the online
metrics of the published model version count exactly what the visitor did."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from app_browser import (
    ARTIFACTS,
    another_five,
    app_env,
    card_button,
    serve_app,
    submit_user,
    wait_for_pool,
)
from app_world import (
    FAN,
    FAN_DEFAULT_POOL,
    MODEL_VERSION,
    SAGA,
    AppWorld,
    close_app_world,
    open_app_world,
)
from feedback_pipeline import build_metrics, land, query

from animerec_assets.contracts.feedback import STREAM_KEY
from animerec_assets.lib.redis_conn import embedded_socket_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOWHERE = "http://127.0.0.1:9"  # the crawl service and the covers: not needed here


@pytest.fixture(scope="module")
def world() -> Iterator[AppWorld]:
    world = open_app_world(NOWHERE, "arF-")
    try:
        yield world
    finally:
        close_app_world(world)


@pytest.fixture(scope="module")
def app_url(world: AppWorld) -> Iterator[str]:
    env = app_env(world.home, ANIMEREC_CRAWLER_SERVICE_URL=NOWHERE, ANIMEREC_MAL_BASE_URL=NOWHERE)
    yield from serve_app(env, "app-feedback-loop")


def _stream_hours(world: AppWorld) -> list[datetime]:
    """The hours the stream's entries fall in, from their ids (milliseconds since the epoch):
    clicks just before xx:00 land with their own hour, those after it with the next."""
    entries = world.client.xrange(STREAM_KEY)
    return sorted(
        {
            datetime.fromtimestamp(int(entry_id.split(b"-")[0]) / 1000, UTC).replace(
                minute=0, second=0, microsecond=0
            )
            for entry_id, _ in entries
        }
    )


def test_a_visitors_clicks_are_landed_modelled_and_counted_for_the_published_version(
    page, world: AppWorld, app_url: str, animerec_home: Path
) -> None:
    submit_user(page, app_url, FAN)
    first = wait_for_pool(page, len(FAN_DEFAULT_POOL), FAN_DEFAULT_POOL)
    shown = set(first)
    liked, disliked = [a for a in first if a != SAGA][:2]  # both shown "similar to" a title
    card_button(page, liked, "Looks good").click()
    page.get_by_text("You liked this one.").wait_for()
    card_button(page, disliked, "Not for me").click()
    # gone at once: the pool shrinks by one and a new pick takes the card's place
    remaining = [a for a in FAN_DEFAULT_POOL if a != disliked]
    shown |= set(wait_for_pool(page, len(remaining), remaining))
    another_five(page)
    shown |= set(wait_for_pool(page, len(remaining), remaining))
    page.screenshot(path=ARTIFACTS / "app-feedback-loop.png", full_page=True)

    database = animerec_home / "warehouse.duckdb"
    redis_url = f"unix://{embedded_socket_path(world.home / 'redis')}"
    entries = world.client.xlen(STREAM_KEY)
    hours = _stream_hours(world)
    assert 1 <= len(hours) <= 2
    landings = [land(database, redis_url, hour) for hour in hours]
    assert sum(landed["new_rows"] for landed in landings) == entries
    assert all(landed["invalid_entries"] == 0 for landed in landings)
    metrics = build_metrics(database, redis_url)

    cards = len(shown)
    assert metrics["newest_version"] == MODEL_VERSION
    assert (metrics["model_versions"], metrics["sessions"], metrics["cards"]) == (1, 1, cards)
    assert metrics["newest like"] == pytest.approx(1 / cards)
    assert metrics["newest not for me"] == pytest.approx(1 / cards)
    assert metrics["newest MAL click-through"] == 0.0
    assert metrics["newest picks per session"] == pytest.approx(cards)
    versions = query(database, 'select * from feedback."feedback_by_model_version"')
    assert versions["model_version"].tolist() == [MODEL_VERSION]
    counted = versions.iloc[0]
    assert (counted["likes"], counted["dislikes"], counted["hides"]) == (1, 1, 0)
    assert (counted["mal_clicks"], counted["more_requests"]) == (0, 1)
    reasons = query(database, 'select * from feedback."feedback_by_reason"')
    similar = reasons.set_index("reason_type").loc["similar_to"]
    assert (similar["likes"], similar["dislikes"]) == (1, 1)
    assert reasons["likes"].sum() == 1 and reasons["dislikes"].sum() == 1
    # the one session that saw the disliked title turned it down: reported, nothing else
    assert metrics["often_turned_down"] == 1
    assert f"| {disliked} | similar_to |" in metrics["often_turned_down_anime"]
    landed = query(database, 'select anime_id, action from landing."feedback"')
    assert set(landed.loc[landed["action"] == "shown", "anime_id"]) == shown
