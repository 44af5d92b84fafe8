"""Distributed runs: the same jobs on Celery workers (Redis broker), state in PostgreSQL.

``refsync worker`` starts a worker, ``refsync beat`` the scheduler that sends one task per
job per cron tick. The job lock in the state database keeps one run per job across all
workers; a task for a tick that another worker already ran is skipped, so a duplicated
delivery (a redelivered message, two beats) never runs a job twice for one tick.

Configuration comes from the environment: ``REFSYNC_PROGRAM`` (program directory),
``REFSYNC_BROKER_URL`` (default ``redis://127.0.0.1:6379/0``), ``REFSYNC_STATE_URL``.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from celery import Celery
from celery.schedules import crontab

from mapping.errors import LockHeld, RefsyncError

__all__ = ["beat_schedule", "celery_app", "make_celery", "run_job_task"]


def make_celery(broker: str | None = None) -> Celery:
    broker = broker or os.environ.get("REFSYNC_BROKER_URL", "redis://127.0.0.1:6379/0")
    app = Celery("refsync", broker=broker, backend=os.environ.get("REFSYNC_RESULT_URL", broker))
    app.conf.update(
        task_acks_late=True,  # a worker killed mid-run gets its task redelivered
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_expires=3600,
        broker_connection_retry_on_startup=True,
    )
    return app


celery_app = make_celery()


def _engine(program_dir: str):
    from sync.cli._common import engine_for

    return engine_for(Path(program_dir), os.environ.get("REFSYNC_STATE_URL"))


@celery_app.task(name="refsync.run_job", bind=True)
def run_job_task(
    self: Any, job: str, tick: str | None = None, program_dir: str | None = None
) -> dict[str, Any]:
    """Run ``job`` for cron ``tick`` (ISO time) unless a run for that tick already started."""
    program = program_dir or os.environ.get("REFSYNC_PROGRAM", ".")
    with _engine(program) as engine:
        schedule = (
            engine.program.config.jobs[job].schedule if job in engine.program.config.jobs else None
        )
        if tick is None and schedule:
            tick = _current_tick(schedule, engine.program.config.timezone)
        if tick is not None:
            since = datetime.fromisoformat(tick)
            if any(r.started_at >= since for r in engine.store.last_runs(job, limit=5)):
                return {"job": job, "tick": tick, "status": "skipped: already ran for this tick"}
        try:
            report = engine.run(job)
        except LockHeld as exc:
            return {"job": job, "tick": tick, "status": "skipped: locked", "holder": exc.holder}
        except RefsyncError as exc:
            return {"job": job, "tick": tick, "status": "failed", "message": exc.message}
        return {
            "job": job,
            "tick": tick,
            "status": report.status,
            "run_id": report.run_id,
            "worker": self.request.hostname,
        }


def _current_tick(schedule: str, tz: str) -> str:
    """The latest cron fire time at or before now: the tick a beat message belongs to."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    now = datetime.now(ZoneInfo(tz))
    return croniter(schedule, now).get_prev(datetime).isoformat()


def beat_schedule(program_dir: str) -> dict[str, Any]:
    """Celery beat entries for every scheduled job of the program."""
    from sync.engine import open_program

    program = open_program(program_dir)
    entries: dict[str, Any] = {}
    for name, job in program.config.jobs.items():
        if not job.schedule:
            continue
        minute, hour, dom, month, dow = job.schedule.split()
        entries[f"refsync:{name}"] = {
            "task": "refsync.run_job",
            "schedule": crontab(
                minute=minute, hour=hour, day_of_month=dom, month_of_year=month, day_of_week=dow
            ),
            "kwargs": {"job": name, "program_dir": str(Path(program_dir).resolve())},
        }
    celery_app.conf.timezone = program.config.timezone
    return entries
