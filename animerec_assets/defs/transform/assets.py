"""dbt models as Dagster assets, split by layer so a quality gate can stand between them.

``staging/stg_*`` and ``processed/*`` are two ``@dbt_assets`` definitions: a run materializes
staging, the blocking Great Expectations checks (checks.py) judge it, and only then does the
processed step start. dbt's own data_tests surface as asset checks on the same assets. Asset
keys are ``[schema, table]``, the same keys the warehouse IO manager uses, so the ML assets can
load ``processed/user_anime`` like any other input; sources are ``landing/<table>``, the crawl
stage's assets.
"""

# (no postponed annotations: Dagster reads context and resource annotations at runtime)

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource
from dagster_dbt import dbt_assets as dbt_assets_decorator

from animerec_assets.defs.keys import DUCKDB_POOL, LANDING
from animerec_assets.defs.transform.project import animerec_dbt_project
from animerec_assets.lib.dbt_paths import prepare_manifest
from animerec_assets.resources import WarehouseResource
from animerec_assets.settings import load_settings

# Unit tests run in CI (`dbt test --select test_type:unit`), not on every materialization.
DBT_BUILD = ["build", "--exclude-resource-type", "unit_test"]


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


translator = AnimerecDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
# Built when the code location loads (the manifest must exist before ``@dbt_assets`` reads it).
_settings = load_settings()
dbt_project = animerec_dbt_project(_settings)
manifest_path = prepare_manifest(_settings)


def _build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """dbt build on the warehouse the IO manager and the gates use: the run's ``warehouse``
    resource names it on the dbt command line (``--vars``), never in the process environment."""
    yield from dbt.cli([*DBT_BUILD, *warehouse.dbt_args()], context=context).stream()


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
    yield from _build(context, dbt, warehouse)


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
    yield from _build(context, dbt, warehouse)


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
    yield from _build(context, dbt, warehouse)
