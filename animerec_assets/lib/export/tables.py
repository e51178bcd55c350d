"""What an export knows about each table: columns with warehouse types, rows, files, dates.

The same facts feed the dataset card and the Kaggle metadata, so they are gathered once into
``TableExport`` records. Types arrive in the warehouse's own spelling (DuckDB ``VARCHAR[]``,
BigQuery ``ARRAY<STRING>``) and are mapped here to the Data Package types Kaggle reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FILE_FORMATS: tuple[str, ...] = ("parquet", "csv")
FILE_SUFFIX = {"parquet": ".parquet", "csv": ".csv.gz"}

_INTEGER = re.compile(r"^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|INT64|U?INT\d*)$")
_NUMBER = re.compile(r"^(DOUBLE|FLOAT|FLOAT64|REAL|NUMERIC|BIGNUMERIC|DECIMAL.*)$")


@dataclass(frozen=True)
class Column:
    name: str
    warehouse_type: str


@dataclass(frozen=True)
class ExportedFile:
    """One written file: its name inside the version folder, format and size (None: unknown,
    e.g. BigQuery shards in GCS)."""

    path: str
    file_format: str
    size_bytes: int | None


@dataclass(frozen=True)
class TableExport:
    name: str
    columns: list[Column]
    row_count: int
    files: list[ExportedFile] = field(default_factory=list)
    # date/timestamp column -> (earliest, latest) as ISO text; None where the column is empty
    date_ranges: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def file_name(table: str, file_format: str) -> str:
    if file_format not in FILE_SUFFIX:
        raise ValueError(f"file format must be one of {FILE_FORMATS}, got {file_format!r}")
    return table + FILE_SUFFIX[file_format]


def is_list_type(warehouse_type: str) -> bool:
    kind = warehouse_type.strip().upper()
    return kind.endswith("[]") or kind.startswith("ARRAY")


def is_date_type(warehouse_type: str) -> bool:
    kind = warehouse_type.strip().upper()
    return kind in ("DATE", "DATETIME") or kind.startswith("TIMESTAMP")


def kaggle_field_type(warehouse_type: str, file_format: str) -> str:
    """The Data Package field type of a column as it appears in a file of ``file_format``.

    Lists are Parquet lists but JSON text in CSV (CSV has no list type), so the same column is
    ``array`` in one file and ``string`` in the other.
    """
    kind = warehouse_type.strip().upper()
    if is_list_type(kind):
        return "array" if file_format == "parquet" else "string"
    if kind == "DATE":
        return "date"
    if is_date_type(kind):
        return "datetime"
    if kind in ("BOOLEAN", "BOOL"):
        return "boolean"
    if _INTEGER.match(kind):
        return "integer"
    if _NUMBER.match(kind):
        return "number"
    return "string"


def reader_type(warehouse_type: str) -> str:
    """A short type name for humans reading the card (list of string, integer, date...)."""
    kind = warehouse_type.strip().upper()
    if is_list_type(kind):
        inner = kind.removesuffix("[]").removeprefix("ARRAY<").removesuffix(">")
        return f"list of {kaggle_field_type(inner, 'parquet')}"
    return kaggle_field_type(kind, "parquet")
