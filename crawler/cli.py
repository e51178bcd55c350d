"""``animerec crawl ...`` and ``animerec parse``: the crawler's command line."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True)


def parse(url: str, file: Path) -> None:
    """Route a saved response by its URL exactly as the spider would; print items as JSON."""
    raise typer.Exit(code=2)
