"""Live records are counted as they change, on SQLite and PostgreSQL: the count is what a
count over the records gives after any inserts, edits, deletions and revivals, from any
number of stores at once, and asking it costs a row, not a scan of the records."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.state import StateStore
from sync.state._engine import _alembic_config

_IDS = [f"r{n:02d}" for n in range(10)]
_fresh = itertools.count()

_item = st.tuples(st.sampled_from(_IDS), st.sampled_from([{"a": 1}, {"a": 2}]), st.booleans())


def _counted(store: StateStore, entity: str) -> int:
    """The live records of ``entity``, counted over the records themselves."""
    with store.engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM records WHERE entity = :e AND NOT tombstone")
        return int(conn.execute(query, {"e": entity}).scalar_one())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.lists(_item, max_size=6), min_size=1, max_size=8))
def test_the_count_is_a_count_over_the_records_after_any_puts(
    store: StateStore, steps: list[list[tuple[str, dict[str, int], bool]]]
) -> None:
    entity = f"referral{next(_fresh)}"  # a fresh entity per example: the store is shared
    for items in steps:
        store.put_records(entity, items)
        store.put_records("partner", items[:2])  # another entity alongside
        assert store.count_records(entity) == _counted(store, entity)
        assert store.count_records("partner") == _counted(store, "partner")
    assert store.count_records("nothing stored") == 0


def test_a_put_read_beforehand_counts_the_tombstones_it_revives(store: StateStore) -> None:
    store.put_records("referral", [("r1", {"a": 1}, True), ("r2", {"a": 1}, False)])
    read = store.get_records("referral", ["r1", "r2"])
    store.put_records("referral", [("r1", {"a": 1}, False), ("r2", {"a": 2}, True)], read=read)
    assert store.count_records("referral") == 1 == _counted(store, "referral")


def test_stores_putting_at_once_leave_the_count_of_every_record(
    open_store: Callable[[], StateStore],
) -> None:
    stores = [open_store() for _ in range(3)]

    def put(k: int, store: StateStore) -> None:
        for batch in range(15):
            ids = [f"s{k}-{batch}-{n}" for n in range(4)]
            store.put_records("referral", [(i, {"k": k}, False) for i in ids])
            store.put_records("referral", [(ids[0], {"k": k}, True)])  # one deleted again

    threads = [threading.Thread(target=put, args=(k, s)) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stores[0].count_records("referral") == 3 * 15 * 3 == _counted(stores[0], "referral")


def test_a_store_at_the_earlier_revision_gets_the_count_of_the_records_it_holds(
    state_url: str, clock: Any
) -> None:
    engine = sa.create_engine(state_url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0007_referrer_tallies")
        rows = [("referral", f"r{n}", n % 4 == 0) for n in range(10)] + [("partner", "p1", False)]
        for entity, rid, tombstone in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO records (entity, id, data, version, tombstone, updated_at)"
                    " VALUES (:e, :i, '{}', 1, :t, '2026-03-01 12:00:00')"
                ),
                {"e": entity, "i": rid, "t": tombstone},
            )
    engine.dispose()
    store = StateStore.open(state_url, clock=clock)
    try:
        assert store.count_records("referral") == 7
        assert store.count_records("partner") == 1
        store.put_records("referral", [("r0", {}, False), ("r1", {}, True)])  # kept from here
        assert store.count_records("referral") == 7 == _counted(store, "referral")
    finally:
        store.close()


def _instructions_to_count(tmp_path: Any, clock: Any, instructions: Any, n: int) -> int:
    store = StateStore.open(f"sqlite:///{tmp_path / f'{n}.db'}", clock=clock)
    try:
        store.put_records("referral", [(f"r{i:06d}", {"i": i}, i % 10 == 0) for i in range(n)])
        with instructions(store) as counted:
            assert store.count_records("referral") == n - n // 10
        return counted[0]
    finally:
        store.close()


def test_counting_costs_the_same_among_300_or_30000_records(
    tmp_path: Any, clock: Any, instructions: Any
) -> None:
    """SQLite virtual machine instructions (a count, not a time): a count over the records
    would cost 100 times more among 30,000."""
    small = _instructions_to_count(tmp_path, clock, instructions, 300)
    large = _instructions_to_count(tmp_path, clock, instructions, 30_000)
    assert large <= small + 100
