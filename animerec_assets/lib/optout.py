"""Opted-out users in the warehouse: ``landing.optout``, which processed excludes.

The crawl scheduler keeps the opt-out list (``animerec optout add``); before dbt runs, it is
copied whole into ``landing.optout`` (one statement that replaces the table, so a kill leaves the
old list or the new one, never half). dbt's processed models drop every row of those users, so
the models, the published lists and the export lose them on their next runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from animerec_assets.contracts.landing import OPTOUT_COLUMNS, OPTOUT_TABLE
from animerec_assets.lib.warehouse import Dialect, SqlWarehouse, dialect_of

LANDING_SCHEMA = "landing"
# MAL usernames: letters, digits, '_' and '-' (checked again here: they become SQL literals)
_USERNAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class OptoutError(ValueError):
    """An opted-out entry is not a username."""


def optout_keys(usernames: Iterable[str]) -> list[str]:
    """The lower-cased, distinct, sorted keys staging matches users on."""
    keys = set()
    for username in usernames:
        if not _USERNAME.match(username):
            raise OptoutError(f"not a MAL username: {username[:80]!r}")
        keys.add(username.lower())
    return sorted(keys)


def replace_optout_sql(
    usernames: Iterable[str], now: datetime, dialect: Dialect, project: str = ""
) -> str:
    """One statement that replaces ``landing.optout`` with these users (empty list: no rows)."""
    keys = optout_keys(usernames)
    moment = now.replace(microsecond=0).isoformat()
    if dialect == "bigquery":
        table = "`" + ".".join(p for p in (project, LANDING_SCHEMA, OPTOUT_TABLE) if p) + "`"
        text = "string"
    else:
        table = f"{LANDING_SCHEMA}.{OPTOUT_TABLE}"
        text = "varchar"
    key_column, date_column = (name for name, _ in OPTOUT_COLUMNS)
    rows = " union all ".join(
        f"select '{key}' as {key_column}, '{moment}' as {date_column}" for key in keys
    )
    empty = (
        f"select cast(null as {text}) as {key_column}, cast(null as {text}) as {date_column} "
        "from (select 1 as one) as nothing where 1 = 0"
    )
    return f"create or replace table {table} as {rows or empty}"


def read_opted_out_keys(warehouse: SqlWarehouse) -> list[str]:
    """The keys in ``landing.optout`` (none before the first copy): the serving publish
    unlinks them from the versions it keeps for rollback."""
    if not warehouse.table_exists(LANDING_SCHEMA, OPTOUT_TABLE):
        return []
    if dialect_of(warehouse) == "bigquery":
        parts = (warehouse.gcp_project, LANDING_SCHEMA, OPTOUT_TABLE)
        table = "`" + ".".join(p for p in parts if p) + "`"
    else:
        table = f"{LANDING_SCHEMA}.{OPTOUT_TABLE}"
    frame = warehouse.read_sql(f"select user_key from {table} where user_key is not null")
    return sorted(str(key) for key in frame["user_key"])
