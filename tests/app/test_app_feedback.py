"""The app's feedback events through the real feedback library into a real Redis stream."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from animerec_assets.lib.feedback.events import new_session_id
from animerec_assets.lib.feedback.stream import FeedbackKeys
from animerec_assets.lib.serving import AnimeCard, Recommendation
from app import feedback, logic


def _fields(action: str = "like", **extra: object) -> dict[str, object]:
    rec = Recommendation(1, 42, 0.9, reason_anime_id=7, reason_anime=AnimeCard(7, "Bebop"))
    fields = logic.event_fields(
        session_id=new_session_id(),
        model_version="model-1",
        action=action,  # type: ignore[arg-type]
        username="Some_User",
        card=logic.card_events([rec])[0],
    )
    fields.update(extra)
    return fields


def test_an_event_lands_in_the_stream_with_the_contract_fields(seeded_home) -> None:
    client = seeded_home.client
    result = feedback.record(client, _fields())
    assert result is not None and result.recorded
    entry_id, stored = client.xrange(FeedbackKeys().stream, min=result.event_id)[0]
    assert entry_id.decode() == result.event_id
    decoded = {k.decode(): v.decode() for k, v in stored.items()}
    assert decoded["action"] == "like" and decoded["anime_id"] == "42"
    assert decoded["position"] == "0" and decoded["reason_type"] == "similar_to"
    assert decoded["username"] == "some_user" and decoded["origin"] == "app"


def test_invalid_events_are_refused_and_an_outage_is_no_error() -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    assert feedback.record(dead, _fields(session_id="not a session id")) is None
    result = feedback.record(dead, _fields())
    assert result is not None and result.status == "unavailable"
    assert feedback.record(None, _fields()).status == "unavailable"  # type: ignore[union-attr]
