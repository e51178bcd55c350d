"""Data-quality gates: Great Expectations 1.x suites as pure functions (frame → report)."""

from animerec_assets.lib.quality.report import FailedExpectation, QualityReport
from animerec_assets.lib.quality.suites import SUITES, derive_rule_columns
from animerec_assets.lib.quality.validate import UnknownTableError, validate

__all__ = [
    "SUITES",
    "FailedExpectation",
    "QualityReport",
    "UnknownTableError",
    "derive_rule_columns",
    "validate",
]
