"""Five jobs due at the same tick all run and release their locks (issue 11).

Opening a store used to open and close a descriptor on the live state.db, dropping the POSIX
locks of the other jobs' SQLite connections in the same process ("disk I/O error").
"""

from __future__ import annotations

from datetime import UTC, datetime

from sync.cli._common import engine_for
from sync.scheduler import Scheduler
from sync.state import StateStore
from tests.sync.conftest import Hub

JOBS = [f"job-{n}" for n in range(1, 6)]
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _five_jobs(data) -> None:
    template = dict(data["jobs"]["scheduling-to-crm"])
    data["jobs"].clear()
    for name in JOBS:
        data["jobs"][name] = {
            **template,
            "entities": ["referral"],
            "schedule": "* * * * *",
        }


def test_five_jobs_due_at_once_all_run_ok_and_leave_no_lock(hub: Hub) -> None:
    hub.edit_config(_five_jobs)
    failures: list[BaseException] = []

    def run_job(job: str) -> None:
        try:
            with engine_for(hub.root, None) as engine:
                engine.run(job)
        except BaseException as error:  # recorded, asserted below
            failures.append(error)

    for _ in range(3):
        sched = Scheduler({j: "* * * * *" for j in JOBS}, run_job, "UTC", lambda: T0)
        assert sorted(sched.tick()) == JOBS
        sched.join()
    assert failures == []
    store = StateStore.open(hub.state_url)
    try:
        for job in JOBS:
            assert [r.status for r in store.last_runs(job, limit=10)] == ["ok"] * 3, job
            assert store.lock_holder(job) is None, job
    finally:
        store.close()
