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


def test_studio_and_relation_features_follow_the_liked_anime() -> None:
    anime = ANIME.assign(studios=[["Bones"], ["Bones", "Madhouse"], ["Madhouse"], None])
    related = pd.DataFrame(
        {
            "animeA": [10, 30, 20, 555],
            "animeB": [40, 40, 20, 10],  # 20-20 (self) and 555 (outside the catalogue): ignored
            "related": [True, False, True, True],
        }
    )
    content = AnimeContent.from_anime(anime, np.array([10, 20, 30, 40]), related)
    liked_10 = sparse.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]], np.float32))
    features = content.features(liked_10, np.array([[1, 2, 3, -1], [0, 1, 2, 3]]))
    studio = features[..., CONTENT_FEATURES.index("studio_affinity")]
    relation = features[..., CONTENT_FEATURES.index("related_liked")]
    # the user liked a Bones anime: 20 (Bones) shares it, 30 (Madhouse) and 40 (none) do not
    assert studio[0].tolist() == [1.0, 0.0, 0.0, 0.0]
    # 40 is related to the liked 10 (the 30-40 pair is not a relation); padding stays 0
    assert relation[0].tolist() == [0.0, 0.0, np.float32(np.log1p(1.0)), 0.0]
    assert (features[1, :, 4:] == 0).all()  # a user who liked nothing: neutral


def test_no_studios_and_no_relations_give_zero_features() -> None:
    content = AnimeContent.from_anime(ANIME, np.array([10, 20]))
    features = content.features(sparse.csr_matrix(np.ones((1, 2), np.float32)), np.array([[0, 1]]))
    assert (features[..., CONTENT_FEATURES.index("studio_affinity")] == 0).all()
    assert (features[..., CONTENT_FEATURES.index("related_liked")] == 0).all()
