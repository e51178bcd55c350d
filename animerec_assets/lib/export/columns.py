"""What every published column means: the ONE place the dataset card and Kaggle metadata read.

dbt's ``models/processed/_processed.yml`` describes the tables and declares the tests each column
passes, but not what the columns mean; so table descriptions and tests are read from that YAML
(``model_docs``) and column meanings come from the processed contract
(``animerec_assets.contracts.processed``, docs/data_contracts.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from animerec_assets.contracts.processed import COLUMN_DESCRIPTIONS, PROCESSED_TABLES

__all__ = ["COLUMN_DESCRIPTIONS", "PROCESSED_TABLES"]

DBT_PROCESSED_YAML = (
    Path(__file__).resolve().parents[3] / "dbt_project" / "models" / "processed" / "_processed.yml"
)


class ColumnDocsError(ValueError):
    """The published columns and their descriptions disagree."""


@dataclass(frozen=True)
class ModelDoc:
    """What dbt says about one processed table: its description and each column's tests."""

    description: str = ""
    column_tests: dict[str, list[str]] = field(default_factory=dict)
    table_tests: list[str] = field(default_factory=list)


def describe_column(table: str, column: str) -> str:
    """The meaning of one column; an unknown column is an error, not a blank in the card."""
    try:
        return COLUMN_DESCRIPTIONS[table][column]
    except KeyError:
        raise ColumnDocsError(
            f"no description for {table}.{column}: add it to animerec_assets/lib/export/columns.py"
        ) from None


def _test_phrase(test: Any) -> str:
    """A dbt test declaration as a short phrase a dataset reader understands."""
    if isinstance(test, str):
        return {"not_null": "never empty", "unique": "unique"}.get(test, test)
    name, spec = next(iter(test.items()))
    arguments = (spec or {}).get("arguments", spec or {})
    if name == "accepted_values":
        return "one of " + ", ".join(str(value) for value in arguments.get("values", []))
    if name == "in_range":
        low, high = arguments.get("min_value"), arguments.get("max_value")
        if high is None:
            return f">= {low}"
        return f"between {low} and {high}"
    if name == "relationships":
        target = str(arguments.get("to", "")).removeprefix("ref('").removesuffix("')")
        return f"found in {target}.{arguments.get('field')}"
    if name == "unique_combination":
        return "unique (" + ", ".join(arguments.get("columns", [])) + ")"
    return name


def parse_model_docs(yaml_text: str) -> dict[str, ModelDoc]:
    """Table descriptions and column tests from a dbt properties YAML."""
    document = yaml.safe_load(yaml_text) or {}
    docs: dict[str, ModelDoc] = {}
    for model in document.get("models", []):
        column_tests = {
            column["name"]: [_test_phrase(test) for test in column.get("data_tests", [])]
            for column in model.get("columns", [])
        }
        docs[model["name"]] = ModelDoc(
            description=" ".join(str(model.get("description", "")).split()),
            column_tests=column_tests,
            table_tests=[_test_phrase(test) for test in model.get("data_tests", [])],
        )
    return docs


def model_docs(path: Path = DBT_PROCESSED_YAML) -> dict[str, ModelDoc]:
    """The processed models' docs; empty (not an error) where the dbt project is not shipped."""
    if not path.exists():
        return {}
    return parse_model_docs(path.read_text(encoding="utf-8"))


def check_columns(table: str, columns: list[str]) -> None:
    """Refuse to publish a table whose columns are not exactly the documented contract."""
    documented = list(COLUMN_DESCRIPTIONS.get(table, {}))
    if not documented:
        raise ColumnDocsError(f"{table} is not a published table (expected {PROCESSED_TABLES})")
    missing = [name for name in documented if name not in columns]
    extra = [name for name in columns if name not in documented]
    if missing or extra:
        raise ColumnDocsError(
            f"processed.{table} does not match the published contract: "
            f"missing {missing or 'nothing'}, undocumented {extra or 'nothing'}"
        )
