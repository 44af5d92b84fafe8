"""The embedded scheduler's due-time logic, with plain data and a frozen clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sync.scheduler import Scheduler, due_jobs, next_fire

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_a_job_never_run_is_due_at_the_first_tick() -> None:
    assert due_jobs({"a": "*/15 * * * *"}, {}, T0, "UTC") == ["a"]


def test_a_job_is_not_due_before_its_next_fire_time() -> None:
    last = {"a": T0}
    assert due_jobs({"a": "*/15 * * * *"}, last, T0 + timedelta(minutes=14), "UTC") == []
    assert due_jobs({"a": "*/15 * * * *"}, last, T0 + timedelta(minutes=15), "UTC") == ["a"]


def test_downtime_is_caught_up_once_not_once_per_missed_tick() -> None:
    last = {"a": T0}
    assert due_jobs({"a": "*/15 * * * *"}, last, T0 + timedelta(hours=5), "UTC") == ["a"]


def test_cron_is_read_in_the_program_timezone() -> None:
    # 09:00 every day in Chicago is 15:00 UTC in winter
    fire = next_fire("0 9 * * *", T0, "America/Chicago")
    assert fire.astimezone(UTC) == datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def test_a_tick_skips_a_job_that_is_still_running() -> None:
    release = threading.Event()
    calls: list[str] = []

    def run_job(job: str) -> None:
        calls.append(job)
        release.wait(5)

    now = [T0]
    sched = Scheduler({"a": "* * * * *"}, run_job, "UTC", lambda: now[0])
    assert sched.tick() == ["a"]
    now[0] = T0 + timedelta(minutes=2)
    assert sched.tick() == []  # still running: never overlaps itself
    release.set()
    sched.join()
    now[0] = T0 + timedelta(minutes=4)
    assert sched.tick() == ["a"]
    sched.join()
    assert calls == ["a", "a"]


def test_serve_returns_after_stop_and_waits_for_running_jobs() -> None:
    finished = threading.Event()

    def run_job(job: str) -> None:
        finished.set()

    sched = Scheduler({"a": "* * * * *"}, run_job, "UTC", lambda: T0, poll_seconds=0.01)
    thread = threading.Thread(target=sched.serve)
    thread.start()
    assert finished.wait(5)
    sched.stop.set()
    thread.join(5)
    assert not thread.is_alive()
