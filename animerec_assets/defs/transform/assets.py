"""dbt models as Dagster assets, split by layer so a quality gate can stand between them.

``staging/stg_*`` and ``processed/*`` are two ``@dbt_assets`` definitions: a run materializes
staging, the blocking Great Expectations checks (checks.py) judge it, and only then does the
processed step start. dbt's own data_tests surface as asset checks on the same assets. Asset
keys are ``[schema, table]``, the same keys the warehouse IO manager uses, so the ML assets can
load ``processed/user_anime`` like any other input; sources are ``landing/<table>``, the crawl
stage's assets.
"""

# (no postponed annotations: Dagster reads context and resource annotations at runtime)

import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource
from dagster_dbt import dbt_assets as dbt_assets_decorator

from animerec_assets.defs.transform.project import animerec_dbt_project, prepare_manifest
from animerec_assets.resources import WarehouseResource

DUCKDB_POOL = "duckdb"
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
            return "landing"
        return dbt_resource_props.get("config", {}).get("schema") or "transform"


translator = AnimerecDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
dbt_project = animerec_dbt_project()
manifest_path = prepare_manifest()


def _build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """dbt build on the warehouse file the IO manager and the gates use. The dbt profile reads
    ANIMEREC_DUCKDB_PATH and DbtCliResource passes this process's environment on (it has no
    env parameter), so the path is set from the run's own warehouse resource."""
    os.environ["DO_NOT_TRACK"] = "1"
    if warehouse.kind == "duckdb":
        os.environ["ANIMEREC_DUCKDB_PATH"] = warehouse.duckdb_path
    yield from dbt.cli(DBT_BUILD, context=context).stream()


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
