"""Distributed runs: real ``refsync worker`` processes, the real Redis and PostgreSQL.

Beat is simulated deterministically: the test sends each tick's task itself, twice (two
beats, or a beat restarted mid-send) and once more with the first task's id (a redelivery).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.beat import BeatLazyFunc, ScheduleEntry
from celery.result import AsyncResult
from celery.schedules import crontab

from mapping.errors import ConfigurationError
from sync.demo import write_epic_export
from sync.distributed import TASK_NAME, beat_schedule, configure_beat, current_tick, make_celery
from sync.state import StateStore
from tests.sync.conftest import Hub
from tests.sync.distributed_workers import running_workers

JOB = "scheduling-to-crm"
ROWS = 6
TICKS = ["2026-11-27T10:00:00-06:00", "2026-11-27T10:15:00-06:00", "2026-11-27T10:30:00-06:00"]
RESULT_SECONDS = 60


@pytest.fixture
def app(redis_url: str) -> Iterator[Celery]:
    """A Celery app on its own queue, so parallel test processes never share tasks."""
    app = make_celery(redis_url, queue=f"refsync-test-{uuid.uuid4().hex[:12]}")
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def workers(
    hub: Hub, app: Celery, pg_url: str, redis_url: str, tmp_path: Path
) -> Iterator[list[str]]:
    """Two workers of the hub's program, state in PostgreSQL; names returned, stopped after."""
    names = [f"w{i}-{uuid.uuid4().hex[:8]}@refsync-test" for i in (1, 2)]
    env = {
        **os.environ,  # the hub fixture's secrets and REFSYNC_PATIENT_KEY
        "REFSYNC_STATE_URL": pg_url,
        "REFSYNC_BROKER_URL": redis_url,
        "REFSYNC_QUEUE": app.conf.task_default_queue,
    }
    write_epic_export(hub.root / "exports" / "epic" / "appts.csv", ROWS, datetime.now(UTC))
    with running_workers(app, hub.root, names, env, tmp_path):
        yield names


def send(app: Celery, tick: str, task_id: str | None = None) -> AsyncResult:
    return app.send_task(TASK_NAME, kwargs={"job": JOB, "tick": tick}, task_id=task_id)


@pytest.mark.redis
@pytest.mark.postgres
def test_two_workers_run_each_tick_once_however_often_it_is_delivered(
    hub: Hub, app: Celery, workers: list[str], pg_url: str
) -> None:
    results: list[dict[str, Any]] = []
    writes_after_tick: list[int] = []
    for tick in TICKS:
        beat, other_beat = send(app, tick), send(app, tick)
        outcomes = [beat.get(timeout=RESULT_SECONDS), other_beat.get(timeout=RESULT_SECONDS)]
        beat.forget()  # the same message delivered again after it finished
        outcomes.append(send(app, tick, task_id=beat.id).get(timeout=RESULT_SECONDS))
        assert sorted(o["status"] for o in outcomes) == ["ok", "skipped", "skipped"], outcomes
        results += outcomes
        writes_after_tick.append(hub.write_write_calls())

    with StateStore.open(pg_url) as store:
        runs = store.last_runs(JOB, limit=20)
    assert [r.status for r in runs] == ["ok"] * len(TICKS)
    assert {r["worker"] for r in results} == set(workers)
    assert len(hub.sf.records("Referral__c")) == ROWS
    # The first tick wrote the export to both CRMs; the later ticks had nothing new.
    assert writes_after_tick[0] > 0
    assert writes_after_tick[1:] == [writes_after_tick[0]] * (len(TICKS) - 1)


