"""The quality rules for staging and processed tables, as data.

A rule names a Great Expectations expectation, the columns it needs and WHY it matters (the
reason shown next to failing rows). Rules that compare columns or look at other tables work on
derived boolean columns (``_rule__*``) computed by ``derive_rule_columns``, so every rule
reports the rows that break it the same way.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from animerec_assets.contracts.landing import AGE_RATING_LABELS

LIST_STATUSES = ["watching", "completed", "on_hold", "dropped", "plan_to_watch"]
AIRING_STATUSES = ["Finished Airing", "Currently Airing", "Not yet aired"]
STATUS_COUNT_COLUMNS = [
    "watching_count",
    "completed_count",
    "on_hold_count",
    "dropped_count",
    "plan_to_watch_count",
]
SCORE_HISTOGRAM_COLUMNS = [f"score_{n:02d}_count" for n in range(10, 0, -1)]
# A date that did not parse is NULL in staging. A few are tolerated (odd pages); more than 1 %
# means the parser or the site changed, and the gate stops the run.
PARSEABLE_DATES_MOSTLY = 0.99
# Clocks and time zones differ a little; beyond this a date "from the future" is wrong.
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True)
class Rule:
    expectation: str  # Great Expectations class name, e.g. "ExpectColumnValuesToBeBetween"
    columns: tuple[str, ...]
    why: str
    kwargs: dict[str, Any]

    @property
    def label(self) -> str:
        return self.expectation.removeprefix("Expect")


def not_null(column: str, why: str) -> Rule:
    return Rule("ExpectColumnValuesToNotBeNull", (column,), why, {"column": column})


def unique(*columns: str) -> Rule:
    why = "the key must identify one row (staging keeps only the latest crawl per key)"
    if len(columns) == 1:
        return Rule("ExpectColumnValuesToBeUnique", columns, why, {"column": columns[0]})
    return Rule("ExpectCompoundColumnsToBeUnique", columns, why, {"column_list": list(columns)})


def between(column: str, low: float | None, high: float | None, why: str) -> Rule:
    return Rule(
        "ExpectColumnValuesToBeBetween",
        (column,),
        why,
        {"column": column, "min_value": low, "max_value": high},
    )


def in_set(column: str, values: list[Any], why: str, mostly: float = 1.0) -> Rule:
    kwargs: dict[str, Any] = {"column": column, "value_set": values}
    if mostly < 1.0:
        kwargs["mostly"] = mostly
    return Rule("ExpectColumnValuesToBeInSet", (column,), why, kwargs)


def holds(rule_column: str, why: str, mostly: float = 1.0) -> Rule:
    """A derived ``_rule__*`` column must be True."""
    return in_set(rule_column, [True], why, mostly)


def score(column: str) -> Rule:
    return between(column, 1, 10, "MAL scores are 1–10; 0 means 'not scored' and is NULL")


def count(column: str) -> Rule:
    return between(column, 0, None, "a count cannot be negative")


def _date_rules(date_columns: list[str], past_only: list[str]) -> list[Rule]:
    rules = [
        holds(
            f"_rule__{column}_parses",
            f"{column} was crawled but is not an ISO date (the parser or the page changed)",
            PARSEABLE_DATES_MOSTLY,
        )
        for column in date_columns
    ]
    rules += [
        holds(f"_rule__{column}_not_in_future", f"{column} lies in the future")
        for column in past_only
    ]
    return rules


# Hourly crawls catch up over time: a few list entries may name anime not crawled yet (processed
# drops those rows). Many of them at once means a broken parser or bogus ids, and blocks.
STAGING_UNKNOWN_ANIME_TOLERANCE = 0.95


def _anime_known_rule(column: str = "anime_id", mostly: float = 1.0) -> Rule:
    return holds(
        f"_rule__{column}_known",
        f"{column} is not a crawled anime (crawl it first or fix the id)",
        mostly,
    )


def _stats_rules() -> list[Rule]:
    return [
        *(count(c) for c in [*STATUS_COUNT_COLUMNS, "total_count", *SCORE_HISTOGRAM_COLUMNS]),
        holds("_rule__status_counts_sum_to_total", "total_count must equal the five statuses"),
    ]


SUITES: dict[str, list[Rule]] = {
    # ---- staging -------------------------------------------------------------------------
    "stg_anime": [
        not_null("anime_id", "every anime row needs its id"),
        unique("anime_id"),
        score("score"),
        *(count(c) for c in ["num_episodes", "score_count", "members_count", "favorites_count"]),
        between("score_rank", 1, None, "ranks start at 1"),
        between("popularity_rank", 1, None, "ranks start at 1"),
        in_set("status", AIRING_STATUSES, "airing status outside MAL's three"),
        in_set("rating", list(AGE_RATING_LABELS), "age rating outside MAL's six"),
        holds("_rule__end_after_start", "an anime cannot end before it starts"),
        *_date_rules(["start_date", "end_date"], []),
    ],
    "stg_anime_stats": [
        not_null("anime_id", "every stats row needs its anime"),
        unique("anime_id"),
        *_stats_rules(),
        count("favorites_count"),
    ],
    "stg_review": [
        unique("review_id"),
        not_null("anime_id", "a review is about an anime"),
        *(
            score(c)
            for c in [
                "review_score",
                "review_story_score",
                "review_animation_score",
                "review_sound_score",
                "review_character_score",
                "review_enjoyment_score",
            ]
        ),
        count("review_num_useful"),
        *_date_rules(["review_date"], ["review_date"]),
    ],
    "stg_user": [
        not_null("user_key", "every profile needs its username"),
        unique("user_key"),
        *(
            count(c)
            for c in [
                "num_watching",
                "num_completed",
                "num_on_hold",
                "num_dropped",
                "num_plan_to_watch",
                "num_days",
            ]
        ),
        score("mean_score"),
        *_date_rules(["last_online_date", "join_date"], ["last_online_date", "join_date"]),
    ],
    "stg_user_anime": [
        not_null("user_key", "a list entry belongs to a user"),
        not_null("anime_id", "a list entry is about an anime"),
        unique("user_key", "anime_id"),
        score("score"),
        count("progress"),
        in_set("status", LIST_STATUSES, "list status outside the contract's five"),
        _anime_known_rule(mostly=STAGING_UNKNOWN_ANIME_TOLERANCE),
        *_date_rules(["last_interaction_date"], ["last_interaction_date"]),
    ],
    "stg_user_user": [
        unique("userA_key", "userB_key"),
        *_date_rules(["friendship_date"], ["friendship_date"]),
    ],
    "stg_anime_relation": [unique("animeA", "animeB")],
    "stg_anime_recommendation": [
        unique("animeA", "animeB"),
        count("num_recommenders"),
    ],
    # ---- processed -----------------------------------------------------------------------
    "anime": [
        not_null("anime_id", "every anime row needs its id"),
        unique("anime_id"),
        score("score"),
        in_set("status", AIRING_STATUSES, "airing status outside MAL's three"),
        in_set("rating", list(AGE_RATING_LABELS), "age rating outside MAL's six"),
        *_stats_rules(),
    ],
    "user": [not_null("user_id", "every user needs a username"), unique("user_id")],
    "user_anime": [
        unique("user_id", "anime_id"),
        score("score"),
        in_set("status", LIST_STATUSES, "list status outside the contract's five"),
        in_set("favorite", [0, 1], "favorite is a 0/1 flag"),
        _anime_known_rule(),
    ],
    "anime_anime": [
        unique("animeA", "animeB"),
        in_set("recommendation", [0, 1], "recommendation is a 0/1 flag"),
        in_set("related", [0, 1], "related is a 0/1 flag"),
    ],
    "user_user": [unique("userA", "userB")],
}

# The key columns shown with every failing row (so the row can be found in the warehouse).
ROW_KEYS: dict[str, list[str]] = {
    "stg_anime": ["anime_id"],
    "stg_anime_stats": ["anime_id"],
    "stg_review": ["review_id"],
    "stg_user": ["user_id"],
    "stg_user_anime": ["user_id", "anime_id"],
    "stg_user_user": ["userA", "userB"],
    "stg_anime_relation": ["animeA", "animeB"],
    "stg_anime_recommendation": ["animeA", "animeB"],
    "anime": ["anime_id"],
    "user": ["user_id"],
    "user_anime": ["user_id", "anime_id"],
    "anime_anime": ["animeA", "animeB"],
    "user_user": ["userA", "userB"],
}


def derive_rule_columns(
    df: pd.DataFrame,
    *,
    known_anime_ids: Collection[int] | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Add the ``_rule__*`` columns the suites check (vectorized; ``df`` is not modified)."""
    derived: dict[str, pd.Series] = {}
    latest_allowed = pd.Timestamp(now or datetime.now(UTC)).tz_localize(None) + FUTURE_TOLERANCE
    for raw_column in [c for c in df.columns if c.endswith("_raw")]:
        column = raw_column.removesuffix("_raw")
        if column not in df.columns:
            continue
        parsed = pd.to_datetime(df[column], errors="coerce")
        raw_present = df[raw_column].notna() & (df[raw_column].astype("string").str.strip() != "")
        derived[f"_rule__{column}_parses"] = ~(raw_present & parsed.isna())
        derived[f"_rule__{column}_not_in_future"] = parsed.isna() | (parsed <= latest_allowed)
    if {"start_date", "end_date"} <= set(df.columns):
        start = pd.to_datetime(df["start_date"], errors="coerce")
        end = pd.to_datetime(df["end_date"], errors="coerce")
        derived["_rule__end_after_start"] = start.isna() | end.isna() | (end >= start)
    if {*STATUS_COUNT_COLUMNS, "total_count"} <= set(df.columns):
        statuses = df[STATUS_COUNT_COLUMNS].astype("float64")
        total = df["total_count"].astype("float64")
        # a stats page shows all six numbers or none; only complete rows can disagree
        complete = statuses.notna().all(axis=1) & total.notna()
        derived["_rule__status_counts_sum_to_total"] = ~complete | np.isclose(
            statuses.sum(axis=1), total
        )
    if known_anime_ids is not None and "anime_id" in df.columns:
        known = pd.Index(pd.unique(np.asarray(list(known_anime_ids), dtype="int64")))
        anime_ids = df["anime_id"]
        derived["_rule__anime_id_known"] = anime_ids.isna() | anime_ids.isin(known)
    if not derived:
        return df
    return pd.concat([df, pd.DataFrame(derived, index=df.index)], axis=1)


def columns_needed(table_name: str) -> set[str]:
    """The columns a table's suite reads (so a gate need not load the whole table)."""
    needed = set(ROW_KEYS.get(table_name, []))
    for rule in SUITES.get(table_name, []):
        for column in rule.columns:
            if not column.startswith("_rule__"):
                needed.add(column)
                continue
            name = column.removeprefix("_rule__")
            if name == "status_counts_sum_to_total":
                needed |= {*STATUS_COUNT_COLUMNS, "total_count"}
            elif name == "end_after_start":
                needed |= {"start_date", "end_date"}
            else:
                stem = name.removesuffix("_parses").removesuffix("_not_in_future")
                stem = stem.removesuffix("_known")
                needed |= {stem, f"{stem}_raw"}
    return needed
