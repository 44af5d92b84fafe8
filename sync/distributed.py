"""Distributed runs: the same jobs on Celery workers (Redis broker), state in PostgreSQL.

``refsync beat`` (one per deployment) sends one ``refsync.run_job`` task per scheduled job
per cron tick; ``refsync worker`` (as many as you like, on any machine) runs them. Two
guarantees, from two places:

- **One run per job at a time** -- the job lock in the state database (``Engine.run``
  raises :class:`~mapping.errors.LockHeld`; the task then reports ``skipped``).
- **One run per tick** -- beat stamps each task with its tick (the cron fire time, in the
  program's timezone) and the task claims ``(state store, job, tick)`` in Redis with an
  atomic ``SET NX`` before running. A second task for the same tick (two beats, a beat
  restarted mid-send, a message sent twice) finds the claim and is skipped. The claim holds
  the claiming task's id while it runs and ``done`` once the run ended (ok or failed), so
  a redelivery of *that* message after its worker died mid-run runs the tick again, and
  any copy after the end does not. A tick that found the job locked releases its claim:
  it did not run, so a later copy may.

Recovery from a dead task (see the README, "Running on several machines"):

- **A killed task process** (OOM killer, SIGKILL): late acks with
  ``task_reject_on_worker_lost`` put the message back on the queue at once; the
  redelivered task takes its own claim again and runs the tick.
- **A dead worker or machine**: its unacknowledged message comes back after the broker's
  visibility timeout (:data:`VISIBILITY_TIMEOUT`, shorter than the job lock's TTL). A
  redelivered task that meets the job lock waits for it (Celery retries every
  :data:`LOCK_RETRY_SECONDS`) until the dead run's lock expires or the tick is done.
- **The claim expires with its task**: a running task refreshes its claim's TTL
  (:data:`CLAIM_HOLD_SECONDS`) from a thread, so the claim of a task that died lapses and
  any copy of the tick may take it; ``done`` claims are kept for a week.
- **No redelivery loop**: a tick whose task died :data:`MAX_ATTEMPTS` times is given up
  (``failed``) rather than killing worker after worker.

Why Redis and not the runs table: reading the runs table and then starting a run is not
atomic -- a duplicate that reads before another worker's short run starts and locks after
it finished would run the tick twice. ``SET NX`` has no such window.

Configuration comes from the environment of each process: ``REFSYNC_PROGRAM`` (program
directory; ``refsync worker --config`` sets it), ``REFSYNC_STATE_URL`` (the shared
PostgreSQL state), ``REFSYNC_BROKER_URL`` (default ``redis://127.0.0.1:6379/0``),
``REFSYNC_RESULT_URL`` (default: the broker) and ``REFSYNC_QUEUE`` (default ``refsync``).
A worker that cannot reach the broker within :data:`CONNECT_TIMEOUT` seconds exits at once
(:func:`check_broker`) instead of retrying for minutes.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import redis
from celery import Celery, signals
from celery.beat import BeatLazyFunc
from celery.schedules import crontab
from croniter import croniter

from mapping.errors import ConfigurationError, LockHeld, RefsyncError, StateError
from sync.environment import refsync_environment
from sync.tick_claim import CLAIM_HOLD_SECONDS, CONNECT_TIMEOUT, TickClaim

__all__ = [
    "CLAIM_HOLD_SECONDS",
    "CONNECT_TIMEOUT",
    "LOCK_RETRY_SECONDS",
    "MAX_ATTEMPTS",
    "TASK_NAME",
    "VISIBILITY_TIMEOUT",
    "beat_schedule",
    "celery_app",
    "check_broker",
    "configure_beat",
    "current_tick",
    "make_celery",
    "run_job_task",
]

TASK_NAME = "refsync.run_job"
VISIBILITY_TIMEOUT = 300
"""Seconds before Redis hands a dead worker's unacknowledged task to another worker
(``REFSYNC_VISIBILITY_TIMEOUT`` overrides it, below the lock TTL).

Shorter than the job lock's TTL (``Engine(lock_ttl_seconds=600)``): the redelivered task
arrives while the dead run's lock is still held and waits for it, so an interrupted tick
finishes within the lock TTL of the crash, not Redis' default hour. A live run longer than
this has its message delivered a second time meanwhile: that copy finds the job locked,
waits, and ends ``skipped`` once the run finished its tick."""
_LOCK_TTL = 600  # Engine's default lock_ttl_seconds
LOCK_RETRY_SECONDS = 20
"""How often a redelivered task that met the job lock tries again."""
MAX_ATTEMPTS = 3
"""Deliveries of one tick's task that may die mid-run before the tick is given up."""
_BEAT_GRACE = timedelta(seconds=1)  # a beat firing a moment early still stamps its own tick


