"""Distributed recovery: a worker's task process killed mid-run, a worker with no broker.

Real ``refsync worker`` processes, the real Redis and PostgreSQL. Nothing here waits for a
clock: the kill happens once the run has written to a CRM (sandbox counters), and every
wait is a bounded poll.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from celery import Celery

from sync.demo import write_epic_export
from sync.distributed import (
    CLAIM_HOLD_SECONDS,
    MAX_ATTEMPTS,
    TASK_NAME,
    VISIBILITY_TIMEOUT,
    make_celery,
)
from sync.state import StateStore
from sync.tick_claim import TickClaim
from tests.sync.conftest import Hub
from tests.sync.distributed_workers import running_workers

JOB = "scheduling-to-crm"
ROWS = 6
TICK = "2026-11-27T10:00:00-06:00"
RESULT_SECONDS = 240  # the interrupted run, its redelivery and the rerun, on a loaded machine
POLL_SECONDS = 180
LATENCY = 4.0  # seconds per sandbox call while the run is killed: it is surely mid-call


@pytest.fixture
def app(redis_url: str) -> Iterator[Celery]:
    """A Celery app on its own queue, so parallel test processes never share tasks."""
    app = make_celery(redis_url, queue=f"refsync-test-{uuid.uuid4().hex[:12]}")
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def visibility_timeout() -> str:
    return ""  # the default; a test overrides this fixture to wait less for a dead worker


@pytest.fixture
def workers(
    hub: Hub,
    app: Celery,
    pg_url: str,
    redis_url: str,
    tmp_path: Path,
    visibility_timeout: str,
) -> Iterator[list[str]]:
    names = [f"w{i}-{uuid.uuid4().hex[:8]}@refsync-test" for i in (1, 2)]
    env = {
        **os.environ,
        "REFSYNC_STATE_URL": pg_url,
        "REFSYNC_BROKER_URL": redis_url,
        "REFSYNC_QUEUE": app.conf.task_default_queue,
        "REFSYNC_VISIBILITY_TIMEOUT": visibility_timeout,
    }
    write_epic_export(hub.root / "exports" / "epic" / "appts.csv", ROWS, datetime.now(UTC))
    with running_workers(app, hub.root, names, env, tmp_path):
        yield names


def _poll(what: str, found: Callable[[], object]) -> object:
    """``found()`` once it is truthy, polling for at most POLL_SECONDS."""
    deadline = time.monotonic() + POLL_SECONDS
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not happen within {POLL_SECONDS}s")


def test_the_recovery_timeouts_are_ordered_as_the_readme_says() -> None:
    app = make_celery("redis://127.0.0.1:6379/0")
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.broker_transport_options["visibility_timeout"] == VISIBILITY_TIMEOUT
    # Redelivery of a dead worker's task comes before its run's lock (600 s) expires, and
    # a dead task's claim lapses before that redelivery.
    assert CLAIM_HOLD_SECONDS < VISIBILITY_TIMEOUT < 600
    assert app.conf.broker_connection_retry_on_startup is False


def _kill_mid_run(hub: Hub, app: Celery, store: StateStore, kill: Callable[[int], None]) -> dict:
    """Send one tick, ``kill(pid)`` the run once it wrote to Salesforce; its final result."""
    hub.sf.faults.configure(latency=LATENCY)
    hub.hs.faults.configure(latency=LATENCY)
    sent = app.send_task(TASK_NAME, kwargs={"job": JOB, "tick": TICK})

    def running_after_a_write() -> int | None:
        runs = store.last_runs(JOB, limit=5)
        if hub.sf.stats.write_calls >= 1 and runs and runs[0].status == "running":
            return runs[0].pid
        return None

    pid = _poll("a run that wrote to Salesforce", running_after_a_write)
    assert isinstance(pid, int)
    killed = store.last_runs(JOB, limit=1)[0].id
    kill(pid)
    hub.sf.faults.configure(latency=0.0)
    hub.hs.faults.configure(latency=0.0)
    # The same task (same id) is redelivered and finishes the tick: no new tick is sent.
    result: dict = sent.get(timeout=RESULT_SECONDS)
    return {**result, "killed": killed}


def _assert_tick_finished_once(hub: Hub, app: Celery, store: StateStore, result: dict) -> None:
    assert result["status"] == "ok", result
    assert result["run_id"] != result["killed"]
    runs = {r.id: r.status for r in store.last_runs(JOB, limit=20)}
    assert runs == {result["killed"]: "interrupted", result["run_id"]: "ok"}
    copy = app.send_task(TASK_NAME, kwargs={"job": JOB, "tick": TICK}).get(timeout=RESULT_SECONDS)
    assert (copy["status"], copy["reason"]) == ("skipped", "tick already claimed")
    # Nothing lost, nothing duplicated in either CRM.
    assert len(hub.sf.records("Referral__c")) == ROWS
    assert len(hub.hs.records("deals")) == ROWS


@pytest.mark.redis
@pytest.mark.postgres
def test_a_task_process_killed_mid_run_is_redelivered_and_its_tick_finishes_once(
    hub: Hub, app: Celery, workers: list[str], pg_url: str
) -> None:
    with StateStore.open(pg_url) as store:
        # The pool process running the task, not its worker: Celery requeues the task.
        result = _kill_mid_run(hub, app, store, lambda pid: os.kill(pid, signal.SIGKILL))
        _assert_tick_finished_once(hub, app, store, result)


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.parametrize("visibility_timeout", ["10"])
def test_a_whole_worker_killed_mid_run_has_its_tick_finished_by_the_other_worker(
    hub: Hub, app: Celery, workers: list[str], pg_url: str
) -> None:
    def kill_worker(pid: int) -> None:  # the worker, its pool: nothing left to requeue it
        os.killpg(os.getpgid(pid), signal.SIGKILL)

    with StateStore.open(pg_url) as store:
        result = _kill_mid_run(hub, app, store, kill_worker)
        _assert_tick_finished_once(hub, app, store, result)
    assert len(set(workers)) == 2 and result["worker"] in workers


@pytest.mark.redis
@pytest.mark.postgres
def test_a_redelivered_task_that_meets_its_dead_runs_lock_waits_for_it_then_runs_the_tick(
    app: Celery, workers: list[str], pg_url: str, redis_url: str
) -> None:
    task_id = f"dead-{uuid.uuid4().hex}"
    with StateStore.open(pg_url) as store:
        # The task ran on a machine that died: its claim and its run's lock are still held,
        # and this host cannot see that the holder's process is gone.
        assert TickClaim(redis_url, store.url, JOB, TICK).take(task_id)
        dead = store.start_run(JOB, host="machine-that-died", pid=1)
        store.acquire_lock(JOB, run_id=dead, ttl_seconds=15, host="machine-that-died", pid=1)
        sent = app.send_task(TASK_NAME, kwargs={"job": JOB, "tick": TICK}, task_id=task_id)
        result = sent.get(timeout=RESULT_SECONDS)
        statuses = [r.status for r in store.last_runs(JOB, limit=20)]
    assert result["status"] == "ok", result
    # Each try that met the lock is on record; the dead run was marked interrupted.
    assert statuses[0] == "ok" and statuses[-1] == "interrupted"
    assert set(statuses[1:-1]) == {"locked"}


@pytest.mark.redis
@pytest.mark.postgres
def test_a_tick_whose_task_died_three_times_is_given_up_rather_than_run_again(
    app: Celery, workers: list[str], pg_url: str, redis_url: str
) -> None:
    task_id = f"poison-{uuid.uuid4().hex}"
    with StateStore.open(pg_url) as store:
        claim = TickClaim(redis_url, store.url, JOB, TICK)
        for _ in range(MAX_ATTEMPTS):  # three deliveries whose process died mid-run
            assert claim.take(task_id)
        sent = app.send_task(TASK_NAME, kwargs={"job": JOB, "tick": TICK}, task_id=task_id)
        result = sent.get(timeout=RESULT_SECONDS)
        copy = app.send_task(TASK_NAME, kwargs={"job": JOB, "tick": TICK}).get(
            timeout=RESULT_SECONDS
        )
        runs = store.last_runs(JOB, limit=20)
    assert result["status"] == "failed"
    assert "died mid-run 3 times" in result["message"]
    assert runs == []  # the fourth delivery did not start the job
    assert (copy["status"], copy["reason"]) == ("skipped", "tick already claimed")


def test_a_worker_whose_broker_is_unreachable_exits_4_at_once_saying_so(
    hub: Hub, tmp_path: Path
) -> None:
    env = {**os.environ, "REFSYNC_BROKER_URL": "redis://127.0.0.1:9/0"}  # discard: nothing there
    argv = [sys.executable, "-m", "sync", "worker", "--config", str(hub.root)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stderr[-2000:]
    assert "cannot reach the broker (Redis at 127.0.0.1:9, db 0)" in done.stderr
    assert "REFSYNC_BROKER_URL" in done.stderr
