"""Job locks: held across connections, stale ones taken over by exactly one contender."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from mapping.errors import LockHeld, StateError

JOB = "scheduling-to-crm"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_second_acquirer_gets_lock_held_naming_the_holder(store, open_store, clock):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=300, host="worker-1", pid=os.getpid())
    other = open_store()
    with pytest.raises(LockHeld) as caught:
        other.acquire_lock(JOB, run_id=2, ttl_seconds=300, host="worker-2", pid=4242)
    message = str(caught.value)
    assert "run 1 on host worker-1" in message
    assert f"pid {os.getpid()}" in message
    assert clock.now.isoformat() in message
    assert caught.value.holder.startswith("run 1 on host worker-1")
    assert caught.value.exit_code == 4


def test_locks_of_different_jobs_do_not_interfere(store):
    store.acquire_lock("job-a", run_id=1, ttl_seconds=300, host="h", pid=os.getpid())
    store.acquire_lock("job-b", run_id=2, ttl_seconds=300, host="h", pid=os.getpid())
    assert store.lock_holder("job-a").run_id == 1
    assert store.lock_holder("job-b").run_id == 2


def test_a_released_lock_can_be_taken_by_the_next_run(store):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=300, host="h", pid=os.getpid())
    assert store.release_lock(JOB, 1) is True
    assert store.release_lock(JOB, 1) is False
    store.acquire_lock(JOB, run_id=2, ttl_seconds=300, host="h", pid=os.getpid())
    assert store.lock_holder(JOB).run_id == 2


def test_releasing_a_lock_held_by_another_run_does_nothing(store):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=300, host="h", pid=os.getpid())
    assert store.release_lock(JOB, 2) is False
    assert store.lock_holder(JOB).run_id == 1


def test_an_expired_lock_is_taken_over(store, open_store, clock):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=60, host="worker-1", pid=os.getpid())
    clock.advance(59)
    with pytest.raises(LockHeld):
        store.acquire_lock(JOB, run_id=2, ttl_seconds=60, host="worker-2", pid=1)
    clock.advance(2)
    open_store().acquire_lock(JOB, run_id=2, ttl_seconds=60, host="worker-2", pid=1)
    holder = store.lock_holder(JOB)
    assert (holder.run_id, holder.host, holder.acquired_at) == (2, "worker-2", clock.now)


def test_a_lock_whose_process_died_on_this_host_is_taken_over_before_it_expires(store):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=3600, host="this-host", pid=_dead_pid())
    store.acquire_lock(JOB, run_id=2, ttl_seconds=3600, host="this-host", pid=os.getpid())
    assert store.lock_holder(JOB).run_id == 2


def test_a_dead_pid_on_another_host_says_nothing_so_the_lock_holds_until_it_expires(store):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=3600, host="other-host", pid=_dead_pid())
    with pytest.raises(LockHeld, match="other-host"):
        store.acquire_lock(JOB, run_id=2, ttl_seconds=3600, host="this-host", pid=os.getpid())


def test_a_live_pid_on_this_host_keeps_its_lock(store):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=3600, host="this-host", pid=os.getpid())
    with pytest.raises(LockHeld):
        store.acquire_lock(JOB, run_id=2, ttl_seconds=3600, host="this-host", pid=os.getpid())


def test_heartbeats_keep_a_lock_alive_past_its_first_ttl(store, clock):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=60, host="w1", pid=os.getpid())
    for _ in range(3):
        clock.advance(50)
        store.heartbeat(JOB, 1)
    assert store.lock_holder(JOB).heartbeat_at == clock.now
    # 150 s after acquiring, well past the first 60 s ttl, the lock still holds.
    with pytest.raises(LockHeld):
        store.acquire_lock(JOB, run_id=2, ttl_seconds=60, host="w2", pid=1)
    assert (store.lock_holder(JOB).expires_at - clock.now).total_seconds() == 60


def test_a_run_that_lost_its_lock_learns_it_at_the_next_heartbeat(store, clock):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=60, host="w1", pid=os.getpid())
    clock.advance(120)
    store.acquire_lock(JOB, run_id=2, ttl_seconds=60, host="w2", pid=1)
    with pytest.raises(LockHeld, match=r"run 1 lost the lock .* run 2 on host w2"):
        store.heartbeat(JOB, 1)
    assert store.lock_holder(JOB).run_id == 2


def test_reacquiring_a_lock_the_run_already_holds_refreshes_it(store, clock):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=60, host="w1", pid=os.getpid())
    clock.advance(30)
    store.acquire_lock(JOB, run_id=1, ttl_seconds=60, host="w1", pid=os.getpid())
    assert (store.lock_holder(JOB).expires_at - clock.now).total_seconds() == 60


def test_breaking_a_lock_removes_it_whoever_holds_it(store):
    store.acquire_lock(JOB, run_id=1, ttl_seconds=60, host="w1", pid=os.getpid())
    assert store.break_lock(JOB).run_id == 1
    assert store.lock_holder(JOB) is None


def test_lock_methods_are_refused_inside_a_session(store):
    with store.session(), pytest.raises(StateError, match=r"inside store\.session"):
        store.acquire_lock(JOB, run_id=1, ttl_seconds=60, host="w1", pid=1)


def test_racing_for_a_free_lock_exactly_one_contender_wins(open_store):
    _race(open_store, contenders=4)


def test_racing_for_a_stale_lock_exactly_one_contender_wins(store, open_store, clock):
    store.acquire_lock(JOB, run_id=99, ttl_seconds=10, host="gone", pid=1)
    clock.advance(11)
    winner = _race(open_store, contenders=4)
    assert store.lock_holder(JOB).run_id == winner


def test_two_contenders_that_both_saw_the_same_stale_lock_cannot_both_take_it(
    store, open_store, clock
):
    # Force the worst interleaving: both read the stale row, then both try to replace it.
    store.acquire_lock(JOB, run_id=99, ttl_seconds=10, host="gone", pid=1)
    clock.advance(11)
    first, second = open_store(), open_store()
    with first._transaction("read") as conn:
        seen_by_first = first._holder(conn, JOB)
    with second._transaction("read") as conn:
        seen_by_second = second._holder(conn, JOB)
    assert seen_by_first == seen_by_second
    row = {
        "host": "h",
        "pid": 1,
        "ttl_seconds": 10,
        "acquired_at": clock.now,
        "heartbeat_at": clock.now,
        "expires_at": clock.now,
    }
    with first._transaction("take") as conn:
        assert first._take_over(conn, seen_by_first, {**row, "run_id": 1}) is True
    with second._transaction("take") as conn:
        assert second._take_over(conn, seen_by_second, {**row, "run_id": 2}) is False
    assert store.lock_holder(JOB).run_id == 1


def _race(open_store, *, contenders: int) -> int:
    """Each contender has its own store (own connections); returns the winning run id."""
    stores = [open_store() for _ in range(contenders)]
    barrier = threading.Barrier(contenders)
    won, refused, crashed = [], [], []

    def _contend(run_id: int) -> None:
        barrier.wait()
        try:
            stores[run_id - 1].acquire_lock(
                JOB, run_id=run_id, ttl_seconds=300, host=f"host-{run_id}", pid=run_id
            )
            won.append(run_id)
        except LockHeld:
            refused.append(run_id)
        except Exception as exc:
            crashed.append(exc)

    threads = [threading.Thread(target=_contend, args=(n,)) for n in range(1, contenders + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert crashed == []
    assert len(won) == 1, won
    assert len(refused) == contenders - 1
    return won[0]


def _contend_in_a_process(url: str, run_id: int, barrier, results) -> None:
    from sync.state import StateStore

    store = StateStore.open(url)
    barrier.wait(timeout=60)
    try:
        store.acquire_lock(
            JOB, run_id=run_id, ttl_seconds=300, host=f"proc-{run_id}", pid=os.getpid()
        )
        results.put(("won", run_id))
    except LockHeld:
        results.put(("refused", run_id))
    except Exception as exc:
        results.put(("crashed", repr(exc)))
    finally:
        store.close()


def test_two_processes_racing_for_a_stale_lock_exactly_one_wins(store, state_url, clock):
    import multiprocessing
    from datetime import UTC, datetime

    # Taken in 2000: to the children, which use the real clock, long expired.
    clock.now = datetime(2000, 1, 1, tzinfo=UTC)
    store.acquire_lock(JOB, run_id=99, ttl_seconds=10, host="gone", pid=1)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_contend_in_a_process, args=(state_url, run_id, barrier, results))
        for run_id in (1, 2)
    ]
    for p in procs:
        p.start()
    outcomes = sorted(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert [o[0] for o in outcomes] == ["refused", "won"], outcomes
    winner = next(run_id for kind, run_id in outcomes if kind == "won")
    assert store.lock_holder(JOB).run_id == winner
