"""`animerec replica export|serve`: files written, bad input refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from mal_replica.cli import app

runner = CliRunner()


def test_export_writes_one_parquet_per_table(tmp_path: Path) -> None:
    out = tmp_path / "truth"
    result = runner.invoke(
        app, ["export", "--users", "50", "--anime", "40", "--seed", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    names = {p.stem for p in out.glob("*.parquet")}
    assert names == {
        "anime",
        "user",
        "user_anime",
        "anime_anime",
        "user_user",
        "reviews",
        "history",
    }
    assert len(pd.read_parquet(out / "user.parquet")) == 50


def test_export_refuses_bad_arguments(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "--users", "0", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "at least 1 user" in result.output
    result = runner.invoke(app, ["export", "--source", "kitsu", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--source" in result.output
    assert not (tmp_path / "x").exists()


def test_serve_refuses_impossible_fault_rates() -> None:
    result = runner.invoke(
        app, ["serve", "--users", "20", "--anime", "20", "--rate-429", "0.8", "--rate-5xx", "0.5"]
    )
    assert result.exit_code == 2 and "sum to" in result.output
