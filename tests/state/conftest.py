"""Fixtures for the state store suite: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from sync.state import StateStore


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@contextmanager
def sqlite_instructions(store: StateStore) -> Iterator[list[int]]:
    """SQLite virtual machine instructions run inside the block, in hundreds (a count, not
    a time: the same whatever else the machine does)."""
    counted = [0]

    def tick() -> int:
        counted[0] += 100
        return 0

    def on_connect(dbapi_conn: sqlite3.Connection, record: Any) -> None:
        dbapi_conn.set_progress_handler(tick, 100)

    store.engine.dispose()
    sa.event.listen(store.engine, "connect", on_connect)
    try:
        yield counted
    finally:
        sa.event.remove(store.engine, "connect", on_connect)
        store.engine.dispose()


@pytest.fixture
def instructions() -> Callable[[StateStore], AbstractContextManager[list[int]]]:
    """``with instructions(store) as counted:`` counts SQLite's instructions in the block."""
    return sqlite_instructions


class StatementCounter:
    """Counts the statements (execute or executemany calls) an engine sends."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._on_execute)

    def count(self, verb: str | None = None) -> int:
        if verb is None:
            return len(self.statements)
        return sum(1 for s in self.statements if s.lstrip().upper().startswith(verb))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def store(state_url: str, clock: FrozenClock) -> Iterator[StateStore]:
    opened = StateStore.open(state_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def open_store(state_url: str, clock: FrozenClock) -> Iterator:
    """Opens further stores on the same database (each has its own connections)."""
    opened: list[StateStore] = []

    def _open() -> StateStore:
        opened.append(StateStore.open(state_url, clock=clock))
        return opened[-1]

    yield _open
    for s in opened:
        s.close()


@pytest.fixture
def statements(store: StateStore) -> StatementCounter:
    """``with statements: ...`` records every statement the store sends meanwhile."""
    return StatementCounter(store.engine)
