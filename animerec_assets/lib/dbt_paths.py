"""Where the dbt project is, which ``dbt`` runs it, and preparing its manifest: no Dagster here.

``@dbt_assets`` reads ``target/manifest.json`` when the code location loads. ``dagster dev``
refreshes it, but tests, CI and production do not, so ``prepare_manifest`` runs ``dbt parse``
(``python -m animerec_assets.defs.transform.project``), and the transform assets call it when no
manifest exists yet. The benchmarks import this module without loading Dagster.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from animerec_assets.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# profiles.yml reads this var first and falls back to ANIMEREC_DUCKDB_PATH
DUCKDB_PATH_VAR = "animerec_duckdb_path"


def dbt_executable() -> str:
    """The environment's dbt (dagster-dbt no longer ships one; PATH may not include the venv,
    and a code server may run under a resolved interpreter path outside the venv)."""
    for candidate in (Path(sys.prefix) / "bin" / "dbt", Path(sys.executable).with_name("dbt")):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


def dbt_environment(settings: Settings | None = None) -> dict[str, str]:
    """What the dbt profile reads from the environment: the warehouse file, no usage tracking."""
    settings = settings or load_settings()
    env = {"DO_NOT_TRACK": "1", "ANIMEREC_DUCKDB_PATH": str(settings.duckdb_path)}
    if settings.gcp_project:
        env["GCP_PROJECT"] = settings.gcp_project
    return env


def duckdb_path_args(duckdb_path: str | Path) -> list[str]:
    """``dbt`` arguments that point the ``local`` profile at ``duckdb_path`` for one invocation,
    so a run's warehouse is an argument rather than a change to the whole process's environment."""
    return ["--vars", json.dumps({DUCKDB_PATH_VAR: str(duckdb_path)})]


def prepare_manifest(settings: Settings | None = None, *, force: bool = False) -> Path:
    """``dbt parse`` into dbt_project/target (no warehouse connection needed)."""
    if MANIFEST_PATH.exists() and not force:
        return MANIFEST_PATH
    settings = settings or load_settings()
    env = {**os.environ, **dbt_environment(settings)}
    env.setdefault("GCP_PROJECT", "unset-gcp-project")  # the prod profile renders it
    result = subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target", settings.dbt_target,
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0 or not MANIFEST_PATH.exists():
        raise RuntimeError(f"dbt parse failed:\n{result.stdout}\n{result.stderr}")
    return MANIFEST_PATH


if __name__ == "__main__":
    print(prepare_manifest(force=True))
