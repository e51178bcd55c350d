"""``animerec demo``: the main job on the local embedded defaults."""

from __future__ import annotations

import typer


def demo(
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the UI and app after."),
) -> None:
    """Run the main job end to end on embedded defaults."""
    raise typer.Exit(code=2)
