"""The code location loads, and validates, in both environments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER = Path(sys.executable).parent / "dagster"


@pytest.mark.slow  # a `dagster definitions validate` subprocess per environment (~30 s)
@pytest.mark.parametrize("environment", ["local", "prod"])
def test_dagster_definitions_validate(environment, animerec_home, tmp_path, prod_env):
    env = {**os.environ, "ANIMEREC_ENV": environment, "DAGSTER_HOME": str(tmp_path)}
    if environment == "prod":
        env.update(prod_env)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    completed = subprocess.run(
        [str(DAGSTER), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "Validation successful" in output
