"""The ``animerec`` command: everything that is not a Dagster command.

Sub-commands live next to the stage they drive (``mal_replica/cli.py``, ``crawler/cli.py``,
``bench/cli.py``, ``animerec_cli/demo.py``); this module only names them. Each is imported when
it runs, never before: ``animerec crawl worker`` in production loads neither the replica nor
the benchmarks, and ``animerec --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import typer
from typer.core import TyperGroup


class LazyCommand(NamedTuple):
    """Where a sub-command lives: ``module:attribute`` (a Typer app or a plain function)."""

    module: str
    attribute: str
    help: str


COMMANDS: dict[str, LazyCommand] = {
    "replica": LazyCommand(
        "mal_replica.cli", "app", "The local MAL replica (a synthetic MAL world)."
    ),
    "crawl": LazyCommand(
        "crawler.cli", "app", "Crawl scheduling, crawl workers, the crawl service."
    ),
    "bench": LazyCommand("bench.cli", "app", "Benchmarks that print their figures."),
    "optout": LazyCommand(
        "crawler.cli", "optout_app", "Users who asked not to be crawled (add, list)."
    ),
    "parse": LazyCommand(
        "crawler.cli",
        "parse",
        "Parse a saved page as the spider would; print items as JSON lines.",
    ),
    "api": LazyCommand("api.cli", "app", "The public JSON API over the published recommendations."),
    "demo": LazyCommand(
        "animerec_cli.demo", "demo", "Run the main job on the local embedded defaults."
    ),
}


def load_command(name: str) -> Any:
    """Import one sub-command and build the click command Typer would have built for it."""
    spec = COMMANDS[name]
    target = getattr(importlib.import_module(spec.module), spec.attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(add_completion=False)
        single.command(name, help=spec.help)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    command.help = command.help or spec.help
    return command


class LazyGroup(TyperGroup):
    """The root group: sub-commands are imported on first use, listed by name and help alone."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, spec.help) for name, spec in COMMANDS.items()])


app = typer.Typer(
    name="animerec",
    cls=LazyGroup,
    help="Anime recommendations for MyAnimeList users: crawl, clean, train, serve.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def main() -> None:
    """Anime recommendations for MyAnimeList users: crawl, clean, train, serve."""


if __name__ == "__main__":
    app()
