"""What the app and the API read per request: a user's view without cards, cards from a cache.

A user's published list names ~150 anime and their reasons ~100 more; reading those cards from
Redis on every request (``get_user_view(with_cards=True)``) made Redis decode the list and send
~250 cards each time. The catalogue of one version is a few MB and changes only with a publish,
so a process keeps it (``CatalogueCache``, keyed by the live version) and reads a user's view
without cards (``read_user_view``); the read-time filters then take the cards of what they keep
from the catalogue.
"""

from __future__ import annotations

import threading

import redis

from animerec_assets.lib.serving.filters import Catalogue
from animerec_assets.lib.serving.lookup import (
    UserView,
    current_version,
    get_catalogue,
    get_user_view,
)


class CatalogueCache:
    """The live version's cards, read once per version rather than per request (thread-safe:
    concurrent requests after a publish read the new catalogue once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catalogue = Catalogue.of("", {})

    def get(self, client: redis.Redis, prefix: str | None = None) -> Catalogue:
        """The live version's catalogue (empty before the first publish); raises
        ``ServingUnavailableError`` when Redis cannot be read."""
        live = current_version(client, prefix)
        if live and live == self._catalogue.version:
            return self._catalogue
        with self._lock:
            if live != self._catalogue.version:
                version, cards = get_catalogue(client, prefix)
                self._catalogue = Catalogue.of(version, cards)
            return self._catalogue


def read_user_view(
    client: redis.Redis, user: str, catalogue: Catalogue, prefix: str | None = None
) -> UserView:
    """The user's recommendations and MAL list, without cards when ``catalogue`` is of the
    version the read saw; when a publish switched versions in between (or the catalogue is
    empty), the user is read again with the cards of their own version."""
    view = get_user_view(client, user, prefix, with_cards=False)
    if not view.version or (view.version == catalogue.version and catalogue.cards):
        return view
    return get_user_view(client, user, prefix, with_cards=True)
