"""The serving store in Redis: versioned publish, atomic switch, rollback, and lookups.

Import from here; the key layout is documented in ``keys.py`` and the README.
This package imports neither Dagster nor TensorFlow, so the Streamlit app can use it.
"""

from animerec_assets.lib.serving.keys import (
    DEFAULT_PREFIX,
    InvalidKeyError,
    KeyLayout,
    normalize_title,
    user_key_of,
)
from animerec_assets.lib.serving.lookup import (
    AnimeCard,
    Freshness,
    Recommendation,
    ServingUnavailableError,
    SimilarAnime,
    UserView,
    current_version,
    get_anime,
    get_cards,
    get_freshness,
    get_recommendations,
    get_similar,
    get_user_view,
    recommend_from_anime,
    search_titles,
)
from animerec_assets.lib.serving.payloads import (
    Payloads,
    PublishInputError,
    prepare_catalogue,
    prepare_payloads,
    prepare_user_part,
    user_parts,
)
from animerec_assets.lib.serving.publish import (
    PublishError,
    PublishLockedError,
    PublishResult,
    RollbackError,
    live_versions,
    publish,
    publish_payloads,
    registered_versions,
    remove_stale_versions,
    rollback,
)

__all__ = [
    "DEFAULT_PREFIX",
    "AnimeCard",
    "Freshness",
    "InvalidKeyError",
    "KeyLayout",
    "Payloads",
    "PublishError",
    "PublishInputError",
    "PublishLockedError",
    "PublishResult",
    "Recommendation",
    "RollbackError",
    "ServingUnavailableError",
    "SimilarAnime",
    "UserView",
    "current_version",
    "get_anime",
    "get_cards",
    "get_freshness",
    "get_recommendations",
    "get_similar",
    "get_user_view",
    "live_versions",
    "normalize_title",
    "prepare_catalogue",
    "prepare_payloads",
    "prepare_user_part",
    "publish",
    "publish_payloads",
    "recommend_from_anime",
    "registered_versions",
    "remove_stale_versions",
    "rollback",
    "search_titles",
    "user_key_of",
    "user_parts",
]
