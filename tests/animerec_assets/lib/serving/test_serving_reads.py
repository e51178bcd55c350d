"""The per-request reads of app and API: a user's view without cards, cards from a cache."""

from __future__ import annotations

from animerec_assets.lib.serving import get_user_view, publish
from animerec_assets.lib.serving.filters import Catalogue
from animerec_assets.lib.serving.reads import CatalogueCache, read_user_view
from animerec_assets.lib.serving.synthetic import synthetic_user_lists


def test_the_view_comes_without_cards_while_the_cached_catalogue_is_live(
    serving_redis, prefix, small_model_output
) -> None:
    recs, similar, anime = small_model_output
    lists = synthetic_user_lists(200, 300, list_size=5)
    first = publish(
        serving_redis, recs, similar, anime, model_version="m1", prefix=prefix, user_anime=lists
    )
    cache = CatalogueCache()
    catalogue = cache.get(serving_redis, prefix)
    assert catalogue.version == first.version and len(catalogue.cards) == 300
    assert cache.get(serving_redis, prefix) is catalogue  # read once per version

    view = read_user_view(serving_redis, "User_3", catalogue, prefix)
    assert view.version == first.version and len(view.recommendations) == 20
    assert all(r.anime is None and r.reason_anime is None for r in view.recommendations)
    assert view.user_list == get_user_view(serving_redis, "user_3", prefix).user_list
    assert view.user_list

    # a publish between the catalogue read and the user read: the view brings its own cards
    second = publish(serving_redis, recs, similar, anime, model_version="m2", prefix=prefix)
    stale = read_user_view(serving_redis, "user_3", catalogue, prefix)
    assert stale.version == second.version
    assert all(r.anime is not None for r in stale.recommendations)
    assert cache.get(serving_redis, prefix).version == second.version
    # so does a view read without any catalogue (Redis was unreadable when it was loaded)
    bare = read_user_view(serving_redis, "user_3", Catalogue.of("", {}), prefix)
    assert all(r.anime is not None for r in bare.recommendations)
    assert read_user_view(serving_redis, "nobody", catalogue, prefix).recommendations == []
