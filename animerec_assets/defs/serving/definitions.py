"""The serving stage's definitions, merged by ``animerec_assets/definitions.py``."""

from __future__ import annotations

import dagster as dg

from animerec_assets.defs.serving.assets import redis_recommendations

defs = dg.Definitions(assets=[redis_recommendations])
