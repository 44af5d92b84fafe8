"""Opening a store never drops the POSIX locks another connection in this process holds.

Closing any descriptor on a file releases every fcntl lock the process holds on it, so the
state file must not be opened and closed by refsync itself once it exists (issue 11:
``refsync schedule`` with two jobs due at once failed with "disk I/O error").
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime

import sqlalchemy as sa

from sync.state import StateStore, _engine


def _clock() -> datetime:
    return datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_opening_a_second_store_while_a_connection_is_held_leaves_the_first_working(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = StateStore.open(url, clock=_clock)
    try:
        with first.session():
            first.put_records("partner", [("p1", {"name": "one"}, False)])
        # A connection of the first store holds its locks on the file (a read transaction).
        with first.engine.connect().execution_options(refsync_read_only=True) as held:  # noqa: SIM117
            with held.begin():
                held.execute(sa.text("SELECT count(*) FROM records")).scalar_one()
                second = StateStore.open(url, clock=_clock)
                try:
                    with second.session():
                        second.put_records("partner", [("p2", {"name": "two"}, False)])
                    assert held.execute(sa.text("SELECT count(*) FROM records")).scalar_one() == 1
                finally:
                    second.close()
        with first.session():
            first.put_records("partner", [("p3", {"name": "three"}, False)])
        with first.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM records")).scalar_one() == 3
    finally:
        first.close()


def test_an_existing_state_file_is_never_opened_by_refsync(tmp_path, monkeypatch):
    path = tmp_path / "state.db"
    StateStore.open(f"sqlite:///{path}", clock=_clock).close()
    opened: list[str] = []
    real_open = os.open

    def spy(file, *args, **kwargs):
        opened.append(os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(_engine.os, "open", spy)
    _engine._create_sqlite_file(str(path))
    assert str(path) not in opened


def test_a_new_state_file_is_created_private_and_no_temporary_is_left(tmp_path):
    path = tmp_path / "state.db"
    old_umask = os.umask(0o022)
    try:
        _engine._create_sqlite_file(str(path))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]
