"""Running dbt inside this process (dbt-core's ``dbtRunner``), as the hourly transform does.

A ``dbt`` subprocess per build pays a Python start-up, dbt's imports (~2.5 s of CPU) and a
parse of the project every time; on an hourly run that moved 1 % of MAL, those cost more than
the builds. Here one process imports dbt once, parses once (partial parse, from the stable
target folder) and reuses that manifest for every build of the same project, target and vars:
the transform job runs its staging, processed and feedback builds in one process, and
``animerec bench dbt`` times exactly this (``python -m animerec_assets.lib.dbt_invoke``).

No Dagster here: ``defs/transform`` turns the events into asset materializations and checks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from animerec_assets.lib.dbt_paths import DBT_PROJECT_DIR

# The transform's dbt steps, in the order one run builds them (each a Dagster multi-asset;
# the staging gates stand between the first two).
TRANSFORM_STEPS: dict[str, str] = {
    "staging": "path:models/staging",
    "processed": "path:models/processed",
    "feedback": "path:models/feedback",
}
# Unit tests run in CI (`dbt test --select test_type:unit`), not on every materialization.
BUILD = ["build", "--exclude-resource-type", "unit_test"]
# dbt's loggers (its stdout lines, its debug log file with every statement) and its JSON
# artifacts cost CPU on every build (each line is formatted and scrubbed of secrets, a scan of
# the environment); nothing reads them on the hourly path: results and errors reach the caller
# as callbacks.
QUIET = ["--log-level", "none", "--log-level-file", "none", "--no-write-json", "--no-use-colors"]
# The dbt events that carry a node's result (what becomes a materialization or a check).
RESULT_EVENTS = frozenset({"LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult"})


@dataclass(frozen=True)
class DbtTarget:
    """Which project, profile target, vars and target folder a build runs with: builds that
    share all four share one parsed manifest."""

    target: str = "local"
    target_path: Path | None = None
    extra_args: tuple[str, ...] = ()
    project_dir: Path = DBT_PROJECT_DIR
    profiles_dir: Path = DBT_PROJECT_DIR

    def args(self) -> list[str]:
        common = [
            "--project-dir", str(self.project_dir),
            "--profiles-dir", str(self.profiles_dir),
            "--target", self.target,
            *self.extra_args,
        ]  # fmt: skip
        if self.target_path is not None:
            common += ["--target-path", str(self.target_path), "--log-path", str(self.target_path)]
        return common


_MANIFESTS: dict[DbtTarget, Any] = {}


def parsed_manifest(target: DbtTarget) -> Any:
    """The project's manifest for ``target``, parsed once per process (dbt's partial parse
    makes even that first parse cheap when the target folder is stable)."""
    if target not in _MANIFESTS:
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(["parse", *QUIET, *target.args()])
        if not result.success:
            raise RuntimeError(f"dbt parse failed: {result.exception}")
        _MANIFESTS[target] = result.result
    return _MANIFESTS[target]


def release_warehouse() -> None:
    """Close the DuckDB file dbt-duckdb keeps open after a build (it would stay open, with dbt's
    settings, until the process exits, and hold the file's lock against other processes)."""
    with contextlib.suppress(ImportError):
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager.close_all_connections()
        if environment is not None:
            with contextlib.suppress(Exception):
                environment.close()


@dataclass
class DbtBuild:
    """What one ``dbt build`` did: dbt's result, each node result as dbt's structured-log dict
    (what the Dagster side turns into events), and the error messages dbt logged."""

    success: bool
    result: Any
    exception: BaseException | None
    node_results: list[dict[str, Any]]
    errors: list[str]

    def failure(self) -> str:
        return "\n".join(self.errors) or str(self.exception or self.result)


def invoke_build(target: DbtTarget, select: Sequence[str]) -> DbtBuild:
    """``dbt build`` of ``select`` (dbt selection arguments) in this process with the cached
    manifest."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    node_results: list[dict[str, Any]] = []
    errors: list[str] = []

    def callback(message: Any) -> None:
        if message.info.name in RESULT_EVENTS:
            node_results.append(msg_to_dict(message))
        elif message.info.level == "error":
            errors.append(message.info.msg)

    runner = dbtRunner(manifest=parsed_manifest(target), callbacks=[callback])
    try:
        outcome = runner.invoke([*BUILD, *select, *QUIET, *target.args()])
    finally:
        release_warehouse()
    return DbtBuild(outcome.success, outcome.result, outcome.exception, node_results, errors)


def build_steps(target: DbtTarget, steps: Sequence[str], *extra: str) -> dict[str, Any]:
    """The transform's steps in order, each ``dbt build`` of its selection; raises on the first
    that fails. Per step: wall seconds and, per node, its execution time."""
    timings: dict[str, Any] = {}
    for step in steps:
        started = time.perf_counter()
        result = invoke_build(target, ["--select", TRANSFORM_STEPS[step], *extra])
        if not result.success:
            raise RuntimeError(f"dbt build of {step} failed: {result.failure()}")
        timings[step] = {
            "seconds": time.perf_counter() - started,
            "nodes": {node.node.unique_id: node.execution_time for node in result.result.results},
        }
    return timings


def main(argv: Sequence[str] | None = None) -> None:
    """Build the transform's steps in one process (what the transform job runs); prints, as
    JSON on the last line, the seconds dbt's import and parse took and the per-step timings."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--target", default="local")
    parser.add_argument("--target-path", type=Path)
    parser.add_argument("--steps", nargs="+", default=list(TRANSFORM_STEPS))
    parser.add_argument("--full-refresh", action="store_true")
    options = parser.parse_args(argv)
    target = DbtTarget(target=options.target, target_path=options.target_path)
    extra = ["--full-refresh"] if options.full_refresh else []
    started = time.perf_counter()
    parsed_manifest(target)
    parse_seconds = time.perf_counter() - started
    timings = build_steps(target, options.steps, *extra)
    sys.stdout.write(json.dumps({"parse_seconds": parse_seconds, "steps": timings}) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("DO_NOT_TRACK", "1")
    main()
