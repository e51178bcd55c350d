"""``animerec replica ...``: generate, serve and export the synthetic MAL world."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
