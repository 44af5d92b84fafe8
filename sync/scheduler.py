"""Embedded scheduling: run every job on its cron schedule in one process.

- A job never overlaps itself: a tick that finds the job still running is skipped (the
  database job lock guards other processes too).
- After downtime a missed schedule is caught up **once**, not once per missed tick.
- SIGTERM/SIGINT stop the loop; running jobs finish before the process exits.

The due-time logic is pure (:func:`due_jobs`), tested with plain data and a frozen clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter

__all__ = ["Scheduler", "due_jobs", "next_fire"]

log = logging.getLogger(__name__)


def next_fire(schedule: str, after: datetime, tz: str) -> datetime:
    """The first fire time of ``schedule`` (cron, in ``tz``) strictly after ``after``."""
    local = after.astimezone(ZoneInfo(tz))
    fire: datetime = croniter(schedule, local).get_next(datetime)
    return fire


def due_jobs(
    schedules: Mapping[str, str], last: Mapping[str, datetime | None], now: datetime, tz: str
) -> list[str]:
    """Jobs with a fire time in ``(last run, now]``; a job never run is due at its first tick.

    However many ticks were missed, a job is listed once (catch up once after downtime).
    """
    due = []
    for job, schedule in schedules.items():
        since = last.get(job)
        if since is None or next_fire(schedule, since, tz) <= now:
            due.append(job)
    return due


@dataclass
class Scheduler:
    schedules: Mapping[str, str]
    run_job: Callable[[str], object]
    tz: str
    clock: Callable[[], datetime]
    last: dict[str, datetime | None] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    poll_seconds: float = 1.0
    _running: dict[str, threading.Thread] = field(default_factory=dict)

    def tick(self) -> list[str]:
        """Start every due job that is not already running; return the ones started."""
        now = self.clock()
        started = []
        for job in due_jobs(self.schedules, self.last, now, self.tz):
            thread = self._running.get(job)
            if thread is not None and thread.is_alive():
                log.warning("job %s is still running; skipping this tick", job)
                continue
            self.last[job] = now
            thread = threading.Thread(target=self._run, args=(job,), name=f"job-{job}", daemon=True)
            self._running[job] = thread
            thread.start()
            started.append(job)
        return started

    def _run(self, job: str) -> None:
        try:
            self.run_job(job)
        except Exception:
            log.exception("job %s failed", job)

    def serve(self) -> None:
        """Tick until ``stop`` is set, then wait for running jobs to finish."""
        while not self.stop.is_set():
            self.tick()
            self.stop.wait(self.poll_seconds)
        self.join()

    def join(self) -> None:
        for thread in list(self._running.values()):
            thread.join()
