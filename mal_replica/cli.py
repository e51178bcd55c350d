"""``animerec replica ...``: generate, serve and export the synthetic MAL world."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command("serve")
def serve(
    users: int = typer.Option(2000, "--users", help="Number of users in the world."),
    anime: int = typer.Option(1000, "--anime", help="Number of anime in the world."),
    seed: int = typer.Option(0, "--seed", help="World seed (same seed, same world)."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8700, "--port", help="0 picks a free port."),
    rate_429: float = typer.Option(0.0, "--rate-429", help="Share of requests answered 429."),
    rate_5xx: float = typer.Option(0.0, "--rate-5xx", help="Share answered 503."),
    rate_404: float = typer.Option(0.0, "--rate-404", help="Share answered 404."),
    rate_slow: float = typer.Option(0.0, "--rate-slow", help="Share answered slowly."),
    slow_seconds: float = typer.Option(1.0, "--slow-seconds"),
    rate_truncated: float = typer.Option(0.0, "--rate-truncated", help="Share cut short."),
    rate_malformed: float = typer.Option(0.0, "--rate-malformed", help="Share garbled."),
    retry_after: int = typer.Option(1, "--retry-after", help="Retry-After seconds on 429."),
    fault_seed: int = typer.Option(0, "--fault-seed", help="Seed of the fault draws."),
    fault_control: bool = typer.Option(
        False, "--fault-control", help="Serve /_replica/faults (on anyway when a rate is set)."
    ),
    evolve_every: int = typer.Option(
        0,
        "--evolve-every",
        envvar="ANIMEREC_REPLICA_EVOLVE_EVERY",
        help="Move the world one round on after every N profile/anime pages served (0: never;"
        " POST /_replica/evolve moves it on request). The demo's replica reads the variable.",
    ),
) -> None:
    """Serve the world at MAL's URL paths (and Jikan v4 under /jikan/v4) until Ctrl-C."""
    from mal_replica.faults import FaultConfigError
    from mal_replica.params import WorldError
    from mal_replica.server import ReplicaApp, ReplicaServer
    from mal_replica.world import generate_world

    started = time.perf_counter()
    try:
        world = generate_world(users, anime, seed)
        if evolve_every < 0:
            raise WorldError("--evolve-every must be >= 0")
        rates = (rate_429, rate_5xx, rate_404, rate_slow, rate_truncated, rate_malformed)
        app_ = ReplicaApp(
            world,
            fault_control=fault_control or any(r > 0 for r in rates),
            evolve_every=evolve_every or None,
        )
        app_.faults.configure(
            rates={
                "rate_limit": rate_429,
                "server_error": rate_5xx,
                "not_found": rate_404,
                "slow": rate_slow,
                "slow_seconds": slow_seconds,
                "truncated": rate_truncated,
                "malformed": rate_malformed,
                "retry_after": retry_after,
                "seed": fault_seed,
            }
        )
    except (WorldError, FaultConfigError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    server = ReplicaServer(app_, host, port)
    try:
        handle = server.start()
    except (RuntimeError, TimeoutError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    typer.echo(f"world: {world.summary()}")
    typer.echo(f"serving in {time.perf_counter() - started:.2f}s")
    typer.echo(f"MAL base URL:   {handle.base_url}")
    typer.echo(f"Jikan base URL: {handle.jikan_base_url}")
    admin = "/_replica/faults  /_replica/stats" if app_.fault_control else "/_replica/stats"
    typer.echo(f"admin:          {handle.base_url}{admin}  /_replica/evolve")
    if evolve_every:
        typer.echo(f"the world moves after every {evolve_every} profile/anime pages served")
    try:
        while server.thread.is_alive():
            server.thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="Folder for one Parquet file per table.")],
    users: int = typer.Option(2000, "--users"),
    anime: int = typer.Option(1000, "--anime"),
    seed: int = typer.Option(0, "--seed"),
    source: str = typer.Option("mal", "--source", help="'mal' or 'jikan' (review sub-scores)."),
) -> None:
    """Write the world's ground truth in the processed schemas (+ reviews, history)."""
    from mal_replica.export import SOURCES, processed_tables, write_parquet
    from mal_replica.params import WorldError
    from mal_replica.world import generate_world

    if source not in SOURCES:
        typer.echo(f"error: --source must be one of {SOURCES}", err=True)
        raise typer.Exit(code=2)
    started = time.perf_counter()
    try:
        world = generate_world(users, anime, seed)
    except WorldError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    generated = time.perf_counter()
    written = write_parquet(processed_tables(world, source), out)
    for name, path in written.items():
        typer.echo(f"{name:12s} {path}")
    typer.echo(
        f"generated in {generated - started:.2f}s, exported in "
        f"{time.perf_counter() - generated:.2f}s"
    )
