"""The dataset card (``README.md``) shipped with every export version.

Rendered from the export's own facts (row counts, files, date ranges) and the column docs in
``columns.py``, so the card cannot drift from the files next to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from animerec_assets.lib.export.columns import ModelDoc, describe_column
from animerec_assets.lib.export.tables import TableExport, reader_type

TITLE = "animerec: MyAnimeList anime, users, lists, reviews and recommendations"
LICENSE_PLACEHOLDER = (
    "License: to be decided before publishing. The data describes public MyAnimeList pages; "
    "check MyAnimeList's terms of use and state the chosen license here and in "
    "dataset-metadata.json."
)

ABOUT = (
    "animerec is an end-to-end anime recommendation platform for MyAnimeList (MAL) users. It "
    "crawls MAL, cleans the crawl into the five tables below, trains recommendation models on "
    "them and serves each user a few anime to watch next. These tables are the cleaned, "
    "validated dataset the models learn from, published so others can experiment with it."
)

COLLECTION = (
    "A Scrapy crawler fetched public MyAnimeList anime pages (details, statistics, pictures, "
    "clubs, related anime, user recommendations, reviews) and user profiles (profile, anime "
    "list, favorites, friends, history), politely: robots.txt respected, adaptive throttling, "
    "retries on errors. A crawl scheduler chose what to fetch next: never-crawled pages first, "
    "then those crawled longest ago. Every crawl landed in a warehouse; dbt kept the latest "
    "crawl of each anime, profile and pair, typed and cleaned it, and Great Expectations "
    "quality gates plus dbt tests blocked any batch that failed them before these tables were "
    "built."
)


@dataclass(frozen=True)
class CardFacts:
    """Everything the card says that is not a column description."""

    version: str
    exported_at: str
    dataset_id: str
    tables: list[TableExport]
    crawl_period: tuple[str | None, str | None] | None = None
    model_docs: dict[str, ModelDoc] = field(default_factory=dict)
    license_note: str = LICENSE_PLACEHOLDER
    # usernames replaced by keyed-hash pseudonyms (the default) or published as they are
    pseudonymised: bool = True


PSEUDONYM_IDS = (
    "`user_id`, `userA`, `userB` are pseudonyms (`u_` + 16 hex digits), the same user's in "
    "every table and every version."
)
REAL_USERNAME_IDS = (
    "`user_id`, `userA`, `userB` are MyAnimeList usernames (compare them case-insensitively)."
)
PSEUDONYM_PRIVACY = (
    "No username is published. Every username is replaced by a pseudonym, a keyed hash "
    "(HMAC-SHA256 of the lower-cased username, truncated) under a key that is not published: "
    "ids stay stable across versions, but cannot be turned back into usernames without the key. "
    "`user.user_url` is left empty because a profile URL contains the username."
)
REAL_USERNAME_PRIVACY = (
    "This version publishes real MyAnimeList usernames and profile URLs (the exporter opted in "
    "to it)."
)


def human_size(size_bytes: int | None) -> str:
    if size_bytes is None:
        return "size unknown"
    size = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _period(period: tuple[str | None, str | None] | None) -> str:
    if not period or not any(period):
        return "not recorded for this export"
    return f"{period[0] or '?'} to {period[1] or '?'}"


def _files_section(tables: list[TableExport]) -> list[str]:
    lines = ["| table | rows | files |", "|---|---:|---|"]
    for table in tables:
        files = ", ".join(f"`{file.path}` ({human_size(file.size_bytes)})" for file in table.files)
        lines.append(f"| `{table.name}` | {table.row_count:,} | {files} |")
    return lines


def _table_section(table: TableExport, doc: ModelDoc | None) -> list[str]:
    lines = [f"### `{table.name}`", ""]
    if doc and doc.description:
        lines += [doc.description, ""]
    lines.append(f"{table.row_count:,} rows.")
    if doc and doc.table_tests:
        lines.append("Checked: " + "; ".join(doc.table_tests) + ".")
    lines += ["", "| column | type | description | checked |", "|---|---|---|---|"]
    for column in table.columns:
        checks = "; ".join(doc.column_tests.get(column.name, [])) if doc else ""
        lines.append(
            f"| `{column.name}` | {reader_type(column.warehouse_type)} | "
            f"{_cell(describe_column(table.name, column.name))} | {_cell(checks)} |"
        )
    if table.date_ranges:
        ranges = "; ".join(
            f"`{name}` " + (f"{low} to {high}" if low or high else "always empty")
            for name, (low, high) in table.date_ranges.items()
        )
        lines += ["", f"Dates: {ranges}"]
    return [*lines, ""]


def _loading_section(tables: list[TableExport]) -> list[str]:
    lists = [
        (table.name, column.name)
        for table in tables
        for column in table.columns
        if reader_type(column.warehouse_type).startswith("list")
    ]
    example_list = lists[0] if lists else ("anime", "genres")
    return [
        "```python",
        "import json",
        "",
        "import pandas as pd",
        "",
        "# Parquet keeps types and lists",
        *(f'{table.name} = pd.read_parquet("{table.name}.parquet")' for table in tables),
        "",
        "# CSV (gzip) holds lists as JSON text",
        f'{example_list[0]}_csv = pd.read_csv("{example_list[0]}.csv.gz")',
        f'{example_list[0]}_csv["{example_list[1]}"] = '
        f'{example_list[0]}_csv["{example_list[1]}"].map(json.loads)',
        "```",
    ]


def render_card(facts: CardFacts) -> str:
    """The full README.md of one export version."""
    total_rows = sum(table.row_count for table in facts.tables)
    lines = [
        f"# {TITLE}",
        "",
        ABOUT,
        "",
        f"- Version: `{facts.version}` (exported {facts.exported_at})",
        f"- Kaggle dataset: `{facts.dataset_id}`",
        f"- Crawl period: {_period(facts.crawl_period)}",
        f"- {len(facts.tables)} tables, {total_rows:,} rows in all",
        "",
        "## Files",
        "",
        *_files_section(facts.tables),
        "",
        "Each table comes as Parquet (typed, lists kept as lists) and gzip CSV (lists as JSON).",
        "Ids join the tables: `anime_id`, `animeA`, `animeB` are MyAnimeList anime ids; "
        + (PSEUDONYM_IDS if facts.pseudonymised else REAL_USERNAME_IDS),
        "",
        "## Privacy",
        "",
        PSEUDONYM_PRIVACY if facts.pseudonymised else REAL_USERNAME_PRIVACY,
        "",
        "## How it was collected",
        "",
        COLLECTION,
        "",
        "## Tables",
        "",
    ]
    for table in facts.tables:
        lines += _table_section(table, facts.model_docs.get(table.name))
    lines += [
        "## Loading with pandas",
        "",
        *_loading_section(facts.tables),
        "",
        "## License",
        "",
        facts.license_note,
        "",
    ]
    return "\n".join(lines)


def card_preview(card: str, max_chars: int = 6000) -> str:
    """The start of the card, cut at a line, for the Dagster UI."""
    if len(card) <= max_chars:
        return card
    cut = card.rfind("\n", 0, max_chars)
    return card[: cut if cut > 0 else max_chars] + "\n\n*(card continues in README.md)*\n"
