"""Export versions on disk: ``<export_dir>/<version>/`` plus a ``latest`` pointer.

A version is written under a hidden ``.<version>.partial`` folder and renamed into place only
when complete, and ``latest`` moves last: a reader following ``latest`` never sees half an
export, and a failed export leaves the previous one untouched.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

LATEST_FILE = "LATEST"
LATEST_LINK = "latest"


class ExportVersionError(RuntimeError):
    """A version folder cannot be created or published."""


def version_name(now: datetime) -> str:
    """A sortable UTC timestamp, e.g. ``20250102T030405Z``."""
    if now.tzinfo is None:
        raise ValueError("version_name needs an aware datetime (UTC)")
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def partial_dir(export_dir: Path, version: str) -> Path:
    return export_dir / f".{version}.partial"


def start_version(export_dir: Path, version: str) -> Path:
    """A fresh, empty folder to write the version into (refuses to reuse a published one)."""
    if (export_dir / version).exists():
        raise ExportVersionError(f"export version {version} already exists in {export_dir}")
    work = partial_dir(export_dir, version)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    return work


def abandon_version(export_dir: Path, version: str) -> None:
    shutil.rmtree(partial_dir(export_dir, version), ignore_errors=True)


def publish_version(export_dir: Path, version: str) -> Path:
    """Move the finished version into place, then point ``latest`` (file and symlink) at it."""
    work = partial_dir(export_dir, version)
    final = export_dir / version
    if not work.is_dir():
        raise ExportVersionError(f"nothing to publish: {work} does not exist")
    os.replace(work, final)
    pointer = export_dir / f".{LATEST_FILE}.tmp"
    pointer.write_text(version + "\n", encoding="utf-8")
    os.replace(pointer, export_dir / LATEST_FILE)
    link = export_dir / f".{LATEST_LINK}.tmp"
    try:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(version, target_is_directory=True)
        os.replace(link, export_dir / LATEST_LINK)
    except OSError:
        # Filesystems without symlinks still have the LATEST file.
        link.unlink(missing_ok=True)
    return final


def latest_version(export_dir: Path) -> str | None:
    """The published version ``latest`` names, or None before the first export."""
    pointer = export_dir / LATEST_FILE
    if not pointer.exists():
        return None
    return pointer.read_text(encoding="utf-8").strip() or None
