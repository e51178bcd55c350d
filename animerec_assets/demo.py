"""``animerec demo``: the main job on the local embedded defaults."""

from __future__ import annotations

import typer

# The replica runs on loopback: no need to be polite to it, so crawl it at full speed.
REPLICA_SCRAPY_SETTINGS: dict[str, object] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
}


def demo(
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the UI and app after."),
) -> None:
    """Run the main job end to end on embedded defaults."""
    raise typer.Exit(code=2)
