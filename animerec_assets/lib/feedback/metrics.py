"""Online metrics: what visitors did with each model version's picks, as tables and charts.

The numbers come from dbt's feedback tables (``feedback.feedback_by_model_version``,
``feedback_by_reason``, ``feedback_anime_dislikes``); this module only orders, formats and
draws them, and puts them next to the offline evaluation of the same model versions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from animerec_assets.lib.warehouse import Dialect

# The rates of a feedback table, as a person reads them.
RATES: dict[str, str] = {
    "like_rate": "like",
    "not_for_me_rate": "not for me",
    "hide_rate": "not interested",
    "mal_click_rate": "MAL click-through",
}
OFFLINE: dict[str, str] = {"recall@20": "Recall@20", "ndcg@20": "NDCG@20"}
FEEDBACK_SCHEMA = "feedback"
FEEDBACK_TABLES: tuple[str, ...] = (
    "feedback_by_model_version",
    "feedback_by_reason",
    "feedback_anime_dislikes",
)
LAST_VERSIONS = 5  # model versions the charts and side-by-side tables show


def feedback_table_sql(dialect: Dialect, table: str, project: str | None = None) -> str:
    """Select a whole feedback table, as the warehouse's SQL names it."""
    if table not in FEEDBACK_TABLES:
        raise ValueError(f"{table!r} is not a feedback table ({FEEDBACK_TABLES})")
    if dialect == "bigquery":
        prefix = f"{project}." if project else ""
        return f"select * from `{prefix}{FEEDBACK_SCHEMA}.{table}`"
    return f'select * from {FEEDBACK_SCHEMA}."{table}"'


def newest_versions(by_version: pd.DataFrame, last: int = LAST_VERSIONS) -> pd.DataFrame:
    """The ``last`` model versions that received feedback most recently, oldest first."""
    if by_version.empty:
        return by_version
    ordered = by_version.sort_values(["last_event_time", "model_version"])
    return ordered.tail(last).reset_index(drop=True)