def make_celery(broker: str | None = None, queue: str | None = None) -> Celery:
    """A Celery app for refsync: Redis broker and results, late acks, one task at a time."""
    env = refsync_environment()
    broker = broker or env.broker_url
    app = Celery("refsync", broker=broker, backend=env.result_url or broker)
    app.conf.update(
        # A task is acknowledged when it ends, so the message of a worker (or machine) that
        # died mid-run is redelivered after VISIBILITY_TIMEOUT; a task process that was
        # killed is rejected back onto the queue at once. An exception acks it, so a
        # failing job never loops.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        broker_transport_options={
            "visibility_timeout": _visibility_timeout(),
            # Look for such tasks every 10 s (kombu's default scans every 100 s).
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": CONNECT_TIMEOUT,
        },
        worker_prefetch_multiplier=1,  # a busy worker does not hoard the next tick's task
        # A fresh pool process every 50 runs: the PHI values kept for log redaction
        # (sync.logs.RUN_PHI) do not pile up for the life of the worker.
        worker_max_tasks_per_child=50,
        task_default_queue=queue or env.queue,
        task_serializer="json",
        accept_content=["json"],
        result_expires=3600,
        # No broker at start: fail (``refsync worker`` checks first, with a clear message);
        # a broker lost later: a few bounded reconnects, then the worker exits for its
        # supervisor to restart, rather than retrying for minutes.
        broker_connection_retry_on_startup=False,
        broker_connection_timeout=CONNECT_TIMEOUT,
        broker_connection_max_retries=10,
        redis_socket_connect_timeout=CONNECT_TIMEOUT,
    )
    return app


def _visibility_timeout() -> int:
    raw = refsync_environment().visibility_timeout or ""
    if not raw.strip():
        return VISIBILITY_TIMEOUT
    try:
        seconds = int(raw)
    except ValueError:
        seconds = 0
    if not 0 < seconds < _LOCK_TTL:
        raise ConfigurationError(
            f"REFSYNC_VISIBILITY_TIMEOUT={raw!r}: give whole seconds above 0 and below the job "
            f"lock's TTL ({_LOCK_TTL}), so a dead worker's task comes back while its lock holds"
        )
    return seconds


celery_app = make_celery()


@signals.after_setup_logger.connect  # type: ignore[untyped-decorator]
@signals.after_setup_task_logger.connect  # type: ignore[untyped-decorator]
def _redact_worker_logs(logger: Any, **_: Any) -> None:
    """Celery configures a worker's logging itself: put refsync's redaction on its handlers,
    so secrets and the PHI a run read never reach a worker's log either."""
    from mapping.redact import Redactor
    from sync.logs import RedactingFilter

    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(Redactor()))


def _engine(program_dir: str) -> Any:
    from sync.cli._common import engine_for

    # state=None: engine_for takes REFSYNC_STATE_URL, then the program's state.url.
    return engine_for(Path(program_dir), None)


@celery_app.task(name=TASK_NAME, bind=True)  # type: ignore[untyped-decorator]
def run_job_task(self: Any, job: str, tick: str | None = None) -> dict[str, Any]:
    """Run ``job`` of this worker's program once for cron ``tick`` (ISO time with offset).

    The program is the worker's own ``--config`` (paths differ between machines, so beat
    does not send one). Without ``tick`` (a task sent by hand) there is no per-tick claim,
    only the job lock. Returns ``status`` (``ok``, ``finished with rejected records``,
    ``failed``, ``skipped``), ``reason`` when skipped, ``run_id`` when it ran, and
    ``worker`` (this worker's hostname). A :class:`RefsyncError` is a ``failed`` result,
    not an exception, so the message is acknowledged and never retried in a loop.
    """
    result: dict[str, Any] = {"job": job, "tick": tick, "worker": self.request.hostname}
    try:
        with _engine(str(refsync_environment().program)) as engine:
            if tick is None:
                report = engine.run(job)
            else:
                claim = TickClaim(self.app.conf.broker_url, engine.store.url, job, tick)
                if not claim.take(self.request.id, count=not self.request.retries):
                    return {**result, "status": "skipped", "reason": "tick already claimed"}
                with claim.held():
                    report = _run_claimed(self, engine, job, claim)
    except LockHeld as exc:
        return {**result, "status": "skipped", "reason": "locked", "holder": exc.holder}
    except RefsyncError as exc:
        return {**result, "status": "failed", "message": exc.message}
    return {**result, "status": report.status, "run_id": report.run_id}


def _run_claimed(task: Any, engine: Any, job: str, claim: TickClaim) -> Any:
    """``engine.run(job)``, then settle the claim: released or waited on if locked, else done.

    A delivery of a task that already ran this tick (redelivered after its worker died, or
    retried) that meets the job lock is most likely meeting its own dead run: it waits for
    that lock (Celery retry, same task id) instead of dropping the tick.
    """
    if claim.attempts > MAX_ATTEMPTS:
        claim.finish()
        raise StateError(
            f"job {job}: the task for tick {claim.tick} died mid-run {MAX_ATTEMPTS} times "
            "(see the workers' logs: killed, out of memory?); the tick is given up and the "
            "next tick runs the job"
        )
    try:
        report = engine.run(job)
    except LockHeld:
        if _is_redelivery(task, claim) and task.request.retries < _lock_retries(engine):
            raise task.retry(countdown=LOCK_RETRY_SECONDS, max_retries=None) from None
        claim.release()  # this tick did not run; a later copy may run it
        raise
    except Exception:
        claim.finish()  # failed is an outcome: a copy must not retry it in a loop
        raise
    claim.finish()
    return report


