"""Export versions: written aside, renamed into place, ``latest`` moved last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from animerec_assets.lib.export.versions import (
    ExportVersionError,
    abandon_version,
    latest_version,
    partial_dir,
    publish_version,
    start_version,
    version_name,
)


def test_version_names_are_sortable_utc() -> None:
    paris = timezone(timedelta(hours=2))
    assert version_name(datetime(2025, 1, 2, 5, 4, 5, tzinfo=paris)) == "20250102T030405Z"
    with pytest.raises(ValueError, match="aware"):
        version_name(datetime(2025, 1, 2))


def test_publish_moves_latest_only_when_complete(tmp_path: Path) -> None:
    assert latest_version(tmp_path) is None
    first = start_version(tmp_path, "v1")
    (first / "a.txt").write_text("one")
    assert latest_version(tmp_path) is None  # nothing published while writing
    publish_version(tmp_path, "v1")
    second = start_version(tmp_path, "v2")
    (second / "a.txt").write_text("two")
    assert latest_version(tmp_path) == "v1"
    assert (tmp_path / "latest" / "a.txt").read_text() == "one"
    publish_version(tmp_path, "v2")
    assert latest_version(tmp_path) == "v2"
    assert (tmp_path / "latest" / "a.txt").read_text() == "two"
    assert (tmp_path / "v1" / "a.txt").read_text() == "one"
    assert not partial_dir(tmp_path, "v2").exists()


def test_failed_version_is_abandoned_and_previous_kept(tmp_path: Path) -> None:
    start_version(tmp_path, "v1")
    publish_version(tmp_path, "v1")
    work = start_version(tmp_path, "v2")
    (work / "half.parquet").write_bytes(b"PAR1")
    abandon_version(tmp_path, "v2")
    assert not work.exists() and not (tmp_path / "v2").exists()
    assert latest_version(tmp_path) == "v1"
    with pytest.raises(ExportVersionError, match="nothing to publish"):
        publish_version(tmp_path, "v2")


def test_a_published_version_is_never_overwritten(tmp_path: Path) -> None:
    start_version(tmp_path, "v1")
    publish_version(tmp_path, "v1")
    with pytest.raises(ExportVersionError, match="already exists"):
        start_version(tmp_path, "v1")


def test_leftover_partial_from_a_crash_is_replaced(tmp_path: Path) -> None:
    stale = partial_dir(tmp_path, "v1")
    stale.mkdir(parents=True)
    (stale / "junk").write_text("x")
    work = start_version(tmp_path, "v1")
    assert list(work.iterdir()) == []


def test_now_is_utc() -> None:
    assert version_name(datetime.now(UTC)).endswith("Z")
