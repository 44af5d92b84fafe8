"""Write marks and the records a destination lacks among those changed since a time, on SQLite
and PostgreSQL: what a write pass is kept to between runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sync.engine.write_scope import leave_mark, write_scope
from sync.state import StateStore, WriteMark
from sync.state._ledger import LedgerWrite


def _since(store: StateStore, since: Any, *, tombstones: bool = False, fp: str = "f1") -> list[str]:
    return store.to_write_since(
        "crm", "referral", fp, include_tombstones=tombstones, since=since, written_since=since
    )


def _ack(store: StateStore, *ids: str, fp: str = "f1", dest: str = "crm") -> None:
    versions = {r.id: r.version for r in store.get_records("referral", ids).values()}
    writes = [LedgerWrite(i, f"h-{i}", f"n-{i}", versions[i]) for i in ids]
    store.record_writes(dest, "referral", writes, None, fingerprint=fp)


def test_a_write_mark_is_kept_per_job_destination_and_entity_with_its_retries(
    store: StateStore, clock: Any
) -> None:
    assert store.write_mark("j", "crm", "referral") is None
    mark = WriteMark(clock.now, clock.now, "f" * 64, frozenset({"r2", "r1"}))
    store.set_write_mark("j", "crm", "referral", mark)
    store.set_write_mark("k", "crm", "referral", WriteMark(clock.now, clock.now, "0" * 64))
    assert store.write_mark("j", "crm", "referral") == mark
    assert store.write_mark("j", "crm", "partner") is None
    assert store.write_mark("j", "other", "referral") is None
    later = clock.now + timedelta(hours=1)
    replaced = WriteMark(later, clock.now, "f" * 64, frozenset({"r3"}))
    store.set_write_mark("j", "crm", "referral", replaced)
    assert store.write_mark("j", "crm", "referral") == replaced
    store.set_write_mark("j", "crm", "referral", None)
    assert store.write_mark("j", "crm", "referral") is None
    assert store.write_mark("k", "crm", "referral") == WriteMark(clock.now, clock.now, "0" * 64)


def test_records_a_destination_lacks_are_found_among_those_stored_since_a_time(
    store: StateStore, clock: Any
) -> None:
    store.put_records("referral", [(f"r{n}", {"n": n}, False) for n in range(6)])
    _ack(store, "r0", "r1", "r2", "r3", "r4", "r5")
    clock.advance(3600)
    mark = clock.now
    store.put_records("referral", [("r1", {"n": 10}, False), ("r3", {"n": 3}, True)])
    store.put_records("referral", [("r9", {"n": 9}, False)])
    store.put_records("referral", [("r2", {"n": 20}, False)])
    _ack(store, "r2")  # stored since and written again: the destination has it
    assert _since(store, mark) == ["r1", "r9"]
    assert _since(store, mark, tombstones=True) == ["r1", "r3", "r9"]  # it holds r3 still
    assert _since(store, mark + timedelta(seconds=1)) == []


def test_records_whose_ledger_row_changed_since_a_time_are_found_too(
    store: StateStore, clock: Any
) -> None:
    store.put_records("referral", [(f"r{n}", {"n": n}, False) for n in range(4)])
    _ack(store, "r0", "r1", "r2", "r3")
    clock.advance(3600)
    mark = clock.now
    _ack(store, "r1", fp="f2")  # another mapping wrote it: no longer as f1 shapes it
    _ack(store, "r2", dest="elsewhere", fp="f2")  # another destination: no matter
    _ack(store, "r3")  # written again as f1 shapes it: still acknowledged
    assert _since(store, mark) == ["r1"]
    assert _since(store, mark, fp="f2") == ["r3"]  # f2 wrote r1; r0 and r2 changed before


@pytest.mark.postgres
def test_a_change_in_flight_while_a_pass_begins_is_looked_at_by_the_next_pass(
    pg_url: str, clock: Any
) -> None:
    # PostgreSQL: two writers at once. A change is stamped, another process commits a later
    # one, a pass begins and reads; only then does the first change commit.
    store, other = (StateStore.open(pg_url, clock=clock) for _ in range(2))
    store.put_records("referral", [(f"r{n}", {"n": n}, False) for n in range(4)])
    _ack(store, "r0", "r1", "r2", "r3")
    clock.advance(3600)
    scope = write_scope(store, "j", "crm", "referral", "f1", False, live=4)
    leave_mark(store, scope, ())
    clock.advance(3600)
    with store.session():
        store.put_records("referral", [("r1", {"n": 10}, False)])  # stamped now, in flight
        clock.advance(30)
        other.put_records("referral", [("r2", {"n": 20}, False)])  # committed, stamped later
        _ack(other, "r2")
        clock.advance(30)
        began = write_scope(other, "j", "crm", "referral", "f1", False, live=4)
        assert began.among == []  # r2 is acknowledged; r1 is not visible yet
        leave_mark(other, began, ())
    clock.advance(3600)
    assert write_scope(other, "j", "crm", "referral", "f1", False, live=4).among == ["r1"]
