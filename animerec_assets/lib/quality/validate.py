"""Run a table's suite with Great Expectations 1.x on a pandas frame.

``validate(table_name, df)`` is the pure entry point: a frame in, a ``QualityReport`` out, no
warehouse access. The GX context is ephemeral (nothing written to disk) and built once per
process, because creating it costs far more than validating a few thousand rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from datetime import datetime
from functools import lru_cache
from typing import Any

import pandas as pd

from animerec_assets.lib.quality.report import FailedExpectation, QualityReport
from animerec_assets.lib.quality.suites import (
    ROW_KEYS,
    STATUS_COUNT_COLUMNS,
    SUITES,
    Rule,
    derive_rule_columns,
)

ROW_NUMBER = "_row_number"
SAMPLE_ROWS = 5


class UnknownTableError(KeyError):
    """No quality suite is defined for this table."""


@lru_cache(maxsize=1)
def _context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _batch_definition(table_name: str) -> Any:
    context = _context()
    name = "animerec_warehouse_frames"
    try:
        source = context.data_sources.get(name)
    except KeyError:
        source = context.data_sources.add_pandas(name)
    try:
        asset = source.get_asset(table_name)
    except LookupError:
        asset = source.add_dataframe_asset(table_name)
    try:
        return asset.get_batch_definition("whole_frame")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole_frame")


def _expectation(rule: Rule) -> Any:
    import great_expectations.expectations as gxe

    return getattr(gxe, rule.expectation)(**rule.kwargs, meta={"why": rule.why})


def _columns_to_show(rule: Rule, df: pd.DataFrame, keys: list[str]) -> list[str]:
    shown: list[str] = []
    for column in rule.columns:
        if not column.startswith("_rule__"):
            shown.append(column)
            continue
        name = column.removeprefix("_rule__")
        if name == "status_counts_sum_to_total":
            shown += [*STATUS_COUNT_COLUMNS, "total_count"]
        elif name == "end_after_start":
            shown += ["start_date", "end_date"]
        else:
            stem = name.removesuffix("_parses").removesuffix("_not_in_future")
            stem = stem.removesuffix("_known")
            shown += [stem, f"{stem}_raw"]
    return [c for c in dict.fromkeys([*keys, *shown]) if c in df.columns]


def _json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", date_format="iso", default_handler=str))


def validate(
    table_name: str,
    df: pd.DataFrame,
    *,
    known_anime_ids: Collection[int] | None = None,
    now: datetime | None = None,
) -> QualityReport:
    """Check ``df`` (the whole table ``table_name``) against its suite.

    ``known_anime_ids`` enables the "every anime is known" rule on user_anime tables; ``now``
    fixes the clock for the "not in the future" rules. Rules whose columns the frame lacks
    are listed as skipped, never silently passed.
    """
    if table_name not in SUITES:
        raise UnknownTableError(f"no quality suite for {table_name!r}; known: {sorted(SUITES)}")
    import great_expectations as gx

    frame = derive_rule_columns(df, known_anime_ids=known_anime_ids, now=now)
    frame = frame.reset_index(drop=True)
    frame[ROW_NUMBER] = range(len(frame))
    keys = [c for c in ROW_KEYS.get(table_name, []) if c in frame.columns]

    runnable = [r for r in SUITES[table_name] if all(c in frame.columns for c in r.columns)]
    skipped = [
        f"{rule.label}({', '.join(rule.columns)}): column missing"
        for rule in SUITES[table_name]
        if rule not in runnable
    ]
    batch_definition = _batch_definition(table_name)  # creates the GX context first
    suite = gx.ExpectationSuite(name=f"{table_name}_quality")
    for rule in runnable:
        suite.add_expectation(_expectation(rule))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        suite,
        result_format={
            "result_format": "SUMMARY",
            "unexpected_index_column_names": [ROW_NUMBER],
            "partial_unexpected_count": SAMPLE_ROWS,
        },
    )

    failures: list[FailedExpectation] = []
    for rule, outcome in zip(runnable, result.results, strict=True):
        if outcome.success:
            continue
        details = outcome.result or {}
        indexes = details.get("partial_unexpected_index_list") or []
        row_numbers = [int(i[ROW_NUMBER]) for i in indexes if ROW_NUMBER in i][:SAMPLE_ROWS]
        shown = _columns_to_show(rule, frame, keys)
        failures.append(
            FailedExpectation(
                expectation=rule.label,
                columns=rule.columns,
                why=rule.why,
                unexpected_count=int(details.get("unexpected_count") or 0),
                unexpected_percent=float(details.get("unexpected_percent") or 0.0),
                sample_rows=_json_rows(frame.iloc[row_numbers][shown]),
            )
        )
    return QualityReport(
        table=table_name,
        row_count=len(df),
        evaluated=len(runnable),
        failures=failures,
        skipped=skipped,
    )
