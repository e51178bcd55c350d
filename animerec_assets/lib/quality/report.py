"""What a quality gate found, in a form people and the Dagster UI can read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FailedExpectation:
    """One expectation that did not hold: what was expected, why it matters, a few rows."""

    expectation: str
    columns: tuple[str, ...]
    why: str
    unexpected_count: int
    unexpected_percent: float
    sample_rows: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> str:
        where = ", ".join(self.columns)
        return (
            f"{self.expectation}({where}): {self.unexpected_count} rows "
            f"({self.unexpected_percent:.2f}%) — {self.why}"
        )


@dataclass(frozen=True)
class QualityReport:
    table: str
    row_count: int
    evaluated: int
    failures: list[FailedExpectation]
    skipped: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        head = (
            f"{self.table}: {self.row_count} rows, {self.evaluated} expectations, "
            f"{len(self.failures)} failed"
        )
        lines = [head]
        for failure in self.failures:
            lines.append(f"  - {failure.describe()}")
            lines += [f"      e.g. {row}" for row in failure.sample_rows[:3]]
        lines += [f"  (skipped: {reason})" for reason in self.skipped]
        return "\n".join(lines)

    def to_metadata(self) -> dict[str, Any]:
        """Plain JSON-able values: the Dagster check wraps them for the UI."""
        return {
            "row_count": self.row_count,
            "expectations_evaluated": self.evaluated,
            "expectations_failed": len(self.failures),
            "failures": [failure.describe() for failure in self.failures],
            "failing_rows": {failure.describe(): failure.sample_rows for failure in self.failures},
            "skipped": self.skipped,
        }
