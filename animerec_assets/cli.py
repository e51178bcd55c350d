"""The ``animerec`` command: everything that is not a Dagster command.

Sub-commands live next to the stage they drive (``mal_replica/cli.py``, ``crawler/cli.py``,
``animerec_assets/bench/cli.py``); this module only wires them together. Each sub-command
imports its heavy dependencies inside the command, so ``animerec --help`` stays fast.
"""

from __future__ import annotations

import typer

from animerec_assets.bench.cli import app as bench_app
from animerec_assets.demo import demo
from crawler.cli import app as crawl_app
from crawler.cli import parse
from mal_replica.cli import app as replica_app

app = typer.Typer(
    name="animerec",
    help="Anime recommendations for MyAnimeList users: crawl, clean, train, serve.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(replica_app, name="replica", help="The local MAL replica (a synthetic MAL world).")
app.add_typer(crawl_app, name="crawl", help="Crawl scheduling, crawl workers, the crawl service.")
app.add_typer(bench_app, name="bench", help="Benchmarks that print their figures.")
app.command("parse", help="Parse a saved page as the spider would; print items as JSON lines.")(
    parse
)
app.command("demo", help="Run the main job on the local embedded defaults.")(demo)

if __name__ == "__main__":
    app()
