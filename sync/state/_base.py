"""Plumbing shared by the store's parts: transactions, chunking, dialect-neutral upserts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from mapping.errors import StateError
from sync.state._engine import translate_errors

__all__ = ["CHUNK", "StoreBase", "chunks"]

# SQLite allows 999 bound variables per statement on old builds: IN lists stay below that.
CHUNK = 500

T = TypeVar("T")


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class StoreBase:
    """Engine, clock and the per-thread "current session" every part of the store uses.

    A method called inside ``store.session()`` joins that transaction; called outside, it
    runs in a short transaction of its own.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock
        self._local = threading.local()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise StateError("the state store's clock returned a naive datetime; make it UTC-aware")
        return now

    def _stamp(
        self, conn: Connection, column: sa.ColumnElement[Any], where: sa.ColumnElement[bool]
    ) -> datetime:
        """The time to stamp on rows changed now: the clock, or the latest stamp already
        on the rows ``where`` selects when the clock is behind it. Stamps never go back, so
        a process with a slow clock cannot change a row "before" a mark another process
        left (write marks and people marks list the rows stamped since); one indexed
        lookup."""
        now = self._now()
        latest = self._latest(conn, column, where)
        return latest if latest is not None and latest > now else now

    @staticmethod
    def _latest(
        conn: Connection, column: sa.ColumnElement[Any], where: sa.ColumnElement[bool]
    ) -> datetime | None:
        """The latest stamp in ``column`` on the rows ``where`` selects (an indexed max)."""
        latest: datetime | None = conn.execute(sa.select(sa.func.max(column)).where(where)).scalar()
        return latest

    def _current(self) -> Connection | None:
        return getattr(self._local, "conn", None)

    @contextmanager
    def _transaction(self, operation: str, *, read_only: bool = False) -> Iterator[Connection]:
        """A fresh transaction on its own connection, committed on success."""
        with translate_errors(self._engine.url, operation), self._engine.connect() as conn:
            if read_only:
                conn = conn.execution_options(refsync_read_only=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _tx(self, operation: str, *, read_only: bool = False) -> Iterator[Connection]:
        """The current session's connection, or a short transaction of its own."""
        current = self._current()
        if current is not None:
            with translate_errors(self._engine.url, operation):
                yield current
            return
        with self._transaction(operation, read_only=read_only) as conn:
            yield conn

    @contextmanager
    def _independent_tx(self, operation: str) -> Iterator[Connection]:
        """A transaction that commits at once whatever session is open (locks, runs).

        Refused inside a session: on SQLite the session already holds the write lock, so a
        second writer would wait on ourselves; on PostgreSQL the outcome would differ from
        SQLite. Call these methods between sessions.
        """
        if self._current() is not None:
            raise StateError(
                f"cannot {operation} inside store.session(); call it before or after the session "
                "(locks and run records commit on their own)"
            )
        with self._transaction(operation) as conn:
            yield conn

    def _in(self, column: sa.ColumnElement[Any], values: list[Any]) -> sa.ColumnElement[bool]:
        """``column IN (values)``; on PostgreSQL ``column = ANY(:array)`` instead.

        PostgreSQL plans a long list of cast parameters badly (it filters every row of the
        entity against it, seconds per query at 100k rows); one array parameter uses the
        index whatever the table statistics say.
        """
        if self.dialect == "postgresql":
            return column == sa.any_(
                sa.bindparam(None, values, type_=postgresql.ARRAY(column.type), expanding=False)
            )
        return column.in_(values)

    def _upsert(
        self,
        conn: Connection,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        *,
        keys: Sequence[str],
        update: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        """INSERT ... ON CONFLICT (keys) DO UPDATE, as one executemany per chunk.

        ``update(excluded)`` returns column -> expression; by default every non-key column
        takes the new value. Callers de-duplicate ``rows`` on ``keys`` first.
        """
        if not rows:
            return
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)
        excluded = insert.excluded
        if update is None:
            values = {c: excluded[c] for c in rows[0] if c not in keys}
        else:
            values = update(excluded)
        statement = insert.on_conflict_do_update(index_elements=list(keys), set_=values)
        for batch in chunks(rows, 5000):
            conn.execute(statement, batch)

    def _insert_ignore(self, conn: Connection, table: sa.Table, row: dict[str, Any]) -> int:
        """INSERT ... ON CONFLICT DO NOTHING; the number of rows inserted (0 or 1)."""
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)
        return conn.execute(insert.on_conflict_do_nothing(), row).rowcount
