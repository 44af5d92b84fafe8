"""``refsync schedule`` (embedded cron), ``refsync worker`` and ``refsync beat`` (Celery)."""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import typer

from sync.cli._app import app
from sync.cli._common import console, engine_for, handle_errors, setup_logging

__all__ = ["beat", "schedule", "worker"]

_CONFIG = typer.Option(Path("."), "--config", "-c", help="Program directory")
_STATE = typer.Option(None, "--state", help="State store URL")


@app.command(
    epilog="Examples:  refsync schedule --config myprogram  |  "
    "refsync schedule -c myprogram --log-json 2>>refsync.log"
)
def schedule(
    config: Path = _CONFIG,
    state: str | None = _STATE,
    log_json: bool = typer.Option(
        False, "--log-json", help="JSON log lines on stderr, with run_started/run_finished events"
    ),
) -> None:
    """Run every job on its cron schedule in this process until SIGTERM or Ctrl-C.

    Cron is read in the program's timezone; a job missed while stopped runs once on start.
    `refsync jobs` lists the jobs and their next run.
    """
    from connectors.base import utc_now
    from sync.scheduler import Scheduler, next_fire

    setup_logging(log_json, verbose=True)
    with handle_errors(), engine_for(config, state) as engine:
        program = engine.program
        schedules = {n: j.schedule for n, j in program.config.jobs.items() if j.schedule}
        zone = program.config.timezone
        last: dict[str, datetime | None] = {n: None for n in schedules}
        for run in engine.store.last_runs(None, limit=200):
            if run.job in last and last[run.job] is None:
                last[run.job] = run.started_at

        def run_job(job: str) -> None:
            with engine_for(config, state) as job_engine:
                report = job_engine.run(job)
            upcoming = next_fire(schedules[job], utc_now(), zone).isoformat(timespec="seconds")
            console.print(f"{report.summary()}; next run {upcoming}")

        sched = Scheduler(schedules, run_job, program.config.timezone, utc_now, last=last)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sched.stop.set())
    console.print(f"scheduling {len(schedules)} jobs (times in {zone}):")
    for name in sorted(schedules):
        first = "now (never run)" if last[name] is None else ""
        upcoming = first or next_fire(schedules[name], last[name] or utc_now(), zone).isoformat(
            timespec="seconds"
        )
        console.print(f"  {name} ({schedules[name]}): next run {upcoming}")
    sched.serve()
    console.print("stopped; running jobs finished")


@app.command(epilog="Example:  refsync worker --config myprogram --hostname w1@%h")
def worker(
    config: Path = _CONFIG,
    concurrency: int = typer.Option(1, help="Jobs this worker runs at once (processes)"),
    hostname: str | None = typer.Option(None, help="Worker name (default: celery@HOST)"),
) -> None:
    """A Celery worker that runs jobs (broker: REFSYNC_BROKER_URL, state: REFSYNC_STATE_URL)."""
    _check_program(config)
    from sync.environment import publish_program

    publish_program(config)  # read by the pool's processes
    from sync.distributed import celery_app, check_broker

    with handle_errors():
        check_broker()  # no broker: exit 4 within seconds, not minutes of reconnects

    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=prefork"]
    # Workers coordinate through the state database and the tick claims, not through each
    # other: no mingle (startup sync of revoked tasks) and no gossip (event chatter).
    argv += ["--without-mingle", "--without-gossip"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    celery_app.worker_main(argv)


@app.command(epilog="Example:  refsync beat --config myprogram")
def beat(
    config: Path = _CONFIG,
    schedule_file: Path | None = typer.Option(
        None, "--schedule-file", help="Where beat keeps its last send times (DIR/.refsync-beat)"
    ),
) -> None:
    """Celery beat: sends one task per scheduled job per cron tick. Run exactly one."""
    from sync.environment import publish_program

    publish_program(config)
    from sync.distributed import celery_app, configure_beat

    with handle_errors():
        entries = configure_beat(celery_app, config)
    console.print(f"beat: {len(entries)} scheduled jobs in {celery_app.conf.timezone}")
    path = schedule_file or config / ".refsync-beat"
    celery_app.start(["beat", "--loglevel=INFO", f"--schedule={path}"])


def _check_program(config: Path) -> None:
    """Fail fast (exit 2/4) on a broken program or state store, before Celery starts."""
    with handle_errors(), engine_for(config, None) as engine:
        url = engine.store.url
    console.print(f"worker: program {config.resolve()}, state {url}")
    if url.startswith("sqlite"):
        console.print(
            "[yellow]warning:[/] the state is a SQLite file on this machine; workers on other "
            "machines do not share it (set REFSYNC_STATE_URL to PostgreSQL)"
        )
