"""``export/processed_dataset``: the five processed tables as a shareable, documented dataset.

Each materialization writes one version: Parquet and gzip CSV per table, a dataset card
(``README.md``) and Kaggle's ``dataset-metadata.json``. Where it goes is the ``export_target``
resource (a folder with a ``latest`` link locally, a GCS prefix in production); the export
itself is ``animerec_assets/lib/export/dataset.py``. Tables are read with SQL through the
``warehouse`` resource, not loaded by the IO manager, and the asset stores nothing back in the
warehouse.
"""

# No ``from __future__ import annotations``: Dagster inspects the real annotations.

from datetime import UTC, datetime

import dagster as dg

from animerec_assets.defs.keys import DUCKDB_POOL, EXPORT_PROCESSED_DATASET, PROCESSED_KEYS
from animerec_assets.lib.export.card import card_preview
from animerec_assets.lib.export.dataset import ExportResult, result_summary
from animerec_assets.lib.export.kaggle import DEFAULT_LICENSE
from animerec_assets.resources import ExportTargetResource, WarehouseResource


class ExportConfig(dg.Config):
    license_name: str = DEFAULT_LICENSE


def materialization_metadata(result: ExportResult) -> dict[str, dg.MetadataValue]:
    summary = result_summary(result)
    location = result.location
    return {
        "version": dg.MetadataValue.text(result.version),
        "path": (
            dg.MetadataValue.url(location) if "://" in location else dg.MetadataValue.path(location)
        ),
        "row_counts": dg.MetadataValue.json(summary["row_counts"]),
        "total_rows": dg.MetadataValue.int(summary["total_rows"]),
        "file_sizes_bytes": dg.MetadataValue.json(summary["file_sizes_bytes"]),
        "files": dg.MetadataValue.json(summary["files"]),
        "kaggle_dataset": dg.MetadataValue.text(summary["kaggle_dataset"]),
        "card": dg.MetadataValue.md(card_preview(result.card)),
    }


@dg.asset(
    key=EXPORT_PROCESSED_DATASET,
    deps=PROCESSED_KEYS,
    group_name="export",
    kinds={"parquet", "csv"},
    pool=DUCKDB_POOL,
    description=(
        "The processed tables as a versioned dataset (Parquet + gzip CSV, dataset card, Kaggle "
        "dataset-metadata.json) under the export target; `latest` names the newest version."
    ),
)
def processed_dataset(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    warehouse: WarehouseResource,
    export_target: ExportTargetResource,
) -> dg.MaterializeResult:
    result = export_target.export(
        warehouse, datetime.now(UTC), config.license_name, context.log.info
    )
    return dg.MaterializeResult(metadata=materialization_metadata(result))
