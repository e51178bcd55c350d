"""``animerec demo``: the main job on the local embedded defaults.

1. start a local MAL replica (a synthetic MAL world over HTTP) and point the crawler at it;
2. seed the crawl scheduler from the replica's listing pages;
3. run the main job in Dagster, recorded in the local instance so the UI shows it: a few hourly
   crawl partitions (each crawls what the scheduler says is due, discovering more as it goes),
   then the transform job (dbt + quality gates) and the model job (train, evaluate, publish);
4. unless ``--no-serve``: start the Dagster UI and the app, print their URLs, and keep serving
   (the replica too, so the hourly crawl schedule keeps working) until Ctrl-C.

The replica is started as its own process through the ``animerec replica`` command: production
code never imports it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import typer

from crawler.profiles import LOOPBACK_SCRAPY_SETTINGS

BIN = Path(sys.executable).parent


def _say(message: str) -> None:
    typer.secho(f"[demo] {message}", fg=typer.colors.CYAN)


def _wait_for_http(url: str, process: subprocess.Popen, timeout_s: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited early with {process.returncode}")
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f}s")


def _start(command: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    return subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _seed_scheduler(base_url: str, pages: int) -> dict[str, int]:
    from crawler.scheduler import CrawlScheduler
    from crawler.scheduler.seed import seed_scheduler

    scheduler = CrawlScheduler.from_settings()
    scheduler.create_tables()
    inserted: dict[str, int] = {}
    try:
        for kind in ("anime", "profile"):
            result = seed_scheduler(scheduler, kind, pages, base_url, delay_s=0)
            for found_kind, n in result.inserted.items():
                inserted[found_kind] = inserted.get(found_kind, 0) + n
    finally:
        scheduler.dispose()
    return inserted


def _never_crawled() -> dict[str, int]:
    from crawler.scheduler import CrawlScheduler

    scheduler = CrawlScheduler.from_settings()
    try:
        return {kind: stats.never_scheduled for kind, stats in scheduler.all_stats().items()}
    finally:
        scheduler.dispose()


def run_main_job(max_rounds: int, batch_size: int) -> None:
    """Crawl partitions until nothing known is left uncrawled, then transform and models — all
    as runs of the local Dagster instance, so the UI shows them."""
    import dagster as dg

    from animerec_assets.definitions import build_definitions
    from animerec_assets.defs.crawl.partitions import hourly_partitions

    definitions = build_definitions()
    job_names = {job.name for job in definitions.resolve_all_job_defs()}
    quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    with dg.DagsterInstance.get() as instance:
        crawl_job = definitions.resolve_job_def("crawl_job")
        crawl_config = {
            **quiet,
            "ops": {
                "crawl__scheduled_batch": {
                    "config": {"anime_per_hour": batch_size, "profiles_per_hour": batch_size}
                }
            },
        }
        partitions = hourly_partitions.get_partition_keys()[-max_rounds:]
        for number, partition in enumerate(partitions, 1):
            started = time.monotonic()
            result = crawl_job.execute_in_process(
                instance=instance, partition_key=partition, run_config=crawl_config
            )
            if not result.success:
                raise RuntimeError(f"crawl partition {partition} failed")
            left = _never_crawled()
            _say(
                f"crawl round {number} (partition {partition}) done in "
                f"{time.monotonic() - started:.0f}s; known but never crawled: {left}"
            )
            if not any(left.values()):
                break
        for name in ("transform_job", "model_job"):
            if name not in job_names:
                continue
            started = time.monotonic()
            job = definitions.resolve_job_def(name)
            result = job.execute_in_process(
                instance=instance, run_config=quiet, raise_on_error=False
            )
            if not result.success:
                # A blocking gate (bad data, a model that loses to popularity) stops the job;
                # keep going so the UI can show which check failed and why.
                _say(f"{name} FAILED (see run {result.run_id} in the Dagster UI); continuing")
                continue
            _say(f"{name} done in {time.monotonic() - started:.0f}s")


def demo(
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the UI and app after."),
    users: int = typer.Option(400, help="Users in the replica's synthetic MAL world."),
    anime: int = typer.Option(300, help="Anime in the replica's synthetic MAL world."),
    seed: int = typer.Option(7, help="Seed of the synthetic world."),
    rounds: int = typer.Option(5, help="At most this many hourly crawl partitions."),
    replica_port: int = typer.Option(8900),
    ui_port: int = typer.Option(3000),
    app_port: int = typer.Option(8501),
    crawler_port: int = typer.Option(8765),
) -> None:
    """Run the main job end to end on embedded defaults."""
    from animerec_assets.instance import prepare_dagster_home
    from animerec_assets.settings import load_settings

    settings = load_settings()
    if settings.env != "local":
        raise typer.BadParameter(
            "the demo runs on the local embedded defaults (ANIMEREC_ENV=local)"
        )
    settings.home.mkdir(parents=True, exist_ok=True)
    logs = settings.home / "logs"
    os.environ["DAGSTER_HOME"] = str(prepare_dagster_home(settings))
    base_url = f"http://127.0.0.1:{replica_port}"
    os.environ.update(
        {
            "ANIMEREC_MAL_BASE_URL": base_url,
            "ANIMEREC_JIKAN_BASE_URL": f"{base_url}/jikan/v4",
            "ANIMEREC_SCRAPY_SETTINGS": json.dumps(LOOPBACK_SCRAPY_SETTINGS),
            "ANIMEREC_CRAWLER_SERVICE_URL": f"http://127.0.0.1:{crawler_port}",
            # the crawl service wants this bearer token; the app (same environment) sends it
            "ANIMEREC_SERVICE_TOKEN": os.environ.get("ANIMEREC_SERVICE_TOKEN")
            or secrets.token_urlsafe(32),
            "DO_NOT_TRACK": "1",
            "GX_ANALYTICS_ENABLED": "false",
            "TF_USE_LEGACY_KERAS": "1",
            # the servers' subprocesses (dbt, scrapy) come from this environment
            "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        }
    )
    env = dict(os.environ)
    with ExitStack() as running:
        _say(f"starting the MAL replica ({users} users, {anime} anime) on {base_url}")
        replica = _start(
            [str(BIN / "animerec"), "replica", "serve", "--users", str(users), "--anime",
             str(anime), "--seed", str(seed), "--port", str(replica_port)],
            logs / "replica.log", env,
        )  # fmt: skip
        running.callback(_stop, replica)
        _wait_for_http(f"{base_url}/robots.txt", replica)
        inserted = _seed_scheduler(base_url, pages=3)
        _say(f"seeded the crawl scheduler from listing pages: {inserted}")
        run_main_job(max_rounds=rounds, batch_size=max(users, anime) * 2)
        if not serve:
            _say("main job done (--no-serve: not starting the UI or the app)")
            return
        ui = _start(
            [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p",
             str(ui_port)],
            logs / "dagster.log", env,
        )  # fmt: skip
        running.callback(_stop, ui)
        # The app asks this service to crawl users it does not know yet; the service puts them
        # first in the crawl scheduler, so the next hourly crawl fetches them.
        crawl_service = _start(
            [str(BIN / "animerec"), "crawl", "serve", "--port", str(crawler_port)],
            logs / "crawl_service.log", env,
        )  # fmt: skip
        running.callback(_stop, crawl_service)
        from app.launch import start_app, stop_app

        app = start_app(app_port, env, logs / "app.log")
        running.callback(stop_app, app)
        _wait_for_http(f"http://127.0.0.1:{ui_port}/server_info", ui, timeout_s=180)
        _wait_for_http(f"http://127.0.0.1:{crawler_port}/health", crawl_service)
        typer.secho("\nanimerec is running:", bold=True)
        typer.echo(f"  Dagster UI    http://127.0.0.1:{ui_port}")
        typer.echo(f"  the app       http://127.0.0.1:{app_port}")
        typer.echo(f"  crawl service http://127.0.0.1:{crawler_port}/docs")
        typer.echo(f"  MAL replica   {base_url}")
        typer.echo(f"  logs          {logs}")
        typer.echo("Press Ctrl-C to stop.")
        try:
            while all(p.poll() is None for p in (replica, ui, app, crawl_service)):
                time.sleep(1)
        except KeyboardInterrupt:
            _say("stopping")
