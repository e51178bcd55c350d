"""``animerec crawl ...`` and ``animerec parse``: the crawler's command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from crawler.scheduler import CrawlScheduler

app = typer.Typer(no_args_is_help=True, add_completion=False)


def parse(
    url: Annotated[str, typer.Argument(help="The URL the page was fetched from (any host).")],
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="The saved response body.")
    ],
    status: int = typer.Option(200, help="HTTP status the page was served with."),
    details: bool = typer.Option(False, help="Also print next pages and seen URLs (stderr)."),
) -> None:
    """Route a saved response by its URL exactly as the spider would; print items as JSON."""
    import json

    from crawler.parsers import build_response, parse_response, route

    if route(url) is None:
        typer.secho(f"no parser for URL {url!r} (not a page the crawler reads)", err=True)
        raise typer.Exit(code=2)
    result = parse_response(build_response(url, file.read_bytes(), status))
    for item in result.items:
        typer.echo(json.dumps(item, ensure_ascii=False))
    if details:
        summary = result.to_dict()
        summary.pop("items")
        typer.echo(json.dumps(summary, indent=2), err=True)


# ---- crawl scheduling, queue workers and the crawl service -----------------------------------
# (heavy imports stay inside the commands so ``animerec --help`` is fast)

KIND_HELP = "anime or profile"


def _scheduler(db_url: str | None) -> CrawlScheduler:
    from animerec_assets.settings import load_settings
    from crawler.scheduler import CrawlScheduler

    scheduler = CrawlScheduler(db_url or load_settings().scheduler_db_url)
    scheduler.create_tables()
    return scheduler


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


@app.command("schedule")
def schedule(
    kind: str = typer.Option("anime", help=KIND_HELP),
    n: int = typer.Option(100, min=1, help="How many URLs to schedule."),
    enqueue: bool = typer.Option(True, help="Put them on the crawl queue (else only print)."),
    db_url: str = typer.Option(None, help="Scheduler DB URL (default: settings)."),
    redis_url: str = typer.Option(None, help="Redis URL (default: REDIS_URL or embedded)."),
    stream: str = typer.Option("animerec:crawl", help="Crawl queue stream."),
    group: str = typer.Option("crawlers", help="Crawl queue consumer group."),
) -> None:
    """Pick the next batch by the scheduling policy, mark it scheduled, print / enqueue it."""
    from crawler.queue import queue_from_settings

    try:
        urls = _scheduler(db_url).schedule(kind, n)
    except ValueError as error:
        raise _fail(str(error)) from error
    for url in urls:
        typer.echo(url)
    if enqueue and urls:
        from crawler.queue import QueueFullError

        try:
            queued = queue_from_settings(redis_url, stream, group).enqueue(kind, urls)
        except QueueFullError as error:
            raise _fail(f"{error} ({error.enqueued} of {len(urls)} enqueued)") from error
        waiting = len(urls) - queued
        typer.secho(
            f"enqueued {queued} {kind} URLs on {stream} ({waiting} already queued)", err=True
        )


@app.command("seed")
def seed(
    kind: str = typer.Option("anime", help=KIND_HELP),
    pages: int = typer.Option(1, min=1, max=1000, help="Listing pages to fetch."),
    from_file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Seed from a file of URLs/usernames."),
    ] = None,
    base_url: str = typer.Option(None, help="Site to fetch listings from (default: settings)."),
    delay: float = typer.Option(1.0, min=0, help="Seconds between listing pages (politeness)."),
    db_url: str = typer.Option(None, help="Scheduler DB URL (default: settings)."),
) -> None:
    """Insert URLs into the scheduler DB (from listing pages or a file); crawl nothing."""
    import json

    from animerec_assets.settings import load_settings
    from crawler.scheduler.seed import seed_from_lines, seed_scheduler

    scheduler = _scheduler(db_url)
    try:
        if from_file is not None:
            lines = from_file.read_text(encoding="utf-8").splitlines()
            typer.echo(json.dumps({"inserted": seed_from_lines(scheduler, lines)}))
            return
        site = base_url or load_settings().mal_base_url
        result = seed_scheduler(scheduler, kind, pages, site, delay_s=delay)
    except ValueError as error:
        raise _fail(str(error)) from error
    typer.echo(json.dumps(result.as_dict()))
    if result.errors and not any(result.found.values()):
        raise typer.Exit(code=1)


@app.command("worker")
def worker(
    concurrency: int = typer.Option(1, min=1, max=64, help="Parallel consumers (threads)."),
    batch_size: int = typer.Option(20, min=1, help="URLs per spider run."),
    block_ms: int = typer.Option(2000, min=1, help="How long a read waits for new entries."),
    reclaim_idle_ms: int = typer.Option(
        600_000, min=1, help="Entries pending this long on another consumer are taken over."
    ),
    max_deliveries: int = typer.Option(3, min=1, help="Dead-letter entries retried this often."),
    max_batches: int = typer.Option(None, min=1, help="Stop after this many batches per slot."),
    give_up_after_s: float = typer.Option(
        300.0, min=0.1, help="A consumer failing (Redis/DB down) this long gives up."
    ),
    output_dir: Annotated[
        Path | None, typer.Option(help="JSON lines sink (default: ANIMEREC_HOME/crawl/items).")
    ] = None,
    spider_command: str = typer.Option(
        None, help="Spider command template: {python} {kind} {urls_file} {output} {settings}."
    ),
    setting: Annotated[
        list[str] | None,
        typer.Option("--setting", "-s", help="Scrapy setting KEY=VALUE (repeatable)."),
    ] = None,
    mark_crawled: bool = typer.Option(True, help="Record crawls in the scheduler DB."),
    consumer_prefix: str = typer.Option(None, help="Consumer name prefix (default host-pid)."),
    redis_url: str = typer.Option(None, help="Redis URL (default: REDIS_URL or embedded)."),
    stream: str = typer.Option("animerec:crawl", help="Crawl queue stream."),
    group: str = typer.Option("crawlers", help="Crawl queue consumer group."),
    db_url: str = typer.Option(None, help="Scheduler DB URL (default: settings)."),
) -> None:
    """Crawl URLs from the queue until SIGTERM/SIGINT (each batch finishes before exit)."""
    import logging
    import signal
    import threading
    from dataclasses import asdict, replace

    from crawler.queue import queue_from_settings
    from crawler.worker import CrawlWorker, SinkSettings, consumer_name, run_workers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    scrapy_settings: dict[str, str] = {}
    for pair in setting or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise _fail(f"--setting expects KEY=VALUE, got {pair!r}")
        scrapy_settings[key] = value
    sink = SinkSettings.from_settings(scrapy_settings=scrapy_settings)
    if output_dir is not None:
        sink = replace(sink, output_dir=output_dir)
    if spider_command:
        sink = replace(sink, spider_command=spider_command)
    scheduler = _scheduler(db_url) if mark_crawled else None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    workers = []
    for index in range(concurrency):
        name = f"{consumer_prefix}-{index}" if consumer_prefix else consumer_name(index)
        workers.append(
            CrawlWorker(
                queue_from_settings(redis_url, stream, group),
                name,
                sink,
                scheduler=scheduler,
                batch_size=batch_size,
                block_ms=block_ms,
                reclaim_idle_ms=reclaim_idle_ms,
                max_deliveries=max_deliveries,
                give_up_after_s=give_up_after_s,
            )
        )
    typer.secho(f"{concurrency} crawl worker(s) on {stream}/{group}", err=True)
    results = run_workers(workers, stop, max_batches)
    for slot, stats in zip(workers, results, strict=True):
        typer.secho(f"{slot.consumer}: {asdict(stats)}", err=True)
    if all(stats.died for stats in results):
        # nothing consumes any more: exit non-zero so the orchestrator restarts the worker
        typer.secho("every consumer died; exiting with 1", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8765, min=1, max=65535, help="Port."),
) -> None:
    """Run the crawl web service (FastAPI + uvicorn)."""
    import uvicorn

    from crawler.service import ServiceError, app_from_settings

    try:
        service = app_from_settings()
    except ServiceError as error:
        raise _fail(str(error)) from error
    # uvicorn's own caps stay on too: no header echo, bounded keep-alive
    uvicorn.run(service, host=host, port=port, log_level="info", server_header=False)


@app.command("stats")
def stats(
    db_url: str = typer.Option(None, help="Scheduler DB URL (default: settings)."),
    redis_url: str = typer.Option(None, help="Redis URL (default: REDIS_URL or embedded)."),
    stream: str = typer.Option("animerec:crawl", help="Crawl queue stream."),
    group: str = typer.Option("crawlers", help="Crawl queue consumer group."),
) -> None:
    """Scheduler and queue counts as JSON."""
    import json

    from crawler.queue import queue_from_settings

    scheduler = _scheduler(db_url)
    payload = {
        "scheduler": {k: v.as_dict() for k, v in scheduler.all_stats().items()},
        "queue": queue_from_settings(redis_url, stream, group).stats().as_dict(),
    }
    typer.echo(json.dumps(payload, indent=2))


# ---- opt-out ------------------------------------------------------------------------------

optout_app = typer.Typer(no_args_is_help=True, add_completion=False)


@optout_app.command("add")
def optout_add(
    usernames: Annotated[list[str], typer.Argument(help="MAL usernames (any case).")],
    db_url: str = typer.Option(None, help="Scheduler DB URL (default: settings)."),
) -> None:
    """Never crawl these users again (their scheduler rows go; the service skips them).

    Removing them from processed tables, model inputs, published lists and exports is not
    done by this command yet.
    """
    from crawler.urls import InvalidUsernameError

    try:
        added = _scheduler(db_url).opt_out(usernames)
    except InvalidUsernameError as error:
        raise _fail(str(error)) from error
    typer.echo(f"opted out {added} new user(s); {len(usernames) - added} already were")


@optout_app.command("list")
def optout_list(
    db_url: str = typer.Option(None, help="Scheduler DB URL (default: settings)."),
) -> None:
    """The opted-out users' crawl keys (lower-cased profile URLs)."""
    for url in _scheduler(db_url).opted_out():
        typer.echo(url)
