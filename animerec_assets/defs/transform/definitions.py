"""The transform stage: dbt staging and processed assets, and their quality gates."""

from __future__ import annotations

import dagster as dg

from animerec_assets.defs.transform.assets import dbt_feedback, dbt_processed, dbt_staging
from animerec_assets.defs.transform.checks import all_gates
from animerec_assets.defs.transform.compaction import landing_compaction
from animerec_assets.defs.transform.optout import optout

transform_assets: list[dg.AssetsDefinition] = [dbt_staging, dbt_processed]
transform_checks: list[dg.AssetChecksDefinition] = all_gates()

defs = dg.Definitions(
    assets=[*transform_assets, dbt_feedback, landing_compaction, optout],
    asset_checks=transform_checks,
)
