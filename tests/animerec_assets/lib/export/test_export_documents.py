"""The dataset card and Kaggle's dataset-metadata.json, rendered from the same facts."""

from __future__ import annotations

import json

import pytest

from animerec_assets.lib.export.card import (
    LICENSE_PLACEHOLDER,
    CardFacts,
    card_preview,
    human_size,
    render_card,
)
from animerec_assets.lib.export.columns import (
    COLUMN_DESCRIPTIONS,
    ColumnDocsError,
    ModelDoc,
)
from animerec_assets.lib.export.kaggle import (
    KaggleMetadataError,
    check_dataset_id,
    kaggle_metadata,
)
from animerec_assets.lib.export.tables import Column, ExportedFile, TableExport

DATASET = "animerec/myanimelist-anime-recommendations"
TYPES = {"anime_id": "BIGINT", "genres": "VARCHAR[]", "start_date": "DATE", "score": "DOUBLE"}


def table(name: str, rows: int) -> TableExport:
    columns = [Column(c, TYPES.get(c, "VARCHAR")) for c in COLUMN_DESCRIPTIONS[name]]
    files = [
        ExportedFile(f"{name}.parquet", "parquet", 2048 * rows),
        ExportedFile(f"{name}.csv.gz", "csv", 1024 * rows),
    ]
    ranges = {"start_date": ("1998-04-03", "2024-01-01")} if name == "anime" else {}
    return TableExport(name, columns, rows, files, ranges)


TABLES = [
    table(name, rows) for name, rows in zip(COLUMN_DESCRIPTIONS, (3, 2, 5, 4, 1), strict=True)
]
DOCS = {
    "anime": ModelDoc("One row per anime.", {"anime_id": ["never empty", "unique"]}),
    "user_anime": ModelDoc("User | anime pairs.", {}, ["unique (user_id, anime_id)"]),
}


def card(**changes) -> str:
    facts = dict(
        version="20250102T030405Z",
        exported_at="2025-01-02T03:04:05+00:00",
        dataset_id=DATASET,
        tables=TABLES,
        crawl_period=("2024-06-02 12:00:00", "2024-06-04 02:00:00"),
        model_docs=DOCS,
    )
    return render_card(CardFacts(**(facts | changes)))


def test_card_describes_every_table_and_column() -> None:
    text = card()
    assert text.startswith("# animerec")
    assert "end-to-end anime recommendation platform" in text
    for exported in TABLES:
        assert f"### `{exported.name}`" in text
        assert f"| `{exported.name}` | {exported.row_count:,} |" in text
        for column in exported.columns:
            description = COLUMN_DESCRIPTIONS[exported.name][column.name].replace("|", "\\|")
            assert f"| `{column.name}` |" in text
            assert description in text
    assert (
        "| `anime_id` | integer | MyAnimeList's numeric id of the anime. | never empty; unique |"
        in text
    )
    assert "| `genres` | list of string |" in text
    assert "User \\| anime pairs." not in text  # descriptions are prose, only cells escape pipes
    assert "User | anime pairs." in text
    assert "Checked: unique (user_id, anime_id)." in text


def test_card_states_counts_period_collection_loading_and_license() -> None:
    text = card()
    assert "- Crawl period: 2024-06-02 12:00:00 to 2024-06-04 02:00:00" in text
    assert "- 5 tables, 15 rows in all" in text
    assert "`anime.parquet` (6.0 KB)" in text
    assert "Dates: `start_date` 1998-04-03 to 2024-01-01" in text
    assert "## How it was collected" in text and "Scrapy" in text
    assert 'anime = pd.read_parquet("anime.parquet")' in text
    assert 'anime_csv["genres"].map(json.loads)' in text
    assert LICENSE_PLACEHOLDER in text
    assert "not recorded for this export" in card(crawl_period=None)
    empty_dates = TableExport("anime", TABLES[0].columns, 1, [], {"end_date": (None, None)})
    assert "Dates: `end_date` always empty" in card(tables=[empty_dates])


def test_card_refuses_an_undocumented_column() -> None:
    odd = TableExport("user_user", [Column("mystery", "VARCHAR")], 1, [])
    with pytest.raises(ColumnDocsError, match=r"user_user\.mystery"):
        card(tables=[odd])


def test_sizes_and_preview() -> None:
    assert human_size(None) == "size unknown"
    assert human_size(512) == "512 B"
    assert human_size(3 * 1024**3) == "3.0 GB"
    text = card()
    assert card_preview(text, max_chars=len(text)) == text
    preview = card_preview(text, max_chars=500)
    assert len(preview) < 600 and preview.endswith("*(card continues in README.md)*\n")


def test_kaggle_metadata_names_every_file_with_typed_fields() -> None:
    metadata = json.loads(json.dumps(kaggle_metadata(DATASET, TABLES, DOCS, description="card")))
    assert metadata["id"] == DATASET
    assert 6 <= len(metadata["title"]) <= 50 and 20 <= len(metadata["subtitle"]) <= 80
    assert metadata["licenses"] == [{"name": "other"}]
    paths = [resource["path"] for resource in metadata["resources"]]
    expected = [file.path for exported in TABLES for file in exported.files]
    assert paths == [*expected, "README.md"]
    by_path = {resource["path"]: resource for resource in metadata["resources"]}
    anime_csv = {f["name"]: f for f in by_path["anime.csv.gz"]["schema"]["fields"]}
    anime_parquet = {f["name"]: f for f in by_path["anime.parquet"]["schema"]["fields"]}
    assert list(anime_csv) == list(COLUMN_DESCRIPTIONS["anime"])
    assert anime_csv["genres"]["type"] == "string" and anime_parquet["genres"]["type"] == "array"
    assert anime_csv["anime_id"] == {
        "name": "anime_id",
        "description": COLUMN_DESCRIPTIONS["anime"]["anime_id"],
        "type": "integer",
    }
    assert by_path["anime.parquet"]["description"].startswith("One row per anime. 3 rows")
    assert by_path["user.parquet"]["description"].startswith("The user table. 2 rows")


@pytest.mark.parametrize(
    "bad",
    ["no-slash", "owner/UPPER-case", "owner/abc", "/slug-name", "a/b/c-slug", "o/" + "x" * 51],
)
def test_bad_dataset_ids_are_refused_with_the_setting_to_fix(bad: str) -> None:
    with pytest.raises(KaggleMetadataError, match="ANIMEREC_KAGGLE_DATASET"):
        check_dataset_id(bad)


def test_kaggle_metadata_needs_files() -> None:
    empty = TableExport("user_user", TABLES[-1].columns, 0, [])
    with pytest.raises(KaggleMetadataError, match="without files"):
        kaggle_metadata(DATASET, [empty])
