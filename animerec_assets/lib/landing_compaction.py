"""Landing compaction: drop the crawls a newer crawl of the same parent has superseded.

Landing is append-only, so every re-crawl of a profile or an anime adds its rows again; at MAL
scale the history outgrows the current state many times over. Staging only ever needs, per key,
the newest crawl, and per (parent, set) the newest complete snapshot and whatever was crawled
after it (docs/data_contracts.md "Re-crawls"). This deletes the rest:

- set tables (``SNAPSHOT_SETS``): rows of a parent crawled strictly before the parent's newest
  complete snapshot of that set, and not part of it;
- ``crawl_snapshot``: complete or partial snapshots older than that newest complete one;
- every other table: rows strictly older than the newest crawl of the same key
  (``ITEM_KEYS``); ``page_gone`` per parent.

Only strictly older rows go: ties on crawl_date (which staging breaks by a row fingerprint) and
rows whose crawl_date does not parse are kept, and keys are compared as landing spells them
(case-sensitive, uncast), which can only keep more than needed. So a full rebuild of staging and
processed from compacted landing gives the same tables as before (tests/dbt_project checks it).
Each statement is one DELETE: a crash between two leaves landing valid, merely less compacted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from animerec_assets.contracts.landing import ITEM_KEYS, SNAPSHOT_SETS

Dialect = Literal["duckdb", "bigquery"]
# Tables never compacted: errors are a log, not state.
NOT_COMPACTED = ("crawl_error",)
# page_gone is keyed per parent here (ITEM_KEYS keys it per crawl, to keep every answer).
PER_KEY: dict[str, tuple[str, ...]] = {
    **{
        table: keys
        for table, keys in ITEM_KEYS.items()
        if table not in SNAPSHOT_SETS and table not in ("crawl_snapshot", "page_gone")
    },
    "page_gone": ("parent_kind", "parent_id"),
}


@dataclass(frozen=True)
class CompactionStatement:
    table: str
    sql: str


def _crawled_at(dialect: Dialect, column: str) -> str:
    """crawl_date text → timestamp, exactly as staging parses it (NULL when it does not)."""
    if dialect == "bigquery":
        return f"safe_cast(trim(cast({column} as string)) as timestamp)"
    return f"(try_cast(trim(cast({column} as varchar)) as timestamptz) at time zone 'UTC')"


def _quote(dialect: Dialect, name: str) -> str:
    return f"`{name}`" if dialect == "bigquery" else f'"{name}"'


def _table(dialect: Dialect, schema: str, table: str, project: str | None) -> str:
    if dialect == "bigquery":
        prefix = f"{project}." if project else ""
        return f"`{prefix}{schema}.{table}`"
    return f'{schema}."{table}"'


def compaction_statements(
    dialect: Dialect = "duckdb",
    tables: Iterable[str] | None = None,
    schema: str = "landing",
    project: str | None = None,
) -> list[CompactionStatement]:
    """One DELETE per landing table in ``tables`` (default: all compacted tables)."""
    wanted = set(tables) if tables is not None else None
    q = lambda name: _quote(dialect, name)  # noqa: E731
    t = lambda name: _table(dialect, schema, name, project)  # noqa: E731
    at = lambda column: _crawled_at(dialect, column)  # noqa: E731
    snapshots = t("crawl_snapshot")
    newest_complete = f"""
        select parent_kind, parent_id, set_name, snapshot_id, crawled_at
        from (
            select parent_kind, parent_id, set_name, snapshot_id, {at("crawl_date")} as crawled_at,
                row_number() over (
                    partition by parent_kind, parent_id, set_name
                    order by {at("crawl_date")} desc
                ) as newest
            from {snapshots}
            where complete = 1 and {at("crawl_date")} is not null
        ) as ranked
        where newest = 1"""
    statements: list[CompactionStatement] = []

    def add(table: str, sql: str) -> None:
        if wanted is None or table in wanted:
            statements.append(CompactionStatement(table, " ".join(sql.split())))

    for set_name, (table, parent_kind, parent_column) in SNAPSHOT_SETS.items():
        add(
            table,
            f"""delete from {t(table)} as old_row where exists (
                select 1 from ({newest_complete}) as complete_snapshot
                where complete_snapshot.parent_kind = '{parent_kind}'
                    and complete_snapshot.set_name = '{set_name}'
                    and complete_snapshot.parent_id = cast(old_row.{q(parent_column)} as string)
                    and {at("old_row.crawl_date")} < complete_snapshot.crawled_at
                    and (old_row.snapshot_id is null
                         or old_row.snapshot_id <> complete_snapshot.snapshot_id))""",
        )
    add(
        "crawl_snapshot",
        f"""delete from {snapshots} as old_row where exists (
            select 1 from ({newest_complete}) as complete_snapshot
            where complete_snapshot.parent_kind = old_row.parent_kind
                and complete_snapshot.parent_id = old_row.parent_id
                and complete_snapshot.set_name = old_row.set_name
                and {at("old_row.crawl_date")} < complete_snapshot.crawled_at)""",
    )
    for table, keys in PER_KEY.items():
        if table in NOT_COMPACTED:
            continue
        key_list = ", ".join(q(key) for key in keys)
        matches = " and ".join(f"newest_row.{q(key)} = old_row.{q(key)}" for key in keys)
        add(
            table,
            f"""delete from {t(table)} as old_row where exists (
                select 1 from (
                    select {key_list}, max({at("crawl_date")}) as crawled_at
                    from {t(table)} group by {key_list}
                ) as newest_row
                where {matches} and {at("old_row.crawl_date")} < newest_row.crawled_at)""",
        )
    if dialect == "duckdb":
        statements = [
            CompactionStatement(s.table, s.sql.replace(" as string)", " as varchar)"))
            for s in statements
        ]
    return statements


def compact_landing(
    execute: Callable[[str], int | None],
    existing_tables: Iterable[str],
    dialect: Dialect,
    project: str | None = None,
) -> dict[str, int | None]:
    """Run the statements for the landing tables that exist; rows deleted per table when the
    backend reports it. ``execute`` runs one statement (a warehouse connection's)."""
    present = set(existing_tables)
    if "crawl_snapshot" not in present:
        # without snapshots the set tables have nothing to be superseded by
        present -= set(SNAPSHOT_SETS)
    return {
        statement.table: execute(statement.sql)
        for statement in compaction_statements(dialect, present, project=project)
    }
