"""Compile the dbt project for the BigQuery (`prod`) target without a network.

Run as a script by test_bigquery_sql.py (dbt keeps global adapter state, so it gets its own
process): ``python render_bigquery_sql.py PROJECT_DIR OUTPUT_DIR`` writes the compiled models to
OUTPUT_DIR/full and OUTPUT_DIR/incremental.

dbt-bigquery renders every model with its own macros (safe_cast, to_json_string, unnest, ...);
only the two things that need Google's API are answered locally: opening a connection (no
credentials here) and catalog lookups. Landing tables exist; the model's own table does not
(`full`: the first build) or does (`incremental`: the merge branch of the staging models).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dbt.adapters.bigquery.connections import BigQueryConnectionManager
from dbt.adapters.bigquery.impl import BigQueryAdapter
from dbt.adapters.bigquery.relation import BigQueryRelation
from dbt.cli.main import dbtRunner


class OfflineHandle:
    """Stands where the BigQuery client would be; compiling never sends it a query."""

    def close(self) -> None:
        return None


def compile_offline(project_dir: str, output_dir: str) -> int:
    tables_exist = False

    def open_offline(cls, connection):
        connection.handle = OfflineHandle()
        connection.state = "open"
        return connection

    def lookup_offline(self, database, schema, identifier):
        # landing is always there (the crawler writes it); staging/processed only after a build
        if schema != "landing" and not tables_exist:
            return None
        return BigQueryRelation.create(
            database=database, schema=schema, identifier=identifier, type="table"
        )

    BigQueryConnectionManager.open = classmethod(open_offline)
    BigQueryAdapter.get_relation = lookup_offline
    target_path = Path(output_dir) / "target"
    for mode in ("full", "incremental"):
        tables_exist = mode == "incremental"
        result = dbtRunner().invoke(
            [
                "compile",
                "--project-dir", project_dir,
                "--profiles-dir", project_dir,
                "--target", "prod",
                "--target-path", str(target_path),
                "--no-populate-cache",
                "--select", "staging processed feedback",
                "--quiet",
            ]
        )  # fmt: skip
        if not result.success:
            return 1
        shutil.copytree(target_path / "compiled" / "animerec" / "models", Path(output_dir) / mode)
    return 0


if __name__ == "__main__":
    sys.exit(compile_offline(sys.argv[1], sys.argv[2]))
