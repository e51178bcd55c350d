"""``animerec demo``: the main job on the local embedded defaults.

1. start a local MAL replica (a synthetic MAL world over HTTP) and point the crawler at it;
2. seed the crawl scheduler from the replica's listing pages;
3. run the main job in Dagster, recorded in the local instance so the UI shows it: a few hourly
   crawl partitions (each crawls what the scheduler says is due, discovering more as it goes),
   then the transform job (dbt + quality gates) and the model job (train, evaluate, publish);
4. unless ``--no-serve``: start the Dagster UI, the app and the JSON API, print their URLs, and
   keep serving (the replica too, so the hourly crawl schedule keeps working) until Ctrl-C.

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

    _say(f"waiting for {url} to answer (up to {timeout_s:.0f}s)")
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


class DemoStopped(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: every child is stopped on the way out."""


class Children:
    """Every process the demo starts, each leading a process group of its own.

    Own groups: a Ctrl-C in the terminal reaches only the demo, which stops them in order.
    Each also gets a parent-death signal (a SIGKILLed demo takes them down), and their group
    ids are recorded under ``ANIMEREC_HOME`` so the next demo stops whatever a killed one left
    (grandchildren the kernel signal does not reach).
    """

    def __init__(self, record: Path, home: Path) -> None:
        self.record = record
        self.home = str(home)
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(
        self, name: str, command: list[str], env: dict[str, str], log_path: Path | None = None
    ) -> subprocess.Popen:
        from animerec_assets.lib.processes import die_with_parent

        output = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            output = log_path.open("ab")
        try:
            process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                env={**env, DEMO_HOME_MARK: self.home},
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGKILL),
            )
        finally:
            if output is not None:
                output.close()
        self.running.append((name, process))
        with self.record.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"name": name, "pgid": process.pid}) + "\n")
        return process

    def stop(self, process: subprocess.Popen, timeout_s: float = 10.0) -> None:
        from animerec_assets.lib.processes import stop_process_group

        stop_process_group(process, timeout_s)

    def stop_all(self, timeout_s: float = 10.0) -> None:
        """Stop every child, newest first; a second Ctrl-C or SIGTERM kills what is left."""
        from animerec_assets.lib.processes import kill_process_group

        def kill_all(*_: object) -> None:
            for _name, process in self.running:
                kill_process_group(process.pid)

        previous = {s: signal.signal(s, kill_all) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for _name, process in reversed(self.running):
                self.stop(process, timeout_s)
            self.running.clear()
            self.record.unlink(missing_ok=True)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def stop_leftovers(self) -> list[str]:
        """Kill the process groups a demo killed without cleanup left running on this home."""
        import psutil

        if not self.record.exists():
            return []
        recorded: dict[int, str] = {}
        for line in self.record.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                recorded[int(entry["pgid"])] = str(entry["name"])
            except (ValueError, KeyError, TypeError):
                continue
        stopped: list[str] = []
        for process in psutil.process_iter(["pid"]):
            try:
                pgid = os.getpgid(process.pid)
                if pgid not in recorded or process.environ().get(DEMO_HOME_MARK) != self.home:
                    continue
                process.kill()
                stopped.append(f"{recorded[pgid]} (pid {process.pid})")
            except (psutil.Error, ProcessLookupError, PermissionError):
                continue
        self.record.unlink(missing_ok=True)
        return stopped


DEMO_HOME_MARK = "ANIMEREC_DEMO_HOME"


def _hold_demo_lock(home: Path):  # -> file object kept open while the demo runs
    """One demo per data folder: a second one would fight over DuckDB and the pools."""
    import fcntl

    lock = (home / "demo.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise typer.BadParameter(f"another animerec demo is running on {home}") from None
    return lock


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
    as runs of the local Dagster instance, so the UI shows them.

    Runs in a child process of the demo (``python -m animerec_cli.demo job``): the demo stays
    responsive to Ctrl-C whatever the job waits on, and a killed job is a dead process whose
    runs the next demo can recognise (``animerec_assets.instance.owner_tags``).
    """
    import dagster as dg

    from animerec_assets.definitions import build_definitions
    from animerec_assets.defs.crawl.partitions import hourly_partitions
    from animerec_assets.instance import owner_tags

    definitions = build_definitions()
    job_names = {job.name for job in definitions.resolve_all_job_defs()}
    quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    tags = owner_tags()
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
            _say(f"crawl round {number} (partition {partition}) started")
            result = crawl_job.execute_in_process(
                instance=instance, partition_key=partition, run_config=crawl_config, tags=tags
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
            _say(f"{name} started")
            job = definitions.resolve_job_def(name)
            result = job.execute_in_process(
                instance=instance, run_config=quiet, raise_on_error=False, tags=tags
            )
            if not result.success:
                # A blocking gate (bad data, a model that loses to popularity) stops the job;
                # keep going so the UI can show which check failed and why.
                _say(f"{name} FAILED (see run {result.run_id} in the Dagster UI); continuing")
                continue
            _say(f"{name} done in {time.monotonic() - started:.0f}s")


def _what_the_job_waits_on() -> str:
    """The pools with a claimed slot or waiting steps, and which run holds each slot."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        parts: list[str] = []
        for pool in sorted(storage.get_concurrency_keys()):
            info = storage.get_concurrency_info(pool)
            if not info.claimed_slots and not info.pending_steps:
                continue
            holders = ", ".join(f"{s.run_id[:8]}:{s.step_key}" for s in info.claimed_slots)
            parts.append(
                f"pool {pool}: {len(info.claimed_slots)}/{info.slot_count} slot(s) held"
                f" ({holders or 'none'}), {info.pending_step_count} step(s) waiting"
            )
        return "; ".join(parts) or "no pool slot is held or awaited"


def _wait_for_job(job: subprocess.Popen, report_every_s: float = 30.0) -> int:
    """Wait for the main job's process; every ``report_every_s`` say what it waits on."""
    next_report = time.monotonic() + report_every_s
    while True:
        try:
            return job.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= next_report:
            next_report = time.monotonic() + report_every_s
            try:
                waits_on = _what_the_job_waits_on()
            except Exception as error:  # the report is a courtesy: never stop the demo for it
                waits_on = f"(could not read the instance: {error})"
            _say(f"still waiting for the main job (pid {job.pid}): {waits_on}")


def _raise_stopped(signum: int, _frame: object) -> None:
    raise DemoStopped(f"signal {signum}")


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
    api_port: int = typer.Option(8600),
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
    home = settings.home.resolve()
    lock = _hold_demo_lock(home)
    signal.signal(signal.SIGTERM, _raise_stopped)
    logs = settings.home / "logs"
    os.environ["DAGSTER_HOME"] = str(prepare_dagster_home(settings))
    base_url = f"http://127.0.0.1:{replica_port}"
    os.environ.update(
        {
            "ANIMEREC_HOME": str(home),
            "ANIMEREC_MAL_BASE_URL": base_url,
            "ANIMEREC_JIKAN_BASE_URL": f"{base_url}/jikan/v4",
            "ANIMEREC_SCRAPY_SETTINGS": json.dumps(LOOPBACK_SCRAPY_SETTINGS),
            "ANIMEREC_CRAWLER_SERVICE_URL": f"http://127.0.0.1:{crawler_port}",
            # the app links cards through the API's click recorder (/v1/go)
            "ANIMEREC_API_URL": f"http://127.0.0.1:{api_port}",
            # the API sends visitors it does not know to the app, to ask for a crawl
            "ANIMEREC_APP_URL": f"http://127.0.0.1:{app_port}",
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
    children = Children(home / "demo.children", home)
    from animerec_assets.lib.redis_conn import stop_embedded_redis

    try:
        with ExitStack() as running:
            running.callback(lock.close)
            # the job starts the embedded Redis on demand (so do the app and `make ui`): it is
            # stopped with the demo, after everything that uses it, its data saved first
            running.callback(stop_embedded_redis, settings.embedded_redis_dir)
            running.callback(_release_dead_runs)  # runs of a job stopped midway: failed
            running.callback(children.stop_all)
            for leftover in children.stop_leftovers():
                _say(f"stopped {leftover}, left running by a demo that was killed")
            _release_dead_runs()
            ports = {"replica": replica_port, "ui": ui_port, "app": app_port,
                     "crawler": crawler_port, "api": api_port}  # fmt: skip
            world = {"users": users, "anime": anime, "seed": seed}
            _serve_and_run(children, env, logs, serve=serve, rounds=rounds, base_url=base_url,
                           ports=ports, world=world)  # fmt: skip
    except KeyboardInterrupt:
        _say("stopped; every process the demo started is stopped")
        raise typer.Exit(130) from None


def _release_dead_runs() -> None:
    import dagster as dg

    from animerec_assets.instance import release_dead_runs

    with dg.DagsterInstance.get() as instance:
        for action in release_dead_runs(instance):
            _say(action)


def _serve_and_run(
    children: Children,
    env: dict[str, str],
    logs: Path,
    *,
    serve: bool,
    rounds: int,
    base_url: str,
    ports: dict[str, int],
    world: dict[str, int],
) -> None:
    users, anime, seed = world["users"], world["anime"], world["seed"]
    replica_port, ui_port = ports["replica"], ports["ui"]
    app_port, crawler_port = ports["app"], ports["crawler"]
    _say(f"starting the MAL replica ({users} users, {anime} anime) on {base_url}")
    replica = children.start(
        "the MAL replica",
        [str(BIN / "animerec"), "replica", "serve", "--users", str(users), "--anime",
         str(anime), "--seed", str(seed), "--port", str(replica_port)],
        env, logs / "replica.log",
    )  # fmt: skip
    _wait_for_http(f"{base_url}/robots.txt", replica)
    inserted = _seed_scheduler(base_url, pages=3)
    _say(f"seeded the crawl scheduler from listing pages: {inserted}")
    job = children.start(
        "the main job",
        [sys.executable, "-m", "animerec_cli.demo", "job", str(rounds),
         str(max(users, anime) * 2)],
        env,
    )  # fmt: skip
    returncode = _wait_for_job(job)
    if returncode != 0:
        _say(f"the main job exited with {returncode}")
        raise typer.Exit(1)
    if not serve:
        _say("main job done (--no-serve: not starting the UI or the app)")
        return
    ui = children.start(
        "dagster dev",
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p",
         str(ui_port)],
        env, logs / "dagster.log",
    )  # fmt: skip
    # The app asks this service to crawl users it does not know yet; the service puts them
    # first in the crawl scheduler, so the next hourly crawl fetches them.
    crawl_service = children.start(
        "the crawl service",
        [str(BIN / "animerec"), "crawl", "serve", "--port", str(crawler_port)],
        env, logs / "crawl_service.log",
    )  # fmt: skip
    from app.launch import streamlit_command, wait_until_healthy

    app = children.start("the app", streamlit_command(app_port), env, logs / "app.log")
    from api.launch import READY_PATH, api_command

    api_port = ports["api"]
    api = children.start("the JSON API", api_command(api_port), env, logs / "api.log")
    _say(f"waiting for the app at http://127.0.0.1:{app_port}")
    wait_until_healthy(f"http://127.0.0.1:{app_port}", app)
    _wait_for_http(f"http://127.0.0.1:{api_port}{READY_PATH}", api)
    _wait_for_http(f"http://127.0.0.1:{ui_port}/server_info", ui, timeout_s=180)
    _wait_for_http(f"http://127.0.0.1:{crawler_port}/health", crawl_service)
    typer.secho("\nanimerec is running:", bold=True)
    typer.echo(f"  Dagster UI    http://127.0.0.1:{ui_port}")
    typer.echo(f"  the app       http://127.0.0.1:{app_port}")
    typer.echo(f"  JSON API      http://127.0.0.1:{api_port}/docs")
    typer.echo(f"  crawl service http://127.0.0.1:{crawler_port}/docs")
    typer.echo(f"  MAL replica   {base_url}")
    typer.echo(f"  logs          {logs}")
    typer.echo("Press Ctrl-C to stop.")
    while all(p.poll() is None for p in (replica, ui, app, api, crawl_service)):
        time.sleep(1)
    stopped = [name for name, p in children.running if p.poll() is not None]
    _say(f"stopping: {', '.join(stopped)} exited")


def _job_main(argv: list[str]) -> None:
    """``python -m animerec_cli.demo job ROUNDS BATCH_SIZE``: the demo's main job process."""
    if len(argv) != 3 or argv[0] != "job":
        raise SystemExit("usage: python -m animerec_cli.demo job ROUNDS BATCH_SIZE")
    run_main_job(max_rounds=int(argv[1]), batch_size=int(argv[2]))


if __name__ == "__main__":
    _job_main(sys.argv[1:])
