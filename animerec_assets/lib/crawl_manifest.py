"""Which crawl batch files are complete, and which landing hour loaded them.

Crawler workers write a batch's items to ``<items>/<batch>.jsonl`` (renamed into place when
whole), then record the batch as complete with a small marker, ``<items>/.done/<batch>.json``,
before they acknowledge its queue entries. Landing loads the batches named by markers, never
files chosen by their modification time (a file renamed after an hour's landing listed the
folder, or a skewed clock on a shared volume, would be skipped for ever), and marks what it
loaded by moving each marker to ``.loaded/<hour>/``: the next hour loads only new batches, and
re-materializing an hour loads exactly the batches it loaded before.

Every marker is written to a temporary name and renamed (atomic), so a process killed at any
moment leaves a marker whole or absent; a batch file whose marker is absent is never loaded
(its queue entries were not acknowledged, so its URLs are crawled again).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DONE = ".done"
LOADED = ".loaded"
_SAFE_HOUR = re.compile(r"[^0-9A-Za-z_-]")


@dataclass(frozen=True)
class CompletedBatch:
    marker: Path
    items_file: Path
    items: int


def _hour_folder(hour: str) -> str:
    return _SAFE_HOUR.sub("", hour.replace(" ", "T"))


def _write_atomically(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with partial.open("w", encoding="utf-8") as out:
        json.dump(payload, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def record_completed(items_file: Path, kind: str, urls: int, items: int) -> Path:
    """Mark ``items_file`` (already renamed into place) as a complete batch."""
    items_file = Path(items_file)
    marker = items_file.parent / DONE / f"{items_file.stem}.json"
    _write_atomically(
        marker,
        {
            "file": items_file.name,
            "kind": kind,
            "urls": urls,
            "items": items,
            "completed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    return marker


def _read(marker: Path, items_dir: Path) -> CompletedBatch | None:
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
        name = Path(str(record["file"])).name  # never a path out of the folder
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return CompletedBatch(marker, items_dir / name, int(record.get("items") or 0))


def batches_for_hour(items_dir: Path, hour: str) -> list[CompletedBatch]:
    """Complete batches not loaded yet, plus those ``hour`` loaded before (a re-run)."""
    items_dir = Path(items_dir)
    markers = sorted((items_dir / DONE).glob("*.json"))
    markers += sorted((items_dir / LOADED / _hour_folder(hour)).glob("*.json"))
    batches = [_read(marker, items_dir) for marker in markers]
    return [b for b in batches if b is not None and b.items_file.exists()]


def mark_loaded(items_dir: Path, hour: str, batches: list[CompletedBatch]) -> int:
    """Move the markers of ``batches`` under ``.loaded/<hour>/`` (after landing committed)."""
    target = Path(items_dir) / LOADED / _hour_folder(hour)
    target.mkdir(parents=True, exist_ok=True)
    moved = 0
    for batch in batches:
        if batch.marker.parent == target:
            continue
        try:
            os.replace(batch.marker, target / batch.marker.name)
            moved += 1
        except FileNotFoundError:  # another landing run moved it first
            continue
    return moved


def backlog(items_dir: Path) -> int:
    """How many complete batches wait for landing."""
    return sum(1 for _ in (Path(items_dir) / DONE).glob("*.json"))


def files_loaded_marks(items_dir: Path, hour: str, files: list[Path]) -> list[CompletedBatch]:
    """The manifest entries of ``files`` (as ``batches_for_hour`` listed them)."""
    wanted = {Path(f).name for f in files}
    return [b for b in batches_for_hour(items_dir, hour) if b.items_file.name in wanted]


# ---- the in-process crawl's folder per hour --------------------------------------------------


def new_crawl_folder(link: Path) -> Path:
    """A fresh folder beside ``link`` for a crawl that replaces what ``link`` shows (and the
    leftovers of crawls of the same hour killed before their swap are removed)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    current = link.resolve() if link.is_symlink() else None
    for leftover in link.parent.glob(f".{link.name}.*"):
        if leftover.resolve() != current:
            if leftover.is_symlink():
                leftover.unlink(missing_ok=True)
            else:
                _remove_tree(leftover)
    folder = link.parent / f".{link.name}.{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    return folder


def swap_in(folder: Path, link: Path) -> None:
    """Make ``link`` show ``folder`` in one atomic step, then remove what it showed before.

    ``link`` is a symbolic link replaced by rename: a process killed at any moment leaves it
    naming the previous complete crawl or the new one, never nothing and never a half.
    """
    previous = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():  # a real folder from before links were used
        legacy = link.parent / f".{link.name}.legacy-{uuid.uuid4().hex[:8]}"
        os.replace(link, legacy)
        previous = legacy
    staged = link.parent / f".{link.name}.link-{uuid.uuid4().hex[:8]}"
    os.symlink(folder.name, staged)
    os.replace(staged, link)
    if previous is not None and previous != folder.resolve():
        _remove_tree(previous)


def discard(folder: Path) -> None:
    """Remove a crawl folder that was never swapped in (its crawl failed)."""
    _remove_tree(folder)


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