def _is_redelivery(task: Any, claim: TickClaim) -> bool:
    redelivered = bool((task.request.delivery_info or {}).get("redelivered"))
    return redelivered or not claim.fresh or task.request.retries > 0


def _lock_retries(engine: Any) -> int:
    # Long enough for a dead run's lock to expire, however recently it heartbeat.
    return int(getattr(engine, "lock_ttl", _LOCK_TTL)) // LOCK_RETRY_SECONDS + 3


def check_broker(url: str | None = None) -> None:
    """Raise :class:`StateError` (exit 4) unless Redis at ``url`` answers a ping.

    ``refsync worker`` calls this before Celery starts, so a worker pointed at a wrong or
    dead broker stops within :data:`CONNECT_TIMEOUT` seconds and says what to fix.
    """
    url = url or celery_app.conf.broker_url
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=CONNECT_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT
        )
    except ValueError as exc:
        raise ConfigurationError(
            f"the broker URL is not a Redis URL ({exc}); set REFSYNC_BROKER_URL to "
            "redis://HOST:6379/DB"
        ) from exc
    try:
        client.ping()
    except redis.RedisError as exc:
        where = client.connection_pool.connection_kwargs
        raise StateError(
            f"cannot reach the broker (Redis at {where.get('host')}:{where.get('port')}, "
            f"db {where.get('db')}) within {CONNECT_TIMEOUT}s ({type(exc).__name__}); start "
            "Redis or point REFSYNC_BROKER_URL at it"
        ) from exc
    finally:
        client.close()


def current_tick(schedule: str, tz: str, now: datetime | None = None) -> str:
    """The latest fire time of cron ``schedule`` in ``tz`` at or before ``now`` (ISO text).

    Beat calls this when it sends a task (see :func:`beat_schedule`), so every copy of one
    tick's task carries the same value however late a worker picks it up.
    """
    local = (now or datetime.now(ZoneInfo(tz))).astimezone(ZoneInfo(tz))
    # croniter's get_prev is strictly before its start; the grace makes "at" count.
    fire: datetime = croniter(schedule, local + _BEAT_GRACE).get_prev(datetime)
    return fire.isoformat()


def beat_schedule(program_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Celery beat entries: one ``refsync:JOB`` per job with a ``schedule``.

    Each entry is a ``crontab`` of the job's five cron fields (read in the program
    timezone once :func:`configure_beat` set it) and sends ``job`` and ``tick``; the tick
    is a :class:`~celery.beat.BeatLazyFunc`, evaluated by beat at send time.
    """
    from sync.engine import open_program

    program = open_program(program_dir)
    tz = program.config.timezone
    entries: dict[str, Any] = {}
    for name, job in program.config.jobs.items():
        if job.schedule:
            entries[f"refsync:{name}"] = {
                "task": TASK_NAME,
                "schedule": _crontab(name, job.schedule),
                "kwargs": {"job": name, "tick": BeatLazyFunc(current_tick, job.schedule, tz)},
            }
    return entries


def configure_beat(app: Celery, program_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Put the program's schedule and timezone on ``app`` (crontabs read ``app.timezone``)."""
    from sync.engine import open_program

    entries = beat_schedule(program_dir)
    app.conf.timezone = open_program(program_dir).config.timezone
    app.conf.beat_schedule = entries
    return entries


def _crontab(job: str, schedule: str) -> crontab:
    fields = schedule.split()
    fix = "write five fields: minute hour day-of-month month day-of-week"
    if len(fields) != 5:
        raise ConfigurationError(f"job {job!r}: schedule {schedule!r}: Celery beat needs {fix}")
    minute, hour, dom, month, dow = fields
    if dom != "*" and dow != "*":
        # cron runs when either matches, Celery's crontab only when both do.
        raise ConfigurationError(
            f"job {job!r}: schedule {schedule!r} restricts both day-of-month and day-of-week, "
            "which cron and Celery beat read differently; use '*' in one of them (or two jobs)"
        )
    dow = ",".join("0" if part == "7" else part for part in dow.split(","))  # cron: 7 = Sunday
    try:
        return crontab(
            minute=minute, hour=hour, day_of_month=dom, month_of_year=month, day_of_week=dow
        )
    except ValueError as exc:
        raise ConfigurationError(
            f"job {job!r}: Celery beat cannot read schedule {schedule!r} ({exc}); {fix}"
        ) from exc
