"""The landing manifest: complete batches are loaded once, by marker, whatever their mtime."""

from __future__ import annotations

import os
from pathlib import Path

from animerec_assets.lib.crawl_manifest import (
    backlog,
    batches_for_hour,
    mark_loaded,
    record_completed,
)

HOUR, NEXT_HOUR = "2024-05-01 13:00:00", "2024-05-01 14:00:00"


def _batch(items: Path, name: str) -> Path:
    items.mkdir(parents=True, exist_ok=True)
    path = items / f"{name}.jsonl"
    path.write_text('{"item_type": "anime"}\n')
    return path


def test_only_marked_batches_load_and_each_hour_loads_new_ones(tmp_path: Path) -> None:
    items = tmp_path / "items"
    first = _batch(items, "anime-1")
    record_completed(first, "anime", urls=1, items=1)
    _batch(items, "anime-orphan")  # renamed, then the worker died before its marker
    late = _batch(items, "anime-2")
    os.utime(late, (0, 0))  # a skewed clock: mtime in 1970
    record_completed(late, "anime", urls=1, items=1)
    assert backlog(items) == 2

    loaded = batches_for_hour(items, HOUR)
    assert [b.items_file.name for b in loaded] == ["anime-1.jsonl", "anime-2.jsonl"]
    assert mark_loaded(items, HOUR, loaded) == 2
    assert backlog(items) == 0

    third = _batch(items, "anime-3")
    record_completed(third, "anime", urls=1, items=1)
    assert [b.items_file.name for b in batches_for_hour(items, NEXT_HOUR)] == ["anime-3.jsonl"]
    # re-materializing the first hour loads what it loaded before (and the new batch, which
    # no hour has loaded yet)
    again = {b.items_file.name for b in batches_for_hour(items, HOUR)}
    assert again == {"anime-1.jsonl", "anime-2.jsonl", "anime-3.jsonl"}


def test_a_marker_is_whole_or_absent(tmp_path: Path) -> None:
    items = tmp_path / "items"
    marker = record_completed(_batch(items, "b"), "profile", urls=3, items=7)
    assert not [p for p in marker.parent.iterdir() if p.name.endswith(".tmp")]
    (marker.parent / "broken.json").write_text("{not json")  # a foreign, damaged marker
    (batch,) = batches_for_hour(items, HOUR)
    assert batch.items == 7


def test_a_crawl_folder_is_swapped_in_whole_or_not_at_all(tmp_path: Path) -> None:
    from animerec_assets.lib.crawl_manifest import discard, new_crawl_folder, swap_in

    link = tmp_path / "partitions" / "2024-05-01-1300"
    link.parent.mkdir(parents=True)
    link.mkdir()  # a folder from before links were used
    (link / "old.jsonl").write_text("old\n")

    first = new_crawl_folder(link)
    (first / "a.jsonl").write_text("a\n")
    swap_in(first, link)
    assert sorted(p.name for p in link.iterdir()) == ["a.jsonl"]

    failed = new_crawl_folder(link)  # a re-run that fails: the hour keeps its last crawl
    (failed / "partial.jsonl").write_text("b\n")
    discard(failed)
    assert sorted(p.name for p in link.iterdir()) == ["a.jsonl"]

    killed = new_crawl_folder(link)  # a re-run killed before its swap leaves a folder ...
    second = new_crawl_folder(link)  # ... the next crawl of the hour removes
    assert not killed.exists() and link.resolve() == first.resolve()
    (second / "c.jsonl").write_text("c\n")
    swap_in(second, link)
    assert sorted(p.name for p in link.iterdir()) == ["c.jsonl"]
    assert not first.exists()
    assert {p.name for p in link.parent.iterdir()} == {link.name, second.name}
