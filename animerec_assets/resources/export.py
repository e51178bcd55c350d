"""Where the processed dataset is exported: a local folder (DuckDB writes the files) or a GCS
prefix (BigQuery ``EXPORT DATA`` writes them). The export itself is
``animerec_assets/lib/export/dataset.py``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path

import dagster as dg

from animerec_assets.lib.export.dataset import (
    ExportResult,
    Log,
    export_processed,
    export_processed_to_gcs,
)
from animerec_assets.lib.warehouse import SqlWarehouse

GCS_EXPORT_FOLDER = "dataset_export"


class ExportTargetResource(dg.ConfigurableResource, ABC):
    """Writes one version of the dataset described as Kaggle's ``dataset_id``."""

    dataset_id: str

    @abstractmethod
    def export(
        self, warehouse: SqlWarehouse, now: datetime, license_name: str, log: Log
    ) -> ExportResult:
        """Write the version named by ``now``; the warehouse writes the table files itself."""


class FolderExportTarget(ExportTargetResource):
    """Local: ``<folder>/<version>/`` and a ``latest`` link, written by DuckDB ``COPY``."""

    folder: str

    def export(
        self, warehouse: SqlWarehouse, now: datetime, license_name: str, log: Log
    ) -> ExportResult:
        return export_processed(
            warehouse, Path(self.folder), self.dataset_id, now, license_name, log
        )


class GcsExportTarget(ExportTargetResource):
    """Production: ``<uri>/<version>/`` shards written by BigQuery, then ``LATEST``."""

    uri: str

    def export(
        self, warehouse: SqlWarehouse, now: datetime, license_name: str, log: Log
    ) -> ExportResult:
        return export_processed_to_gcs(warehouse, self.uri, self.dataset_id, now, license_name, log)
