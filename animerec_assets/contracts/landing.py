"""The landing contract: what each crawl item carries, and so each landing table's columns.

The crawler emits these items, the replica writes them straight into landing for the scale
benchmarks, and the warehouse stage creates its landing tables from them; all three import this
module, so a column changes in one place (docs/data_contracts.md describes them).

Column types use a small vocabulary each warehouse maps to its own SQL types:
``VARCHAR``, ``BIGINT``, ``DOUBLE``, ``VARCHAR[]``, ``BIGINT[]``. Dates stay ``VARCHAR`` in
landing (ISO-8601 strings as the page showed them); staging casts them.
"""

from __future__ import annotations

from typing import Literal

ItemType = Literal[
    "anime",
    "anime_stats",
    "anime_pics",
    "anime_clubs",
    "anime_relation",
    "anime_recommendation",
    "review",
    "user",
    "user_anime",
    "user_history",
    "user_user",
    "crawl_snapshot",
    "page_gone",
    "crawl_error",
]
Source = Literal["mal", "jikan", "malapi"]
SOURCES: tuple[Source, ...] = ("mal", "jikan", "malapi")
ColumnType = Literal["VARCHAR", "BIGINT", "DOUBLE", "VARCHAR[]", "BIGINT[]"]

SCORE_COUNT_FIELDS: list[str] = [f"score_{n:02d}_count" for n in range(10, 0, -1)]
# MAL's age ratings: the MAL API v2 code -> the label MAL's pages and Jikan show, which is the
# one form landing, staging and the published cards carry (any other value is refused).
AGE_RATINGS: dict[str, str] = {
    "g": "G - All Ages",
    "pg": "PG - Children",
    "pg_13": "PG-13 - Teens 13 or older",
    "r": "R - 17+ (violence & profanity)",
    "r+": "R+ - Mild Nudity",
    "rx": "Rx - Hentai",
}
AGE_RATING_LABELS: tuple[str, ...] = tuple(AGE_RATINGS.values())
USER_ANIME_STATUSES: dict[int, str] = {
    1: "watching",
    2: "completed",
    3: "on_hold",
    4: "dropped",
    6: "plan_to_watch",
}

# Fields every item carries, before its own. ``item_id`` is the item's stable identity (a
# hash of url, crawl_date and the item's index in its page, given once when the crawler emits
# it): a batch written twice (a retry, a resent sink batch) carries the same ids, and landing
# drops the repeats.
COMMON_FIELDS: list[tuple[str, ColumnType]] = [
    ("crawl_date", "VARCHAR"),
    ("source", "VARCHAR"),
    ("url", "VARCHAR"),
    ("item_id", "VARCHAR"),
]
# Added by the Dagster crawl asset (the hourly partition key), not by the crawler.
PARTITION_COLUMN: tuple[str, ColumnType] = ("crawl_hour", "VARCHAR")

