"""The dbt project as Dagster sees it (a ``DbtProject``); paths and ``dbt parse`` live in
``animerec_assets/lib/dbt_paths.py``, which the benchmarks use without Dagster.

``python -m animerec_assets.defs.transform.project`` prepares the manifest (make, Dockerfile).
"""

from __future__ import annotations

import os

from dagster_dbt import DbtProject

from animerec_assets.lib.dbt_paths import DBT_PROJECT_DIR, prepare_manifest
from animerec_assets.settings import Settings


def animerec_dbt_project(settings: Settings) -> DbtProject:
    """The project for the settings' dbt target, built when the code location loads."""
    # Not ``project.prepare_if_dev()``: under ``dagster dev`` it runs the ``dbt`` found on PATH,
    # which need not be this environment's. ``prepare_manifest`` runs ours instead.
    if os.environ.get("DAGSTER_IS_DEV_CLI"):
        prepare_manifest(settings, force=True)
    return DbtProject(
        project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=settings.dbt_target
    )


if __name__ == "__main__":
    print(prepare_manifest(force=True))
