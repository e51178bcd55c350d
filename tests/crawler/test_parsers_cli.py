"""``animerec parse URL FILE``: routes like the spider, prints items as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from animerec_cli.main import app

runner = CliRunner()


def test_parse_prints_items_as_json_lines(mal_pages_dir: Path) -> None:
    page = mal_pages_dir / "html" / "anime_6_trigun.html"
    result = runner.invoke(app, ["parse", "https://myanimelist.net/anime/6/Trigun", str(page)])
    assert result.exit_code == 0, result.output
    items = [json.loads(line) for line in result.stdout.splitlines()]
    assert [i["item_type"] for i in items] == ["anime", "anime_relation", "anime_relation"]
    assert items[0]["title"] == "Trigun" and items[0]["members_count"] == 822213


def test_parse_with_status_reads_the_400_answer(mal_pages_dir: Path) -> None:
    page = mal_pages_dir / "html" / "animelist_nonexistent_user_load_400.json"
    url = "https://myanimelist.net/animelist/nobody_here/load.json?offset=0"
    result = runner.invoke(app, ["parse", url, str(page), "--status", "400"])
    (item,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert item["item_type"] == "crawl_error" and item["status_code"] == 400


def test_unroutable_url_exits_2(mal_pages_dir: Path) -> None:
    page = mal_pages_dir / "html" / "anime_21_one_piece_moreinfo.html"
    url = "https://myanimelist.net/anime/21/One_Piece/moreinfo"
    result = runner.invoke(app, ["parse", url, str(page)])
    assert result.exit_code == 2
    assert "no parser for URL" in result.output