def _cell(value: object, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if percent:
        return f"{float(value):.1%}"  # type: ignore[arg-type]
    if isinstance(value, float):
        return f"{value:.2f}"
    return f"{value}"


def _escape(text: object) -> str:
    """A value a visitor's client chose (model versions are validated, still) safe in a
    Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")[:80]


def versions_markdown(by_version: pd.DataFrame) -> str:
    """One row per model version: sessions, cards, picks per session and every rate."""
    header = ["model version", "sessions", "cards", "picks / session", *RATES.values(), "more"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for _, row in by_version.iterrows():
        cells = [
            _escape(row["model_version"]),
            _cell(int(row["sessions"])),
            _cell(int(row["cards"])),
            _cell(row["picks_per_session"]),
            *(_cell(row[rate], percent=True) for rate in RATES),
            _cell(int(row["more_requests"])),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reasons_markdown(by_reason: pd.DataFrame) -> str:
    """One row per model version and reason type: cards and rates."""
    header = ["model version", "reason", "cards", *RATES.values()]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for _, row in by_reason.sort_values(["model_version", "reason_type"]).iterrows():
        cells = [
            _escape(row["model_version"]),
            _escape(row["reason_type"]),
            _cell(int(row["cards"])),
            *(_cell(row[rate], percent=True) for rate in RATES),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def turned_down_anime(
    anime_dislikes: pd.DataFrame, min_cards: int, min_rate: float
) -> pd.DataFrame:
    """Anime whose card, shown with a given kind of reason to at least ``min_cards`` sessions,
    was marked "not for me" at a rate of ``min_rate`` or more; the worst first."""
    columns = ["anime_id", "reason_type", "cards", "dislikes", "hides", "not_for_me_rate"]
    if anime_dislikes.empty:
        return pd.DataFrame(columns=columns)
    high = anime_dislikes[
        (anime_dislikes["cards"] >= min_cards) & (anime_dislikes["not_for_me_rate"] >= min_rate)
    ]
    return high.sort_values(["not_for_me_rate", "cards"], ascending=False)[columns].reset_index(
        drop=True
    )


def turned_down_markdown(flagged: pd.DataFrame) -> str:
    lines = ["| anime | reason | cards | not for me | not interested | rate |", "|---" * 6 + "|"]
    for _, row in flagged.iterrows():
        rate = _cell(row["not_for_me_rate"], percent=True)
        lines.append(
            f"| {int(row['anime_id'])} | {_escape(row['reason_type'])} | {int(row['cards'])} "
            f"| {int(row['dislikes'])} | {int(row['hides'])} | {rate} |"
        )
    return "\n".join(lines)


def online_chart_png(by_version: pd.DataFrame, by_reason: pd.DataFrame) -> bytes:
    """Left: the rates of the last model versions side by side (picks per session in the
    labels). Right: like and "not for me" rates per reason type for the newest version."""
    from animerec_assets.lib.charts import figure_png, pyplot

    plt = pyplot()
    versions = newest_versions(by_version)
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), dpi=100)
    positions = np.arange(len(versions))
    width = 0.8 / len(RATES)
    for offset, (rate, label) in enumerate(RATES.items()):
        left.bar(
            positions + (offset - (len(RATES) - 1) / 2) * width,
            versions[rate].astype(float).fillna(0),
            width=width,
            label=label,
        )
    left.set_xticks(
        positions,
        [
            f"{version}\n{cards} cards, {picks:.1f}/session"
            for version, cards, picks in zip(
                versions["model_version"],
                versions["cards"],
                versions["picks_per_session"].astype(float).fillna(0),
                strict=True,
            )
        ],
        fontsize=8,
    )
    left.set_ylim(0, 1)
    left.set_ylabel("share of cards")
    left.set_title("Online metrics per model version")
    left.legend(loc="upper right", fontsize=8)

    newest = versions["model_version"].iloc[-1] if len(versions) else None
    reasons = by_reason[by_reason["model_version"] == newest].sort_values("reason_type")
    places = np.arange(len(reasons))
    right.bar(places - 0.2, reasons["like_rate"].astype(float).fillna(0), 0.4, label="like")
    right.bar(
        places + 0.2, reasons["not_for_me_rate"].astype(float).fillna(0), 0.4, label="not for me"
    )
    right.set_xticks(
        places,
        [f"{r}\n{c} cards" for r, c in zip(reasons["reason_type"], reasons["cards"], strict=True)],
    )
    right.set_ylim(0, 1)
    right.set_title(f"Per reason type ({newest or 'no feedback yet'})")
    right.legend(loc="upper right", fontsize=8)
    return figure_png(figure)


def side_by_side(offline: pd.DataFrame, by_version: pd.DataFrame) -> pd.DataFrame:
    """Offline metrics (``model_version``, ``recall@20``, ``ndcg@20``, newest last) joined with
    the online ones of the same versions (NULL where no visitor has seen that version yet)."""
    online_columns = ["model_version", "sessions", "cards", "picks_per_session", *RATES]
    online = (
        by_version[online_columns] if not by_version.empty else pd.DataFrame(columns=online_columns)
    )
    return offline.merge(online, on="model_version", how="left")


def side_by_side_markdown(table: pd.DataFrame) -> str:
    header = ["model version", *OFFLINE.values(), "cards", "picks / session", *RATES.values()]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for _, row in table.iterrows():
        cards = row.get("cards")
        cells = [
            _escape(row["model_version"]),
            *(_cell(row[metric]) if pd.notna(row[metric]) else "–" for metric in OFFLINE),
            _cell(int(cards)) if pd.notna(cards) else "–",
            _cell(row["picks_per_session"]) if pd.notna(row["picks_per_session"]) else "–",
            *(_cell(row[rate], percent=True) if pd.notna(row[rate]) else "–" for rate in RATES),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def side_by_side_png(table: pd.DataFrame, versions: Sequence[str] | None = None) -> bytes:
    """Left: offline Recall@20 and NDCG@20 per model version; right: the online rates of the
    same versions (empty bars where a version has no feedback yet)."""
    from animerec_assets.lib.charts import figure_png, pyplot

    plt = pyplot()
    labels = list(versions) if versions is not None else list(table["model_version"])
    positions = np.arange(len(table))
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), dpi=100)
    for axis, metrics, title in (
        (left, OFFLINE, "Offline (hold-out)"),
        (right, RATES, "Online (visitors' feedback)"),
    ):
        width = 0.8 / len(metrics)
        for offset, (column, label) in enumerate(metrics.items()):
            axis.bar(
                positions + (offset - (len(metrics) - 1) / 2) * width,
                pd.to_numeric(table[column], errors="coerce").fillna(0),
                width=width,
                label=label,
            )
        axis.set_xticks(positions, labels, fontsize=8, rotation=15)
        axis.set_ylim(0, 1)
        axis.set_title(title)
        axis.legend(loc="upper right", fontsize=8)
    return figure_png(figure)
