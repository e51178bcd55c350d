"""``animerec bench ...``: benchmarks that print their figures (never run inside the tests).

Each benchmark lives in its own module beside this one; commands import it lazily.
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("scheduler")
def scheduler_bench(
    rows: int = typer.Option(1_000_000, help="Rows in the synthetic anime_schedule table."),
    n: int = typer.Option(10_000, help="URLs per schedule / mark batch."),
    rounds: int = typer.Option(3, help="Timed schedule + mark_crawled rounds."),
    db_url: str = typer.Option(
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="Scheduler DB (PostgreSQL: a scratch schema; SQLite: a scratch table).",
    ),
) -> None:
    """Time picking + marking a batch of URLs out of a million-row scheduler table."""
    from animerec_assets.bench.scheduler import run_scheduler_bench

    typer.echo(run_scheduler_bench(db_url=db_url, rows=rows, n=n, rounds=rounds).report())
