"""Run configuration of the ML assets (what the launchpad edits) and its mapping onto the
pure model configs of ``animerec_assets/lib/ml``. Defaults are the values measured in
``animerec bench quality``."""

# No ``from __future__ import annotations``: Dagster's Config classes are pydantic models.

from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

if TYPE_CHECKING:
    from animerec_assets.lib.ml.anime_anime import AnimeAnimeConfig
    from animerec_assets.lib.ml.evaluation import EvaluationConfig
    from animerec_assets.lib.ml.user_pipeline import UserAnimeConfig


class UserAnimeTraining(dg.Config):
    """User -> anime retrieval and ranking."""

    retrieval_epochs: int = 12
    embedding_dim: int = 64
    ranking_epochs: int = 5
    n_candidates: int = 300
    seed: int = 0


class AnimeAnimeTraining(dg.Config):
    retrieval_epochs: int = 8
    ranking_epochs: int = 4
    co_completion_window_days: float = 14.0
    co_completion_min_users: int = 3
    n_candidates: int = 300
    seed: int = 0


class EvaluationSettings(dg.Config):
    seeds: list[int] = Field(default_factory=lambda: [0])
    retrieval_epochs: int = 12
    ranking_epochs: int = 5
    anime_anime_epochs: int = 8


def user_anime_config(config: UserAnimeTraining) -> "UserAnimeConfig":
    from animerec_assets.lib.ml.ranking import RankingConfig
    from animerec_assets.lib.ml.user_anime import RetrievalConfig
    from animerec_assets.lib.ml.user_pipeline import UserAnimeConfig

    return UserAnimeConfig(
        retrieval=RetrievalConfig(
            epochs=config.retrieval_epochs, embedding_dim=config.embedding_dim, seed=config.seed
        ),
        ranking=RankingConfig(epochs=config.ranking_epochs, seed=config.seed),
        n_candidates=config.n_candidates,
        seed=config.seed,
    )


def anime_anime_config(config: AnimeAnimeTraining) -> "AnimeAnimeConfig":
    from animerec_assets.lib.ml.anime_anime import AnimeAnimeConfig

    return AnimeAnimeConfig(
        retrieval_epochs=config.retrieval_epochs,
        ranking_epochs=config.ranking_epochs,
        co_completion_window_days=config.co_completion_window_days,
        co_completion_min_users=config.co_completion_min_users,
        n_candidates=config.n_candidates,
        seed=config.seed,
    )


def evaluation_config(config: EvaluationSettings) -> "EvaluationConfig":
    from animerec_assets.lib.ml.anime_anime import AnimeAnimeConfig
    from animerec_assets.lib.ml.evaluation import EvaluationConfig

    user_anime = UserAnimeTraining(
        retrieval_epochs=config.retrieval_epochs, ranking_epochs=config.ranking_epochs
    )
    return EvaluationConfig(
        user_anime=user_anime_config(user_anime),
        anime_anime=AnimeAnimeConfig(retrieval_epochs=config.anime_anime_epochs),
    )