ITEM_FIELDS: dict[str, list[tuple[str, ColumnType]]] = {
    "anime": [
        ("anime_id", "BIGINT"),
        ("anime_url", "VARCHAR"),
        ("title", "VARCHAR"),
        ("synopsis", "VARCHAR"),
        ("main_pic", "VARCHAR"),
        ("type", "VARCHAR"),
        ("source_type", "VARCHAR"),
        ("num_episodes", "BIGINT"),
        ("status", "VARCHAR"),
        ("start_date", "VARCHAR"),
        ("end_date", "VARCHAR"),
        ("premiered", "VARCHAR"),
        ("studios", "VARCHAR[]"),
        ("genres", "VARCHAR[]"),
        ("score", "DOUBLE"),
        ("score_count", "BIGINT"),
        ("score_rank", "BIGINT"),
        ("popularity_rank", "BIGINT"),
        ("members_count", "BIGINT"),
        ("favorites_count", "BIGINT"),
        ("rating", "VARCHAR"),  # one of AGE_RATING_LABELS
    ],
    "anime_stats": [
        ("anime_id", "BIGINT"),
        ("watching_count", "BIGINT"),
        ("completed_count", "BIGINT"),
        ("on_hold_count", "BIGINT"),
        ("dropped_count", "BIGINT"),
        ("plan_to_watch_count", "BIGINT"),
        ("total_count", "BIGINT"),
        *[(name, "BIGINT") for name in SCORE_COUNT_FIELDS],
        # the stats page's sidebar shows it too: the count for sources whose anime item lacks it
        ("favorites_count", "BIGINT"),
    ],
    "anime_pics": [("anime_id", "BIGINT"), ("pics", "VARCHAR[]")],
    "anime_clubs": [("anime_id", "BIGINT"), ("clubs", "VARCHAR[]")],
    "anime_relation": [
        ("animeA", "BIGINT"),
        ("animeB", "BIGINT"),
        ("relation_type", "VARCHAR"),
        ("snapshot_id", "VARCHAR"),
    ],
    "anime_recommendation": [
        ("animeA", "BIGINT"),
        ("animeB", "BIGINT"),
        ("recommendation_url", "VARCHAR"),
        ("num_recommenders", "BIGINT"),
        ("snapshot_id", "VARCHAR"),
    ],
    "review": [
        ("review_id", "BIGINT"),
        ("anime_id", "BIGINT"),
        ("user_id", "VARCHAR"),
        ("review_date", "VARCHAR"),
        ("review_num_useful", "BIGINT"),
        ("review_score", "BIGINT"),
        ("review_story_score", "BIGINT"),
        ("review_animation_score", "BIGINT"),
        ("review_sound_score", "BIGINT"),
        ("review_character_score", "BIGINT"),
        ("review_enjoyment_score", "BIGINT"),
        ("review_tags", "VARCHAR[]"),
    ],
    "user": [
        ("user_id", "VARCHAR"),
        ("user_url", "VARCHAR"),
        ("last_online_date", "VARCHAR"),
        ("join_date", "VARCHAR"),
        ("num_watching", "BIGINT"),
        ("num_completed", "BIGINT"),
        ("num_on_hold", "BIGINT"),
        ("num_dropped", "BIGINT"),
        ("num_plan_to_watch", "BIGINT"),
        ("num_days", "DOUBLE"),
        ("mean_score", "DOUBLE"),
        ("clubs", "VARCHAR[]"),
        ("favorite_anime_ids", "BIGINT[]"),
    ],
    "user_anime": [
        ("user_id", "VARCHAR"),
        ("anime_id", "BIGINT"),
        ("score", "BIGINT"),
        ("status", "VARCHAR"),
        ("progress", "BIGINT"),
        ("last_interaction_date", "VARCHAR"),
        ("snapshot_id", "VARCHAR"),
    ],
    "user_history": [
        ("user_id", "VARCHAR"),
        ("anime_id", "BIGINT"),
        ("episode", "BIGINT"),
        ("history_date", "VARCHAR"),
    ],
    "user_user": [
        ("userA", "VARCHAR"),
        ("userB", "VARCHAR"),
        ("friendship_date", "VARCHAR"),
        ("snapshot_id", "VARCHAR"),
    ],
    # One row per crawl of a set a parent page lists (see SNAPSHOT_SETS): whether that crawl
    # saw the whole set. Only a complete snapshot replaces what staging knew of the set.
    "crawl_snapshot": [
        ("parent_kind", "VARCHAR"),
        ("parent_id", "VARCHAR"),
        ("set_name", "VARCHAR"),
        ("snapshot_id", "VARCHAR"),
        ("complete", "BIGINT"),
        ("item_count", "BIGINT"),
    ],
    # A profile or anime that is no longer there: 404, or a profile turned private.
    "page_gone": [
        ("parent_kind", "VARCHAR"),
        ("parent_id", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("status_code", "BIGINT"),
    ],
    "crawl_error": [
        ("page_type", "VARCHAR"),
        ("status_code", "BIGINT"),
        ("reason", "VARCHAR"),
        # the user or anime whose crawl the page belonged to (an API URL alone hides it)
        ("parent_kind", "VARCHAR"),
        ("parent_id", "VARCHAR"),
    ],
}

# Landing table schemas: common fields, the item's own fields, then the partition column.
# ``item_type`` names the table and is not a column of it.
LANDING_COLUMNS: dict[str, list[tuple[str, ColumnType]]] = {
    item_type: [*COMMON_FIELDS, *fields, PARTITION_COLUMN]
    for item_type, fields in ITEM_FIELDS.items()
}

# Keys of each landing table (for staging's "latest crawl per key").
ITEM_KEYS: dict[str, tuple[str, ...]] = {
    "anime": ("anime_id",),
    "anime_stats": ("anime_id",),
    "anime_pics": ("anime_id",),
    "anime_clubs": ("anime_id",),
    "anime_relation": ("animeA", "animeB"),
    "anime_recommendation": ("animeA", "animeB"),
    "review": ("review_id",),
    "user": ("user_id",),
    "user_anime": ("user_id", "anime_id"),
    "user_history": ("user_id", "anime_id", "episode", "history_date"),
    "user_user": ("userA", "userB"),
    "crawl_snapshot": ("parent_kind", "parent_id", "set_name", "snapshot_id"),
    "page_gone": ("parent_kind", "parent_id", "crawl_date"),
    "crawl_error": ("url", "crawl_date"),
}

# Rows landing could not cast to their table's types (a 23-digit number, a non-finite float,
# a dict where text belongs, an unknown item type): kept whole, as JSON, with the reason, so one
# bad row never fails an hour and never disappears silently.
QUARANTINE_TABLE = "quarantine"
QUARANTINE_COLUMNS: list[tuple[str, ColumnType]] = [
    ("item_type", "VARCHAR"),
    ("url", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("raw", "VARCHAR"),
    PARTITION_COLUMN,
]
# Every table of the landing schema: one per item type, and the quarantine.
LANDING_TABLE_COLUMNS: dict[str, list[tuple[str, ColumnType]]] = {
    **LANDING_COLUMNS,
    QUARANTINE_TABLE: QUARANTINE_COLUMNS,
}

# Snapshot semantics (docs/data_contracts.md "Re-crawls"): a crawl of a parent page is the whole
# truth for the sets it lists. Each set below: the landing table of its rows, the parent kind,
# and the row column naming the parent. Rows carry the ``snapshot_id`` of the crawl that saw
# them; a ``crawl_snapshot`` row closes that crawl with ``complete`` = 1 only when every page of
# the set was read (no failed page, no cut paging). The newest complete snapshot of a
# (parent, set) replaces the set; partial snapshots delete nothing. Sets held as a list in the
# parent's own row (favorites in ``user``, ``anime_pics``, ``anime_clubs``) are replaced by the
# newest row of the parent and need no marker.
SNAPSHOT_SETS: dict[str, tuple[str, str, str]] = {
    "user_anime": ("user_anime", "user", "user_id"),
    "user_user": ("user_user", "user", "userA"),
    "anime_relation": ("anime_relation", "anime", "animeA"),
    "anime_recommendation": ("anime_recommendation", "anime", "animeA"),
}
PARENT_KINDS: tuple[str, ...] = ("user", "anime")
GONE_REASONS: tuple[str, ...] = ("not_found", "private")

# Users who opted out (``animerec optout add``), copied from the crawl scheduler before dbt runs
# (not a crawl item: dbt declares it as the ``privacy`` source, and processed excludes them).
OPTOUT_TABLE = "optout"
OPTOUT_COLUMNS: list[tuple[str, ColumnType]] = [
    ("user_key", "VARCHAR"),
    ("opted_out_date", "VARCHAR"),
]