@pytest.mark.redis
@pytest.mark.postgres
def test_a_tick_that_finds_the_job_locked_is_skipped_and_a_later_copy_runs_it(
    app: Celery, workers: list[str], pg_url: str
) -> None:
    with StateStore.open(pg_url) as store:
        run_id = store.start_run(JOB, host="elsewhere", pid=1)
        store.acquire_lock(JOB, run_id=run_id, ttl_seconds=600, host="elsewhere", pid=1)
        locked = send(app, TICKS[0]).get(timeout=RESULT_SECONDS)
        store.release_lock(JOB, run_id)
        store.finish_run(run_id, "ok", {})
        later = send(app, TICKS[0]).get(timeout=RESULT_SECONDS)
        again = send(app, TICKS[0]).get(timeout=RESULT_SECONDS)
        statuses = [r.status for r in store.last_runs(JOB, limit=20)]
    assert (locked["status"], locked["reason"]) == ("skipped", "locked")
    assert "run " + str(run_id) in locked["holder"]
    assert later["status"] == "ok"
    assert (again["status"], again["reason"]) == ("skipped", "tick already claimed")
    assert sorted(statuses) == ["locked", "ok", "ok"]


@pytest.mark.redis
@pytest.mark.postgres
def test_a_job_that_fails_is_a_failed_result_and_its_tick_is_not_retried(
    hub: Hub, app: Celery, workers: list[str]
) -> None:
    kwargs = {"job": "no-such-job", "tick": TICKS[0]}
    failed = app.send_task(TASK_NAME, kwargs=kwargs).get(timeout=RESULT_SECONDS)
    again = app.send_task(TASK_NAME, kwargs=kwargs).get(timeout=RESULT_SECONDS)
    assert failed["status"] == "failed"
    assert "no job named 'no-such-job'" in failed["message"]
    assert (again["status"], again["reason"]) == ("skipped", "tick already claimed")
    garbled = {"job": JOB, "tick": "2026-11-27T10:00:00"}  # no offset: which instant?
    refused = app.send_task(TASK_NAME, kwargs=garbled).get(timeout=RESULT_SECONDS)
    assert refused["status"] == "failed"
    assert "not an ISO-8601 time with an offset" in refused["message"]


def test_beat_has_one_entry_per_scheduled_job_with_its_crontab(hub: Hub) -> None:
    entries = beat_schedule(hub.root)
    assert {name: entry["schedule"] for name, entry in entries.items()} == {
        "refsync:scheduling-to-crm": crontab(minute="*/15"),
        "refsync:partners-to-hubspot": crontab(minute="0"),
        "refsync:outreach-to-salesforce": crontab(minute="*/30"),
    }
    entry = entries["refsync:scheduling-to-crm"]
    assert entry["task"] == TASK_NAME
    assert entry["kwargs"]["job"] == "scheduling-to-crm"
    assert isinstance(entry["kwargs"]["tick"], BeatLazyFunc)  # stamped by beat when it sends


def test_beat_reads_the_cron_fields_in_the_program_timezone(hub: Hub) -> None:
    hub.edit_config(lambda d: d["jobs"][JOB].__setitem__("schedule", "0 9 * * 7"))
    app = make_celery("memory://")
    entries = configure_beat(app, hub.root)
    entry = ScheduleEntry(name=JOB, app=app, **entries[f"refsync:{JOB}"])
    assert entry.schedule == crontab(minute="0", hour="9", day_of_week="0")  # cron 7 = Sunday
    # From Sunday 08:00 in Chicago (14:00 UTC) the next run is 09:00 Chicago, 15:00 UTC.
    start, delta, _ = entry.schedule.remaining_delta(datetime(2026, 11, 29, 14, 0, tzinfo=UTC))
    assert (start + delta).astimezone(UTC) == datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def test_a_schedule_beat_would_read_differently_from_cron_is_refused(hub: Hub) -> None:
    hub.edit_config(lambda d: d["jobs"][JOB].__setitem__("schedule", "0 9 1 * 1"))
    with pytest.raises(ConfigurationError, match="day-of-month and day-of-week"):
        beat_schedule(hub.root)


def test_the_tick_is_the_latest_fire_time_in_the_program_timezone() -> None:
    at_fire = datetime(2026, 11, 27, 16, 15, tzinfo=UTC)  # 10:15 in Chicago
    tick = current_tick("*/15 * * * *", "America/Chicago", now=at_fire)
    assert tick == "2026-11-27T10:15:00-06:00"
    later = datetime(2026, 11, 27, 16, 29, 59, tzinfo=UTC)
    assert current_tick("*/15 * * * *", "America/Chicago", now=later) == tick
