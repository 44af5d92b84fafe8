"""``refsync schedule`` (embedded cron), ``refsync worker`` and ``refsync beat`` (Celery)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import typer

from connectors.base import utc_now
from sync.cli._app import app
from sync.cli._common import console, engine_for, handle_errors, setup_logging
from sync.scheduler import Scheduler

__all__ = ["beat", "schedule", "worker"]

_CONFIG = typer.Option(Path("."), "--config", "-c", help="Program directory")
_STATE = typer.Option(None, "--state", help="State store URL")


@app.command()
def schedule(
    config: Path = _CONFIG,
    state: str | None = _STATE,
    log_json: bool = typer.Option(False, "--log-json"),
) -> None:
    """Run every job on its cron schedule in this process until SIGTERM or Ctrl-C."""
    setup_logging(log_json, verbose=True)
    with handle_errors(), engine_for(config, state) as engine:
        program = engine.program
        schedules = {n: j.schedule for n, j in program.config.jobs.items() if j.schedule}
        last = {n: None for n in schedules}
        for run in engine.store.last_runs(None, limit=200):
            if run.job in last and last[run.job] is None:
                last[run.job] = run.started_at

        def run_job(job: str) -> None:
            with engine_for(config, state) as job_engine:
                report = job_engine.run(job)
            console.print(report.summary())

        sched = Scheduler(schedules, run_job, program.config.timezone, utc_now, last=last)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sched.stop.set())
    console.print(f"scheduling {len(schedules)} jobs: {', '.join(sorted(schedules)) or 'none'}")
    sched.serve()
    console.print("stopped; running jobs finished")


@app.command()
def worker(
    config: Path = _CONFIG,
    concurrency: int = typer.Option(1, help="Processes"),
    hostname: str | None = typer.Option(None, help="Worker name"),
) -> None:
    """A Celery worker that runs jobs (broker: REFSYNC_BROKER_URL, state: REFSYNC_STATE_URL)."""
    os.environ["REFSYNC_PROGRAM"] = str(config.resolve())
    from sync.distributed import celery_app

    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=prefork"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    celery_app.worker_main(argv)


@app.command()
def beat(config: Path = _CONFIG) -> None:
    """Celery beat: sends one task per job per cron tick."""
    os.environ["REFSYNC_PROGRAM"] = str(config.resolve())
    from sync.distributed import beat_schedule, celery_app

    with handle_errors():
        celery_app.conf.beat_schedule = beat_schedule(str(config))
    celery_app.start(["beat", "--loglevel=INFO"])
