"""The export stage's definitions, merged by ``animerec_assets/definitions.py``."""

from __future__ import annotations

import dagster as dg

from animerec_assets.defs.export.assets import processed_dataset

defs = dg.Definitions(assets=[processed_dataset])
