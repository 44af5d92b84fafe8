"""Many rows through one driver statement, bound by the driver alone.

``conn.execute(statement, rows)`` runs every row's parameters through SQLAlchemy's compiled
parameter processing (~14 us a row of the write ledger and the crosswalk, more than the
database spends storing it). :func:`executemany` compiles the statement once for the
connection's dialect with named parameters and hands the rows to the DBAPI's
``executemany`` as they are: the same statement text and the same executions (so the same
statement counts), the same values stored.

The values that need a type's bind processing (a :class:`~sync.state._schema.UtcDateTime`
stored as naive UTC text on SQLite) are the ones shared by every row (``constants``); they
are processed once, by the column types themselves. A per-row column whose type processes
values on this dialect sends the rows the SQLAlchemy way instead, so nothing is ever bound
unprocessed. SQLite (named parameters) and PostgreSQL/psycopg (pyformat) take this path;
any other dialect the ordinary one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from sync.state._base import chunks

__all__ = ["executemany", "upsert_statement"]

_BATCH = 5000  # as StoreBase._upsert: the same number of executions
_NAMED: dict[type[Dialect], Dialect] = {}


def executemany(
    conn: Connection,
    statement: sa.Executable,
    constants: Mapping[str, Any],
    rows: Sequence[dict[str, Any]],
    *,
    batch: int = _BATCH,
) -> None:
    """Execute ``statement`` once per ``batch`` of ``rows`` (dicts of the per-row
    parameters), each row bound with ``constants`` (parameters shared by every row,
    unprocessed)."""
    if not rows:
        return
    compiled = _compile(conn.dialect, statement, [*constants, *rows[0]])
    shared = _bound(conn.dialect, compiled, constants, rows[0]) if compiled else None
    if compiled is None or shared is None:
        for part in chunks(rows, batch):
            conn.execute(statement, [{**constants, **row} for row in part])
        return
    sql = compiled.string
    for part in chunks(rows, batch):
        conn.exec_driver_sql(sql, [{**shared, **row} for row in part])


def upsert_statement(
    dialect: Dialect, table: sa.Table, columns: Sequence[str], keys: Sequence[str]
) -> sa.Executable:
    """INSERT ``columns`` ... ON CONFLICT (``keys``) DO UPDATE every other column, the
    statement :meth:`~sync.state._base.StoreBase._upsert` runs."""
    insert = (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(table)
    values = {c: insert.excluded[c] for c in columns if c not in keys}
    return insert.on_conflict_do_update(index_elements=list(keys), set_=values)


def _compile(dialect: Dialect, statement: sa.Executable, names: list[str]) -> Any:
    """``statement`` compiled with named parameters the driver binds from dicts, or None
    when the dialect's driver is not one this path knows."""
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        named = dialect  # pyformat: %(name)s
    elif dialect.name == "sqlite" and dialect.driver == "pysqlite":
        factory: Any = type(dialect)
        named = _NAMED.get(factory) or _NAMED.setdefault(factory, factory(paramstyle="named"))
    else:
        return None
    return statement.compile(dialect=named, column_keys=names)  # type: ignore[attr-defined]


def _bound(
    dialect: Dialect, compiled: Any, constants: Mapping[str, Any], sample: Mapping[str, Any]
) -> dict[str, Any] | None:
    """``constants`` processed by their column types; None when a per-row parameter's type
    would process values on this dialect (those rows go the SQLAlchemy way)."""
    if set(compiled.binds) != {*constants, *sample} or compiled.escaped_bind_names:
        return None  # the statement binds something else (a default, a literal): not ours
    shared: dict[str, Any] = {}
    for name, bind in compiled.binds.items():
        process = bind.type._cached_bind_processor(dialect)
        if name in constants:
            value = constants[name]
            shared[name] = value if process is None else process(value)
        elif process is not None:
            return None
    return shared
