"""Kaggle's ``dataset-metadata.json``: what ``kaggle datasets create/version`` uploads with.

Kaggle follows the Data Package spec: a title, an ``owner/slug`` id, licenses and one resource
per file with its description and typed fields. Built from the same ``TableExport`` facts and
column docs as the card.
"""

from __future__ import annotations

import re
from typing import Any

from animerec_assets.lib.export.columns import ModelDoc, describe_column
from animerec_assets.lib.export.tables import TableExport, kaggle_field_type

TITLE = "MyAnimeList anime, users and ratings (animerec)"
SUBTITLE = "Anime, users, their lists, reviews, friendships and anime-to-anime links"
KEYWORDS = ["anime", "recommender systems", "ratings", "myanimelist"]
DEFAULT_LICENSE = "other"
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*/[a-z0-9][a-z0-9-]{4,49}$")


class KaggleMetadataError(ValueError):
    """The dataset id or the files cannot make valid Kaggle metadata."""


def check_dataset_id(dataset_id: str) -> str:
    """Kaggle ids are ``<owner>/<slug>``; the slug is 5-50 lowercase letters, digits, dashes."""
    if not _SLUG.match(dataset_id):
        raise KaggleMetadataError(
            f"Kaggle dataset id must look like 'owner/my-dataset-slug' (slug 5-50 chars of "
            f"a-z, 0-9, '-'), got {dataset_id!r} (set ANIMEREC_KAGGLE_DATASET)"
        )
    return dataset_id


def _resource(table: TableExport, file_format: str, path: str, doc: ModelDoc | None) -> dict:
    description = doc.description if doc and doc.description else f"The {table.name} table."
    kind = "Parquet" if file_format == "parquet" else "gzip CSV, lists as JSON text"
    return {
        "path": path,
        "description": f"{description} {table.row_count:,} rows ({kind}).",
        "schema": {
            "fields": [
                {
                    "name": column.name,
                    "description": describe_column(table.name, column.name),
                    "type": kaggle_field_type(column.warehouse_type, file_format),
                }
                for column in table.columns
            ]
        },
    }


def kaggle_metadata(
    dataset_id: str,
    tables: list[TableExport],
    model_docs: dict[str, ModelDoc] | None = None,
    description: str = "",
    license_name: str = DEFAULT_LICENSE,
) -> dict[str, Any]:
    """The metadata document; every exported file is a resource, plus the card itself."""
    check_dataset_id(dataset_id)
    docs = model_docs or {}
    resources = [
        _resource(table, file.file_format, file.path, docs.get(table.name))
        for table in tables
        for file in table.files
    ]
    if not resources:
        raise KaggleMetadataError("an export without files cannot be described to Kaggle")
    resources.append({"path": "README.md", "description": "Dataset card: tables and columns."})
    return {
        "title": TITLE,
        "subtitle": SUBTITLE,
        "description": description,
        "id": dataset_id,
        "licenses": [{"name": license_name}],
        "keywords": KEYWORDS,
        "resources": resources,
    }
