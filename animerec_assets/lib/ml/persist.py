"""Write fitted models into a folder the artifact store can publish as ``<kind>/<version>/``.

Each folder holds the Keras weights (TF checkpoint format), the vectors or lists batch inference
needs as ``.npy``, and the vocabularies that map indices back to MAL ids, so a model can be
served or inspected without the training data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from animerec_assets.lib.ml.anime_anime import AnimeAnimeModel
from animerec_assets.lib.ml.ranking import TrainedRanker
from animerec_assets.lib.ml.user_pipeline import CandidateGenerator


def _vocabulary(folder: Path, user_ids: np.ndarray | None, anime_ids: np.ndarray) -> None:
    if user_ids is not None:
        (folder / "user_ids.json").write_text(json.dumps([str(u) for u in user_ids]))
    np.save(folder / "anime_ids.npy", np.asarray(anime_ids, dtype=np.int64))


def _weights(model: Any, folder: Path, name: str) -> None:
    if model is not None:
        (folder / "weights").mkdir(parents=True, exist_ok=True)
        model.save_weights(str(folder / "weights" / name))


def save_candidate_generator(generator: CandidateGenerator, folder: Path) -> dict[str, Any]:
    """TFRS retrieval weights and tower outputs; EASE is refit from data, not stored (n^2)."""
    folder.mkdir(parents=True, exist_ok=True)
    encoded = generator.encoded
    _vocabulary(folder, encoded.user_ids, encoded.anime_ids)
    np.save(folder / "user_vectors.npy", generator.retrieval.user_vectors)
    np.save(folder / "anime_vectors.npy", generator.retrieval.anime_vectors)
    _weights(generator.retrieval.model, folder, "retrieval")
    config = {
        "retrieval": generator.retrieval.config.to_dict(),
        "ease_weight": generator.ease_weight,
        # chosen by validation NDCG@20 of EASE alone on the inner split (validation table)
        "ease_l2": generator.ease_l2,
        # chosen with ease_weight on validation Recall@300 (see the candidate validation table)
        "rp3_weight": generator.rp3_weight,
        "n_users": encoded.n_users,
        "n_anime": encoded.n_anime,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return config


def save_rankers(
    rankers: dict[str, TrainedRanker], chosen: str, folder: Path, anime_ids: np.ndarray
) -> dict[str, Any]:
    """Every ranker's weights and which one serves; ``anime_ids`` is the catalogue the rankers'
    anime indices point into."""
    folder.mkdir(parents=True, exist_ok=True)
    _vocabulary(folder, None, anime_ids)
    for loss, ranker in rankers.items():
        _weights(ranker.model, folder, f"ranker_{loss}")
    config = {
        "chosen": chosen,
        "rankers": {loss: ranker.config.to_dict() for loss, ranker in rankers.items()},
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return config


def save_anime_anime(model: AnimeAnimeModel, folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    _vocabulary(folder, None, model.anime_ids)
    np.save(folder / "retrieved.npy", model.retrieved.astype(np.int32))
    np.save(folder / "ranked.npy", model.ranked.astype(np.int32))
    _weights(model.retrieval_model, folder, "retrieval")
    _weights(model.ranking_model, folder, "ranking")
    config = model.config.to_dict()
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return config
