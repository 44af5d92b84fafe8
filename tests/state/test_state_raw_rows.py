"""Ledger rows go to the driver in one executemany per batch, bound by the driver: the rows
stored are the ones SQLAlchemy's own parameter processing stores, in as many statements."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from sync.state import _schema
from sync.state._raw import executemany, upsert_statement
from sync.state._schema import UtcDateTime, crosswalk, write_ledger

KEY = ("destination", "entity", "canonical_id")


def _ledger(store, destination: str) -> list[tuple]:
    query = (
        sa.select(write_ledger)
        .where(write_ledger.c.destination == destination)
        .order_by(write_ledger.c.canonical_id)
    )
    with store._tx("read") as conn:
        return [tuple(row)[1:] for row in conn.execute(query)]


def _rows(n: int, tag: str) -> list[dict]:
    return [
        {
            "canonical_id": f"r{i}",
            "content_hash": f"{tag}{i}",
            "native_id": None if i % 3 else f"n{i}",
            "record_version": i if i % 2 else None,
            "mapping_fingerprint": "é😀" if i % 2 else None,
        }
        for i in range(n)
    ]


def test_driver_bound_rows_are_stored_as_sqlalchemy_stores_them_and_update_on_conflict(
    store, clock
) -> None:
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    for destination, raw in (("raw", True), ("orm", False)):
        for tag in ("a", "b"):  # the second pass updates every row in place
            constants = {"destination": destination, "entity": "referral", "written_at": at}
            constants["run_id"] = 7
            rows = _rows(120, tag)
            with store._tx("write") as conn:
                statement = upsert_statement(
                    conn.dialect, write_ledger, [*constants, *rows[0]], KEY
                )
                if raw:
                    executemany(conn, statement, constants, rows)
                else:
                    conn.execute(statement, [{**constants, **row} for row in rows])
    assert _ledger(store, "raw") == _ledger(store, "orm")
    assert _ledger(store, "raw")[0][1:4] == ("r0", "b0", "n0")
    assert len(_ledger(store, "raw")) == 120


def test_the_shared_timestamp_is_processed_once_not_once_per_row(store, monkeypatch) -> None:
    calls = []
    original = UtcDateTime.process_bind_param

    def counted(self, value, dialect):
        calls.append(value)
        return original(self, value, dialect)

    def counted_text(value):
        calls.append(value)
        return sqlite_text(value)

    # PostgreSQL binds through process_bind_param; SQLite through its own text function
    sqlite_text = _schema._sqlite_text
    monkeypatch.setattr(UtcDateTime, "process_bind_param", counted)
    monkeypatch.setattr(_schema, "_sqlite_text", counted_text)
    rows = [(f"r{n}", f"h{n}", f"n{n}", n) for n in range(6000)]
    store.record_writes("hubspot", "referral", rows, run_id=1, fingerprint="f")
    assert len(calls) == 1
    assert len(store.ledger_hashes("hubspot", "referral", [f"r{n}" for n in range(6000)])) == 6000


def test_a_per_row_value_that_needs_processing_goes_the_sqlalchemy_way(store) -> None:
    moments = [datetime(2026, 3, 1, h, tzinfo=UTC) for h in range(3)]
    rows = [
        {"canonical_id": f"r{h}", "content_hash": "h", "written_at": at}
        for h, at in enumerate(moments)
    ]
    constants = {"destination": "d", "entity": "referral"}
    with store._tx("write") as conn:
        statement = upsert_statement(conn.dialect, write_ledger, [*constants, *rows[0]], KEY)
        executemany(conn, statement, constants, rows)
    assert [row[4] for row in _ledger(store, "d")] == moments


@pytest.mark.parametrize("n", [0, 4999, 5000, 5001, 12000])
def test_rows_go_in_one_statement_per_batch_of_five_thousand(store, statements, n) -> None:
    rows = [(f"r{i}", f"h{i}", None) for i in range(n)]
    with statements:
        store.record_writes("hubspot", "referral", rows, run_id=1)
    assert statements.count("INSERT") == -(-n // 5000)


def test_first_links_are_inserted_without_a_delete_and_a_relink_deletes_only_its_own_row(
    store, statements
) -> None:
    with statements:
        store.link_many("referral", "hubspot", [(f"r{n}", f"n{n}") for n in range(6000)])
    assert (statements.count("DELETE"), statements.count("INSERT")) == (0, 1)
    with statements:
        store.link_many("referral", "hubspot", [("r1", "m1"), ("r2", "n2"), ("new", "m2")])
    assert (statements.count("DELETE"), statements.count("INSERT")) == (1, 2)  # counts add up
    found = store.native_ids_for("referral", "hubspot", ["r0", "r1", "r2", "new", "r5999"])
    assert found == {"r0": "n0", "r1": "m1", "r2": "n2", "new": "m2", "r5999": "n5999"}


def test_linked_rows_carry_the_link_time_as_sqlalchemy_writes_it(store, clock) -> None:
    store.link_many("partner", "salesforce", [("p1", "a1")])
    with store._tx("read") as conn:
        (row,) = conn.execute(sa.select(crosswalk)).all()
    assert tuple(row) == ("partner", "salesforce", "p1", "a1", clock.now)
