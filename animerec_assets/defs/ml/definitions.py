"""The ML stage's definitions, merged by ``animerec_assets/definitions.py``."""

from __future__ import annotations

import dagster as dg

from animerec_assets.defs.ml.assets import (
    anime_anime_ranked,
    user_anime_ranked,
    user_anime_retrieval,
)
from animerec_assets.defs.ml.evaluation import evaluation, final_model_beats_popularity

defs = dg.Definitions(
    assets=[user_anime_retrieval, user_anime_ranked, anime_anime_ranked, evaluation],
    asset_checks=[final_model_beats_popularity],
)
