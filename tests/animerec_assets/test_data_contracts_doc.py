"""docs/data_contracts.md is the contract page: its processed tables must be the contract module's.

A column added to ``animerec_assets.contracts.processed`` but not to the page (or the other way
round, or in another order) fails here, so the page cannot drift from the code.
"""

from __future__ import annotations

import re
from pathlib import Path

from animerec_assets.contracts.processed import PROCESSED_COLUMNS

DOC = Path(__file__).resolve().parents[2] / "docs" / "data_contracts.md"
SCORE_RANGE_ROW = "`score_10_count` … `score_01_count`"
SCORE_COLUMNS = [f"score_{score:02d}_count" for score in range(10, 0, -1)]


def documented_columns(text: str) -> dict[str, list[str]]:
    """Column names of each ``### `processed.<table>` `` section's table, in order."""
    sections = re.split(r"^### `processed\.(\w+)`.*$", text, flags=re.M)
    columns: dict[str, list[str]] = {}
    for table, body in zip(sections[1::2], sections[2::2], strict=True):
        names: list[str] = []
        for line in body.split("\n## ")[0].splitlines():
            if not line.startswith("| `"):
                continue
            first_cell = line.split("|")[1].strip()
            if first_cell == SCORE_RANGE_ROW:
                names.extend(SCORE_COLUMNS)
            else:
                names.append(first_cell.strip("`"))
        columns[table] = names
    return columns


def test_the_page_lists_exactly_the_processed_contract_in_order() -> None:
    documented = documented_columns(DOC.read_text(encoding="utf-8"))
    assert documented == {table: list(cols) for table, cols in PROCESSED_COLUMNS.items()}


def test_a_renamed_column_on_the_page_is_noticed() -> None:
    text = DOC.read_text(encoding="utf-8").replace("| `friendship_date` |", "| `friend_date` |")
    documented = documented_columns(text)
    assert documented["user_user"][-1] == "friend_date"
    assert documented != {table: list(cols) for table, cols in PROCESSED_COLUMNS.items()}
