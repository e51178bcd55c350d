"""Comparing processed tables with the replica's ground truth (no tests here): the keys of each
table and the columns a crawl of the replica can observe exactly. Shared by the demo test and
the moving-world test."""

from __future__ import annotations

import pandas as pd

KEYS = {
    "anime": ["anime_id"],
    "user": ["user_id"],
    "user_anime": ["user_id", "anime_id"],
    "anime_anime": ["animeA", "animeB"],
    "user_user": ["userA", "userB"],
}
# Values a crawl of the replica can observe exactly (dates shown without a year, image hosts
# and unscored zeros are checked elsewhere or differ by design).
COMPARED = {
    "anime": ["title", "type", "source_type", "num_episodes", "status", "start_date",
              "members_count", "favorites_count", "completed_count", "plan_to_watch_count",
              "total_count", "score_10_count", "score_01_count", "genres", "studios"],
    "user": ["num_watching", "num_completed", "num_on_hold", "num_dropped",
             "num_plan_to_watch"],
    "user_anime": ["status", "progress", "favorite", "score"],
    "anime_anime": ["recommendation", "num_recommenders", "related", "relation_type"],
    "user_user": ["friends"],
}  # fmt: skip


def comparable(values: pd.Series) -> pd.Series:
    def one(value: object) -> object:
        if isinstance(value, list | tuple) or hasattr(value, "tolist"):
            return tuple(sorted(str(v) for v in list(value)))
        if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)[:10] if isinstance(value, pd.Timestamp) else str(value)

    return values.map(one)


def differences(
    table: str, crawled: pd.DataFrame, truth: pd.DataFrame, columns: list[str] | None = None
) -> list[str]:
    """What differs between a processed table and its truth: keys, then compared columns."""
    keys = KEYS[table]
    crawled_keys = set(map(tuple, crawled[keys].astype(str).to_numpy()))
    truth_keys = set(map(tuple, truth[keys].astype(str).to_numpy()))
    problems = []
    if crawled_keys != truth_keys:
        extra, missing = crawled_keys - truth_keys, truth_keys - crawled_keys
        problems.append(
            f"{table}: {len(extra)} keys not in the truth (e.g. {sorted(extra)[:3]}), "
            f"{len(missing)} missing (e.g. {sorted(missing)[:3]})"
        )
    merged = crawled.astype({k: str for k in keys}).merge(
        truth.astype({k: str for k in keys}), on=keys, suffixes=("_crawled", "_truth")
    )
    for column in columns if columns is not None else COMPARED[table]:
        crawled_values = comparable(merged[f"{column}_crawled"])
        truth_values = comparable(merged[f"{column}_truth"])
        if table == "user_anime" and column == "score":
            truth_values = truth_values.replace("0", None)  # unscored: NULL once processed
        same = (crawled_values == truth_values) | (crawled_values.isna() & truth_values.isna())
        if not same.all():
            seen, wanted = crawled_values[~same].head(3), truth_values[~same].head(3)
            problems.append(
                f"{table}.{column} differs for {int((~same).sum())} rows, e.g. "
                f"{merged.loc[~same, keys].head(3).to_dict('records')}: "
                f"{seen.tolist()} vs {wanted.tolist()}"
            )
    return problems
