"""``animerec bench ...``: benchmarks that print their figures (never run inside the tests).

Each benchmark lives in its own module beside this one; commands import it lazily.
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


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
    from bench.scheduler import run_scheduler_bench

    typer.echo(run_scheduler_bench(db_url=db_url, rows=rows, n=n, rounds=rounds).report())


@app.command("service")
def service_bench(
    flood: int = typer.Option(200, min=1, help="Concurrent /enqueue calls from one client."),
    crawl_flood: int = typer.Option(41, min=0, help="Concurrent /crawl calls (0: none)."),
    redis_url: str = typer.Option(
        "redis://127.0.0.1:6379/0", help="Redis server (the bench uses a stream of its own)."
    ),
) -> None:
    """/health p50/p99 while one client floods the crawl service; how many calls were refused."""
    from bench.service import run_service_bench

    typer.echo(run_service_bench(redis_url, flood, crawl_flood).report())


@app.command("parse")
def parse_bench(
    repeat: int = typer.Option(20, min=1, help="Parses of each page per measurement."),
    pages_dir: str = typer.Option(None, help="Recorded pages (default: ../shared/mal_pages)."),
) -> None:
    """CPU milliseconds per page for each parser, beside the bare lxml/json parse."""
    from pathlib import Path

    from bench.parse import default_pages_dir, format_table, run_parse_bench

    folder = Path(pages_dir) if pages_dir else default_pages_dir()
    try:
        timings = run_parse_bench(folder, repeat)
    except FileNotFoundError as error:
        typer.secho(str(error), err=True)
        raise typer.Exit(code=2) from error
    typer.echo(format_table(timings))


@app.command("replica")
def replica_bench(
    users: int = typer.Option(2000, "--users", help="Users in the served world."),
    anime: int = typer.Option(1000, "--anime", help="Anime in the served world."),
    seed: int = typer.Option(0, "--seed"),
    seconds: float = typer.Option(10.0, "--seconds", help="Duration of the throughput run."),
    concurrency: int = typer.Option(4, "--concurrency", help="Client processes (connections)."),
) -> None:
    """World generation time, time until serving, and mixed pages/s of the MAL replica."""
    from bench.replica import run_replica_bench

    typer.echo(run_replica_bench(users, anime, seed, seconds, concurrency).report())


@app.command("serving")
def serving_bench(
    users: int = typer.Option(100_000, "--users", help="Users in the published version."),
    anime: int = typer.Option(15_000, "--anime", help="Anime in the published version."),
    clients: int = typer.Option(50, "--clients", help="Concurrent lookup clients (threads)."),
    per_client: int = typer.Option(200, "--per-client", help="Lookups per client."),
    browser_runs: int = typer.Option(5, "--browser-runs", help="Timed page loads (0: none)."),
    redis_url: str = typer.Option(
        "", "--redis-url", help="Bench a Redis server (own key prefix) instead of the embedded."
    ),
    api: bool = typer.Option(True, "--api/--no-api", help="Measure the JSON API too."),
    top_n: int = typer.Option(
        100, "--top-n", help="Ranked recommendations not on the list, published per user."
    ),
    plan_to_watch: int = typer.Option(
        50, "--plan-to-watch", help="The user's planned titles kept beside them (at most)."
    ),
    list_size: int = typer.Option(
        100, "--list-size", help="MAL list entries per user besides the planned ones ranked."
    ),
    part_users: int = typer.Option(
        50_000, "--part-users", help="Users built, prepared and written at a time."
    ),
) -> None:
    """Publish time and Redis memory of the ranked lists and MAL lists, lookup latency p50/p99
    under concurrency (Redis, the API with and without filters), and time to five cards in the
    browser."""
    from bench.serving import run_serving_bench

    result = run_serving_bench(
        users, anime, clients, per_client, browser_runs, redis_url or None, api=api,
        top_n=top_n, top_n_planned=plan_to_watch, list_size=list_size, part_users=part_users,
    )  # fmt: skip
    typer.echo(result.report())


@app.command("quality")
def quality_bench(
    ratings: list[str] = typer.Option(  # noqa: B008 (typer reads options from defaults)
        ...,
        "--ratings",
        help="Ratings CSV: user_id,anime_id,rating; repeat for several sets (first = main).",
    ),
    anime: str = typer.Option(..., "--anime", help="Anime CSV: anime_id,name,genre,..."),
    seed: int = typer.Option(None, "--seed", help="One seed (default: seeds 0, 1, 2)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    chart: str = typer.Option("", "--chart", help="Also write a PNG bar chart here."),
    baselines_only: bool = typer.Option(
        False, "--baselines-only", help="Only the closed-form baselines (no TensorFlow)."
    ),
    user_anime_only: bool = typer.Option(
        False, "--user-anime-only", help="Skip the anime -> anime stages (user lists only)."
    ),
) -> None:
    """Recall@20, NDCG@20, Recall@300, coverage of every model stage and baseline."""
    from pathlib import Path

    from bench.quality import run_quality

    seeds = [seed] if seed is not None else [0, 1, 2]
    report = run_quality(
        [Path(path) for path in ratings],
        Path(anime),
        seeds,
        as_json,
        Path(chart) if chart else None,
        stages=not baselines_only,
        anime_anime=not user_anime_only,
    )
    typer.echo(report)


@app.command("inference")
def inference_bench(
    users: int = typer.Option(100_000, "--users", help="Users to retrieve top-300 for."),
    anime: int = typer.Option(20_000, "--anime", help="Anime in the catalogue."),
    k: int = typer.Option(300, "--k", help="Candidates per user."),
    train_pairs: int = typer.Option(
        1_000_000, "--train-pairs", help="Synthetic (user, anime) pairs for the timed training."
    ),
) -> None:
    """Retrieval training time, top-k batch inference time, and matmul GFLOP/s on this machine."""
    from bench.inference import run_inference_bench

    typer.echo(run_inference_bench(users, anime, k, train_pairs).report())


@app.command("dbt")
def dbt_bench(
    users: int = typer.Option(100_000, "--users", help="Users (profiles) in landing."),
    anime: int = typer.Option(15_000, "--anime", help="Anime in landing."),
    mean_list_size: float = typer.Option(
        60.0, "--mean-list-size", min=1.0, help="Mean list entries per user."
    ),
    workdir: str = typer.Option("", "--workdir", help="Where the warehouse goes (default: tmp)."),
) -> None:
    """dbt build landing → processed on a generated world: full build, then an incremental hour
    (1 % of users and anime re-crawled) checked against a full refresh; times and peak memory."""
    from pathlib import Path

    from bench.dbt_build import run_dbt_bench

    typer.echo(run_dbt_bench(users, anime, mean_list_size, Path(workdir) if workdir else None))


@app.command("crawl")
def crawl_bench(
    users: int = typer.Option(2000, "--users", help="Users in the replica world."),
    anime: int = typer.Option(1000, "--anime", help="Anime in the replica world."),
    seed: int = typer.Option(0, "--seed", help="Seed of the world (and of the seeding crawl)."),
    batch_size: int = typer.Option(2000, "--batch-size", help="URLs per spider run."),
    workdir: str = typer.Option("", "--workdir", help="Scheduler DB and items (default: tmp)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    source: str = typer.Option(
        "mal",
        "--source",
        help="mal, jikan or malapi; several comma-separated crawl the same world each "
        "and print their requests per entity side by side.",
    ),
    long_list_share: float = typer.Option(
        0.02, "--long-list-share", min=0.0, max=1.0, help="Users with lists > 300 entries."
    ),
) -> None:
    """Seed, then crawl a whole replica world by schedule; requests, pages/s, counts vs truth."""
    import json
    from dataclasses import asdict
    from pathlib import Path

    from bench.crawl import comparison, run_crawl_bench

    results = []
    for name in [s.strip() for s in source.split(",") if s.strip()]:
        base = Path(workdir) / name if workdir else None
        result = run_crawl_bench(users, anime, seed, batch_size, base, True, name, long_list_share)
        results.append(result)
        if not as_json:
            typer.echo(result.report())
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in results], indent=2))
    elif len(results) > 1:
        typer.echo("\nrequests per entity, same world:\n" + comparison(results))


@app.command("scale")
def scale_bench(
    users: int = typer.Option(20_000, "--users", min=1, help="Users in the replica world."),
    anime: int = typer.Option(15_000, "--anime", min=2, help="Anime in the catalogue."),
    seed: int = typer.Option(0, "--seed", help="Seed of the world."),
    chunk_users: int = typer.Option(50_000, "--chunk-users", min=1, help="Users per chunk."),
    epochs: int = typer.Option(1, "--epochs", min=1, help="Retrieval training epochs."),
    workdir: str = typer.Option(
        "", "--workdir", help="Keep warehouse + Redis here (default: tmp)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    chart: str = typer.Option("", "--chart", help="Also write a PNG chart of the stages here."),
    stop_after: str = typer.Option(
        "", "--stop-after", help="End after this stage (landing, dbt, load, candidates, ...)."
    ),
) -> None:
    """landing → dbt → the model job (candidates, rankers, served lists) → Redis: time,
    rows/s, peak memory, machine ratios."""
    from pathlib import Path

    from bench.scale import chart_png, run_scale_bench

    result = run_scale_bench(
        users,
        anime,
        seed,
        chunk_users,
        epochs,
        Path(workdir) if workdir else None,
        stop_after=stop_after or None,
    )
    typer.echo(result.report(as_json))
    if chart:
        Path(chart).write_bytes(chart_png(result))


@app.command("feedback")
def feedback_bench(
    sessions: int = typer.Option(400, "--sessions", min=1, help="Visitor sessions taking turns."),
    per_session: int = typer.Option(
        50, "--per-session", min=1, help="Events per session (under the cap, so all recorded)."
    ),
    processes: int = typer.Option(4, "--processes", min=1, help="Recording processes at once."),
    flood: int = typer.Option(2000, "--flood", min=0, help="Events of one flooding session."),
    api_requests: int = typer.Option(
        3000, "--api-requests", min=0, help="POST /v1/feedback calls (0: skip the API)."
    ),
    api_concurrency: int = typer.Option(
        32, "--api-concurrency", min=1, help="Concurrent connections to the API."
    ),
    redis_url: str = typer.Option(
        "redis://127.0.0.1:6379/0", "--redis-url", help="Redis server (keys of its own)."
    ),
    embedded: bool = typer.Option(
        False, "--embedded", help="Bench a throw-away embedded Redis instead of --redis-url."
    ),
) -> None:
    """Feedback events/s through record_event (cap + XADD) and POST /v1/feedback, p50/p99."""
    from bench.feedback import run_feedback_bench

    result = run_feedback_bench(
        None if embedded else redis_url,
        sessions,
        per_session,
        processes,
        flood,
        api_requests,
        api_concurrency,
    )
    typer.echo(result.report())
