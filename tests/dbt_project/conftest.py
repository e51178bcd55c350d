"""Fixtures for the dbt project tests: a temp DuckDB warehouse and a way to run dbt on it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")

DbtRunner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def run_dbt(tmp_path: Path, warehouse_path: Path) -> DbtRunner:
    """Run a dbt command on the temp warehouse, or on ``warehouse`` (own target dir: no clash
    with other runs)."""

    def run(
        *args: str, check: bool = True, warehouse: Path | None = None
    ) -> subprocess.CompletedProcess:
        path = warehouse or warehouse_path
        env = {**os.environ, "DO_NOT_TRACK": "1", "ANIMEREC_DUCKDB_PATH": str(path)}
        command = [
            str(DBT_EXECUTABLE),
            *args,
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(tmp_path / "dbt_target"),
            "--log-path", str(tmp_path / "dbt_logs"),
        ]  # fmt: skip
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            pytest.fail(f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr}")
        return result

    return run
