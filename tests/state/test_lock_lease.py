"""A dead worker's job lock lapses within one lease (60 s), well under the lock TTL (600 s):
a live run's lease thread keeps renewing it, a dead one's does not."""

from __future__ import annotations

import pytest

from mapping.errors import LockHeld, StateError
from sync.engine.lease import DEFAULT_LEASE_SECONDS, LeaseKeeper
from sync.engine.run import Engine
from sync.state import StateStore

JOB = "scheduling-to-crm"
TTL = 600


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _keeper(store: StateStore, run_id: int, ticks: Ticks) -> LeaseKeeper:
    return LeaseKeeper(
        lambda: store.heartbeat(JOB, run_id),
        lease_seconds=DEFAULT_LEASE_SECONDS,
        progress_ttl_seconds=TTL,
        monotonic=ticks,
    )


def test_another_machine_takes_over_a_dead_workers_lock_after_one_lease_not_the_ttl(
    store, open_store, clock
):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=DEFAULT_LEASE_SECONDS, host="node-a", pid=1)
    other = open_store()
    clock.advance(DEFAULT_LEASE_SECONDS - 1)
    with pytest.raises(LockHeld):
        other.acquire_lock(JOB, run_id=2, ttl_seconds=DEFAULT_LEASE_SECONDS, host="node-b", pid=2)
    clock.advance(2)  # node-a's worker died: nothing renewed its lease
    other.acquire_lock(JOB, run_id=2, ttl_seconds=DEFAULT_LEASE_SECONDS, host="node-b", pid=2)
    assert store.lock_holder(JOB).host == "node-b"
    assert DEFAULT_LEASE_SECONDS * 5 <= TTL  # "well under": a tenth of the TTL


def test_a_live_runs_lease_thread_keeps_its_lock_past_many_leases(store, open_store, clock):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=DEFAULT_LEASE_SECONDS, host="node-a", pid=1)
    ticks = Ticks()
    keeper = _keeper(store, 1, ticks)
    other = open_store()
    for _ in range(20):  # 20 renewals a quarter lease apart: 5 leases, progress meanwhile
        clock.advance(keeper.every)
        ticks.now += keeper.every
        keeper.progressed()
        assert keeper.tick() is True
        with pytest.raises(LockHeld):
            other.acquire_lock(JOB, run_id=2, ttl_seconds=60, host="node-b", pid=2)
    assert keeper.beats == 20


def test_a_run_without_progress_for_the_ttl_stops_renewing_and_loses_its_lock(
    store, open_store, clock
):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=DEFAULT_LEASE_SECONDS, host="node-a", pid=1)
    ticks = Ticks()
    keeper = _keeper(store, 1, ticks)
    beats = 0
    while ticks.now <= TTL:  # the run hangs: no page or batch finishes
        clock.advance(keeper.every)
        ticks.now += keeper.every
        keeper.tick()
        beats += 1
    assert keeper.stalled and keeper.beats < beats
    clock.advance(DEFAULT_LEASE_SECONDS + 1)
    open_store().acquire_lock(JOB, run_id=2, ttl_seconds=60, host="node-b", pid=2)
    assert keeper.tick() is True  # stalled: still not renewing
    keeper.progressed()  # it wakes up: its next renewal finds the lock taken
    assert keeper.tick() is False and keeper.lost


def test_a_state_database_hiccup_is_retried_on_the_next_tick(clock):
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise StateError("the state database did not answer")

    keeper = LeaseKeeper(flaky, lease_seconds=60, progress_ttl_seconds=TTL, monotonic=Ticks())
    assert keeper.tick() is True and keeper.beats == 0
    assert keeper.tick() is True and keeper.beats == 1


def test_the_lease_is_short_on_postgresql_and_the_ttl_on_sqlite(store):
    expected = DEFAULT_LEASE_SECONDS if store.dialect == "postgresql" else TTL
    assert Engine._default_lease(store, TTL) == expected
