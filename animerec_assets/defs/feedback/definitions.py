"""The feedback stage's definitions: the hourly landing of visitors' events, and the online
metrics (dbt's feedback tables are in the transform stage with the other dbt models)."""

from __future__ import annotations

import dagster as dg

from animerec_assets.defs.feedback.assets import landing_feedback, online_metrics

defs = dg.Definitions(assets=[landing_feedback, online_metrics])
