"""Timestamps in SQLite: stored as the UTC text SQLAlchemy's DATETIME writes (SQL compares
them as text, and older stores hold that format), read back timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from mapping.errors import StateError
from sync.state import StateStore, new_key

CHICAGO = timezone(timedelta(hours=-6))


def _open(tmp_path: Path, now: datetime) -> StateStore:
    return StateStore.open(
        f"sqlite:///{tmp_path / 'state.db'}", clock=lambda: now, keys=[new_key()]
    )


def _stored_text(store: StateStore, record_id: str) -> str:
    with store.engine.connect() as conn:
        query = sa.text("SELECT updated_at FROM records WHERE id = :id")
        return str(conn.execute(query, {"id": record_id}).scalar_one())


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 4, 12, 35, 33, 2115, tzinfo=UTC),
        datetime(2026, 12, 4, 6, 0, tzinfo=CHICAGO),  # no microseconds, not UTC
        datetime(987, 1, 2, 3, 4, 5, tzinfo=UTC),  # a year of three digits
    ],
)
def test_a_timestamp_is_stored_as_the_text_sqlalchemy_wrote_and_comes_back_in_utc(tmp_path, now):
    store = _open(tmp_path, now)
    try:
        store.put_records("partner", [("p-1", {"id": "p-1", "name": "Lakeside"}, False)])
        text = _stored_text(store, "p-1")
        back = store.get_record("partner", "p-1")
    finally:
        store.close()

    as_sqlalchemy = sqlite.DATETIME().bind_processor(sqlite.dialect())
    assert text == as_sqlalchemy(now.astimezone(UTC).replace(tzinfo=None))
    assert back is not None and back.updated_at == now and back.updated_at.tzinfo is UTC


def test_a_timestamp_written_with_an_offset_comes_back_as_the_same_instant_in_utc(tmp_path):
    store = _open(tmp_path, datetime(2026, 12, 4, tzinfo=UTC))
    try:
        store.put_records("partner", [("p-1", {"id": "p-1", "name": "Lakeside"}, False)])
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE records SET updated_at = '2026-12-04 06:00:00-06:00'"))
        back = store.get_record("partner", "p-1")
    finally:
        store.close()

    assert back is not None and back.updated_at == datetime(2026, 12, 4, 12, tzinfo=UTC)
    assert back.updated_at.tzinfo is UTC


def test_a_naive_timestamp_is_refused(tmp_path):
    store = _open(tmp_path, datetime(2026, 12, 4, 12))
    try:
        with pytest.raises(StateError, match="naive"):
            store.put_records("partner", [("p-1", {"id": "p-1", "name": "Lakeside"}, False)])
    finally:
        store.close()
