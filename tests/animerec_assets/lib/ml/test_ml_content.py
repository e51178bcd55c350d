"""Content features: what the ranker learns beyond ids (genre/type affinity, MAL stats)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from animerec_assets.lib.ml.content import CONTENT_FEATURES, AnimeContent

ANIME = pd.DataFrame(
    {
        "anime_id": [10, 20, 30, 40],
        "genres": [["Action", "Drama"], ["Action"], ["Romance"], ["Romance", "Romance"]],
        "type": ["TV", "TV", "Movie", None],
        "score": [8.0, 7.0, None, 6.0],
        "members_count": [1000, 10, 100, None],
    }
)


def test_affinities_follow_what_the_user_liked() -> None:
    content = AnimeContent.from_anime(ANIME, np.array([10, 20, 30, 40, 99]))
    liked_action_tv = sparse.csr_matrix(np.array([[1, 1, 0, 0, 0]], np.float32))
    features = content.features(liked_action_tv, np.array([[1, 2, 3, 4, -1]]))
    genre = features[0, :, CONTENT_FEATURES.index("genre_affinity")]
    kind = features[0, :, CONTENT_FEATURES.index("type_affinity")]
    assert genre[0] > 0.9 and genre[1] == 0.0 and genre[2] == 0.0  # Action vs Romance
    assert genre[3] == 0.0  # anime 99 has no metadata: neutral, not an error
    assert kind[0] == 1.0 and kind[1] == 0.0 and kind[3] == 0.0
    scores = features[0, :, CONTENT_FEATURES.index("mal_score")]
    assert scores[1] == np.float32(7.0)  # the unknown score (30) becomes the mean 7.0
    assert scores[0] == np.float32(7.0)
    assert np.isfinite(features).all()


def test_duplicate_genres_count_once() -> None:
    content = AnimeContent.from_anime(ANIME, np.array([30, 40]))
    norms = np.sqrt(np.asarray(content.genres.multiply(content.genres).sum(axis=1)).ravel())
    assert np.allclose(norms, 1.0)
    assert np.allclose(content.genres.toarray()[0], content.genres.toarray()[1])


def test_an_anime_table_without_metadata_columns_gives_neutral_features() -> None:
    content = AnimeContent.from_anime(ANIME[["anime_id"]], np.array([10, 20]))
    liked = sparse.csr_matrix(np.array([[1, 0]], np.float32))
    features = content.features(liked, np.array([[1, 0]]))
    assert np.isfinite(features).all()
    assert (features[..., CONTENT_FEATURES.index("genre_affinity")] == 0).all()
