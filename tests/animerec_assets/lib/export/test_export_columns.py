"""Column docs: one description per contract column; dbt's YAML supplies tables and tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from animerec_assets.lib.export.columns import (
    COLUMN_DESCRIPTIONS,
    DBT_PROCESSED_YAML,
    PROCESSED_TABLES,
    ColumnDocsError,
    check_columns,
    describe_column,
    model_docs,
    parse_model_docs,
)

REPO_ROOT = Path(__file__).resolve().parents[4]
ARCHITECTURE = (REPO_ROOT / ".." / "shared" / "ARCHITECTURE.md").resolve()


def contract_columns(text: str) -> dict[str, list[str]]:
    """The "Processed tables" section of ARCHITECTURE.md, score_10 … score_01 expanded."""
    section = text.split("## Processed tables", 1)[1].split("\n## ", 1)[0]
    tables: dict[str, list[str]] = {}
    for item in re.split(r"\n- ", "\n" + section)[1:]:
        name, _, body = item.partition(":")
        columns = []
        for part in " ".join(body.split()).split(","):
            part = part.strip()
            if "…" in part:
                columns += [f"score_{s:02d}_count" for s in range(10, 0, -1)]
            elif part:
                columns.append(part)
        tables[name.strip("` ")] = columns
    return tables


def test_every_contract_column_is_described_once_and_in_order() -> None:
    if not ARCHITECTURE.exists():
        pytest.skip(f"shared architecture page not present: {ARCHITECTURE}")
    contract = contract_columns(ARCHITECTURE.read_text(encoding="utf-8"))
    assert list(contract) == list(PROCESSED_TABLES)
    for table, columns in contract.items():
        # the design's columns first, in its order; columns added since (the anime's age
        # rating) only after them
        described = list(COLUMN_DESCRIPTIONS[table])
        assert described[: len(columns)] == columns, table
        assert described[len(columns) :] == {"anime": ["rating"]}.get(table, []), table
        assert all(len(text) > 10 for text in COLUMN_DESCRIPTIONS[table].values())


def test_table_descriptions_and_tests_come_from_the_dbt_yaml() -> None:
    docs = model_docs(DBT_PROCESSED_YAML)
    assert set(PROCESSED_TABLES) <= set(docs)
    assert all(docs[table].description for table in PROCESSED_TABLES)
    assert docs["anime"].column_tests["anime_id"] == ["never empty", "unique"]
    assert "found in user.user_id" in docs["user_anime"].column_tests["user_id"]
    assert docs["anime_anime"].table_tests == ["unique (animeA, animeB)"]


def test_parse_model_docs_phrases_each_kind_of_test() -> None:
    docs = parse_model_docs(
        """
models:
  - name: t
    description: >
      Folded
      text.
    columns:
      - name: a
        data_tests:
          - accepted_values: {arguments: {values: [x, y]}}
          - in_range: {arguments: {min_value: 1, max_value: 10}}
          - in_range: {min_value: 0}
          - relationships: {arguments: {to: "ref('anime')", field: anime_id}}
          - some_custom_test
      - name: b
"""
    )
    assert docs["t"].description == "Folded text."
    assert docs["t"].column_tests == {
        "a": [
            "one of x, y",
            "between 1 and 10",
            ">= 0",
            "found in anime.anime_id",
            "some_custom_test",
        ],
        "b": [],
    }
    assert parse_model_docs("") == {}


def test_missing_dbt_yaml_means_no_docs_not_a_crash(tmp_path: Path) -> None:
    assert model_docs(tmp_path / "absent.yml") == {}


def test_unknown_column_is_an_error_naming_where_to_describe_it() -> None:
    assert describe_column("user_user", "friends").startswith("1 if")
    with pytest.raises(ColumnDocsError, match=r"anime\.secret.*columns\.py"):
        describe_column("anime", "secret")


def test_check_columns_names_missing_and_undocumented_columns() -> None:
    check_columns("user_user", ["userA", "userB", "friends", "friendship_date"])
    with pytest.raises(ColumnDocsError, match=r"missing \['friendship_date'\].*\['extra'\]"):
        check_columns("user_user", ["userA", "userB", "friends", "extra"])
    with pytest.raises(ColumnDocsError, match="not a published table"):
        check_columns("reviews", ["review_id"])
