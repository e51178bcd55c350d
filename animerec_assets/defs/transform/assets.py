"""dbt models as Dagster assets, split by layer so a quality gate can stand between them.

``staging/stg_*`` and ``processed/*`` are two ``@dbt_assets`` definitions: a run materializes
staging, the blocking Great Expectations checks (checks.py) judge it, and only then does the
processed step start. dbt's own data_tests surface as asset checks on the same assets. Asset
keys are ``[schema, table]``, the same keys the warehouse IO manager uses, so the ML assets can
load ``processed/user_anime`` like any other input; sources are ``landing/<table>``, the crawl
stage's assets.
"""

# (no postponed annotations: Dagster reads context and resource annotations at runtime)

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource
from dagster_dbt import dbt_assets as dbt_assets_decorator
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_EXCLUDE_METADATA_KEY,
    DAGSTER_DBT_SELECT_METADATA_KEY,
    DAGSTER_DBT_SELECTOR_METADATA_KEY,
    get_subset_selection_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

from animerec_assets.defs.keys import DUCKDB_POOL, LANDING
from animerec_assets.defs.transform.project import animerec_dbt_project
from animerec_assets.lib.dbt_invoke import DbtTarget, invoke_build
from animerec_assets.lib.dbt_paths import prepare_manifest
from animerec_assets.resources import WarehouseResource
from animerec_assets.settings import load_settings


class AnimerecDbtTranslator(DagsterDbtTranslator):
    """Asset key = [schema, table]: landing/<table>, staging/stg_*, processed/<table>."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props["schema"]
        table = dbt_resource_props.get("alias") or dbt_resource_props["name"]
        return dg.AssetKey([schema, table])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return LANDING
        return dbt_resource_props.get("config", {}).get("schema") or "transform"


# dbt's target folder (beside the warehouse file) for every step of the transform
DBT_TARGET_FOLDER = "transform"

translator = AnimerecDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
# Built when the code location loads (the manifest must exist before ``@dbt_assets`` reads it).
_settings = load_settings()
dbt_project = animerec_dbt_project(_settings)
manifest_path = prepare_manifest(_settings)


def _selection(context: dg.AssetExecutionContext) -> list[str]:
    """The dbt selection of what this run asked for of the step (all of it, or a subset)."""
    selection, indirect = get_subset_selection_for_context(
        context=context,
        manifest=dbt_manifest(),
        select=context.op.tags.get(DAGSTER_DBT_SELECT_METADATA_KEY),
        exclude=context.op.tags.get(DAGSTER_DBT_EXCLUDE_METADATA_KEY),
        selector=context.op.tags.get(DAGSTER_DBT_SELECTOR_METADATA_KEY),
        dagster_dbt_translator=translator,
        current_dbt_indirect_selection_env=None,
    )
    return [*selection, *(["--indirect-selection", indirect] if indirect else [])]


@cache
def dbt_manifest() -> dict[str, Any]:
    """manifest.json as the asset definitions read it (for turning results into events)."""
    return json.loads(manifest_path.read_text())


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    step: str,
) -> Iterator[Any]:
    """dbt build of the step's selection, inside this process (lib/dbt_invoke.py: one dbt
    import and one parse serve every step of a transform run, which runs in one process), on
    the warehouse the IO manager and the gates use: the run's ``warehouse`` resource names it
    on the dbt command line (``--vars``), never in the process environment. Node results become
    materializations and asset checks when the build ends; a failed build raises after them."""
    target = DbtTarget(
        target=dbt.target or "local",
        # one folder for the three steps: one parse serves them all (they never run at once:
        # the DuckDB pool has one slot), and it stays put for the next run's partial parse
        target_path=warehouse.dbt_target_path(DBT_TARGET_FOLDER),
        extra_args=tuple(warehouse.dbt_args()),
        project_dir=Path(dbt.project_dir),
        profiles_dir=Path(dbt.profiles_dir or dbt.project_dir),
    )
    outcome = invoke_build(target, _selection(context))
    for raw_event in outcome.node_results:
        event = DbtCoreCliEventMessage(raw_event=raw_event, event_history_metadata={})
        context.log.info(str(event))
        yield from event.to_default_asset_events(
            manifest=dbt_manifest(),
            dagster_dbt_translator=translator,
            context=context,
            project=dbt_project,
        )
    if not outcome.success:
        raise dg.Failure(
            description=f"dbt build of {step} failed",
            metadata={"error": dg.MetadataValue.text(outcome.failure())},
        )


@dbt_assets_decorator(
    manifest=manifest_path,
    select="path:models/staging",
    name="dbt_staging",
    dagster_dbt_translator=translator,
    project=dbt_project,
    pool=DUCKDB_POOL,
)
def dbt_staging(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """Landing → staging: latest crawl per key, typed and cleaned (incremental)."""
    yield from _build(context, dbt, warehouse, "staging")


@dbt_assets_decorator(
    manifest=manifest_path,
    select="path:models/processed",
    name="dbt_processed",
    dagster_dbt_translator=translator,
    project=dbt_project,
    pool=DUCKDB_POOL,
)
def dbt_processed(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """Staging → the five published tables (only after the staging gates passed)."""
    yield from _build(context, dbt, warehouse, "processed")


@dbt_assets_decorator(
    manifest=manifest_path,
    select="path:models/feedback",
    name="dbt_feedback",
    dagster_dbt_translator=translator,
    project=dbt_project,
    pool=DUCKDB_POOL,
)
def dbt_feedback(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """Staged feedback events → the feedback tables (per model version, per reason, per
    anime); beside processed, not published."""
    yield from _build(context, dbt, warehouse, "feedback")
