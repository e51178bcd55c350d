"""The Dagster code location: every stage's definitions merged, plus the environment's resources.

Each stage keeps its own ``Definitions`` in ``defs/<stage>/`` (crawl, feedback, transform, ml,
serving, export, automation); this module only merges them and binds what ``ANIMEREC_ENV`` selects:
the resources (``resources/``) and the model job's executor. Loading is lazy: nothing heavy is
imported until Dagster asks for the definitions.
"""

from __future__ import annotations

import dagster as dg

from animerec_assets.resources import build_resources
from animerec_assets.settings import Settings, load_settings


def stage_definitions(settings: Settings) -> list[dg.Definitions]:
    """The per-stage definitions, in data-flow order."""
    from animerec_assets.defs.automation.definitions import automation_definitions
    from animerec_assets.defs.crawl.definitions import defs as crawl
    from animerec_assets.defs.export.definitions import defs as export
    from animerec_assets.defs.feedback.definitions import defs as feedback
    from animerec_assets.defs.ml.definitions import defs as ml
    from animerec_assets.defs.serving.definitions import defs as serving
    from animerec_assets.defs.transform.definitions import defs as transform

    return [
        crawl,
        feedback,
        transform,
        ml,
        serving,
        export,
        automation_definitions(settings.env),
    ]


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """Every stage's definitions with the resources (and the model job's executor) of the
    environment in ``settings`` (default: ``ANIMEREC_ENV``)."""
    from animerec_assets.defs.automation.definitions import PROCESSED_FRESHNESS
    from animerec_assets.defs.keys import PROCESSED

    settings = settings or load_settings()
    merged = dg.Definitions.merge(
        *stage_definitions(settings),
        dg.Definitions(resources=build_resources(settings)),
    )
    # The published tables are expected to be refreshed every few hours (hourly crawls).
    return merged.map_resolved_asset_specs(
        func=lambda spec: dg.apply_freshness_policy(spec, PROCESSED_FRESHNESS),
        selection=dg.AssetSelection.key_prefixes([PROCESSED]),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
