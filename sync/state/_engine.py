"""Engines, URLs, error translation and migrations of the state store."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

from mapping.errors import StateError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD_REVISION",
    "create_state_engine",
    "json_loads",
    "migrate",
    "plain_json",
    "redact_url",
    "translate_errors",
]

_SCRIPT_LOCATION = "sync.state:migrations"
HEAD_REVISION = "0008_record_counts"
"""The newest migration's revision (a test checks that alembic finds the same head): a
store already there opens without alembic, whose import (with mako's and pygments') and
script scan cost every run about a tenth of a second of CPU."""
# Seconds a SQLite writer waits for another process's write lock before failing.
_SQLITE_BUSY_SECONDS = 30
# Only connection-level failures have messages free of values; integrity/data errors may
# quote a key or a parameter, so for those only the error class is reported.
_SAFE_DETAIL = (exc.OperationalError, exc.InterfaceError)


class _NotJson(TypeError):
    """A value handed to a JSON column is not plain JSON."""


def _json_dumps(value: Any) -> str:
    """JSON text for a JSON column: orjson for plain JSON values (several times json's speed
    on a record), json's way for anything else, which refuses what is not JSON: NaN and
    infinities, datetimes, enums, UUIDs (orjson would write them) and other objects."""
    if plain_json((value,)):
        try:
            return orjson.dumps(value, option=_ORJSON).decode()
        except orjson.JSONEncodeError:  # an int past 64 bits, a lone surrogate, a non-text key
            pass
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise _NotJson(str(error)) from error


# Subclasses (a StrEnum), datetimes and dataclasses reach no default and raise: json decides.
_ORJSON = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def plain_json(values: Iterable[Any], *, as_json_spells: bool = False) -> bool:
    """Whether ``values`` hold only exact JSON types and finite floats, so orjson can write
    them (a loop over each container, not a call per value: this runs for every record).

    ``as_json_spells``: also only floats orjson spells as ``json.dumps`` does (not below
    1e-4 but zero: ``1e-05`` against ``0.00001``), for text that must equal json's byte
    for byte (the write ledger's hash). A dict key that is not text needs no check: orjson
    refuses it, and the caller falls back to json.
    """
    for value in values:
        kind = type(value)
        if kind is str or value is None or kind is int or kind is bool:
            continue
        if kind is float:
            if -math.inf < value < math.inf and (
                not as_json_spells or value == 0.0 or abs(value) >= 1e-4
            ):
                continue
            return False
        if kind is dict:
            if plain_json(value.values(), as_json_spells=as_json_spells):
                continue
            return False
        if (kind is list or kind is tuple) and plain_json(value, as_json_spells=as_json_spells):
            continue
        return False
    return True


def json_loads(text: str | bytes) -> Any:
    """JSON text as Python data: orjson (several times json's speed on the records a run
    reads back), json for what orjson refuses (integers past 64 bits, NaN)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def redact_url(url: str | URL) -> str:
    """The URL as text with any password replaced by ``***``."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable state URL>"


def _describe(error: exc.SQLAlchemyError) -> str:
    orig = getattr(error, "orig", None)
    if orig is None:
        return type(error).__name__
    # SQLite's own reasons for a damaged file ("file is not a database", "database disk image
    # is malformed") are sqlite3.DatabaseError itself, never a subclass quoting values.
    safe_sqlite = type(orig) is sqlite3.DatabaseError
    if safe_sqlite or isinstance(error, _SAFE_DETAIL) or isinstance(orig, TypeError | ValueError):
        first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
        return f"{type(orig).__name__}: {first_line}"
    return type(orig).__name__


@contextmanager
def translate_errors(url: str | URL, operation: str) -> Iterator[None]:
    """Turn SQLAlchemy errors into :class:`StateError` naming the store and the operation.

    Parameters and SQL text are never quoted: they may carry record values.
    """
    try:
        yield
    except _NotJson as error:
        raise _not_json(url, operation, error) from error
    except exc.SQLAlchemyError as error:
        orig = getattr(error, "orig", None)
        if isinstance(orig, _NotJson):
            raise _not_json(url, operation, orig) from error
        raise StateError(
            f"state store {redact_url(url)} failed to {operation}: {_describe(error)}. "
            f"{_advice(orig)}"
        ) from error


_DAMAGED = ("file is not a database", "malformed", "disk image")


def _advice(orig: object) -> str:
    if isinstance(orig, sqlite3.DatabaseError) and any(d in str(orig) for d in _DAMAGED):
        return (
            "The state file is damaged or is not a refsync state: run `refsync state check`, "
            "then `refsync state restore BACKUP`, or move the file aside to start over (the "
            "next run then re-reads every source and matches destination records by key)."
        )
    return "Check that the database is reachable and writable (state.url / REFSYNC_STATE_URL)."


def _not_json(url: str | URL, operation: str, error: BaseException) -> StateError:
    return StateError(
        f"state store {redact_url(url)} could not {operation}: a value is not plain JSON "
        f"({error}); pass model.model_dump(mode='json') and ISO-8601 text for timestamps"
    )


def _normalise(url: str) -> URL:
    try:
        parsed = sa.make_url(url)
    except exc.ArgumentError as error:
        raise StateError(
            f"state URL {url!r} is not a database URL; use sqlite:///path/state.db "
            "or postgresql+psycopg://user@host/db"
        ) from error
    if parsed.drivername in ("postgresql", "postgres"):
        # psycopg (3) is the driver we ship; SQLAlchemy's default for postgresql:// is psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StateError(
            f"state URL {redact_url(parsed)} uses {parsed.get_backend_name()!r}; "
            "refsync supports sqlite and postgresql"
        )
    return parsed


def _create_sqlite_file(database: str) -> None:
    """Create the SQLite file with mode 0600 before SQLite does (it would use 0644).

    An existing file is left alone and never opened here: closing any descriptor on a file
    drops every POSIX (fcntl) lock this process holds on it, including those of another
    SQLite connection to the same database (another store, another job in
    ``refsync schedule``), which then fails with "disk I/O error".
    """
    path = Path(database)
    if not path.parent.is_dir():
        raise StateError(
            f"state directory {path.parent} does not exist; create it or set state.url"
        )
    if path.exists():
        return
    # The descriptor is opened and closed on a private temporary name (mkstemp: mode 0600),
    # then the finished file is linked into place: no descriptor is ever closed on `path`
    # itself, even when another thread's connection opens the new database at that moment.
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    except OSError as error:
        raise StateError(
            f"cannot create state file {path}: {error.strerror}; check the directory's permissions"
        ) from error
    os.close(fd)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another opener created it first; it is theirs to set up
    except OSError:
        # No hard links on this filesystem: create it in place, only if still absent.
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass
        except OSError as error:
            raise StateError(
                f"cannot create state file {path}: {error.strerror}; "
                "check the directory's permissions"
            ) from error
    finally:
        os.unlink(temporary)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory:
        _create_sqlite_file(database)
    options: dict[str, Any] = {"connect_args": {"timeout": _SQLITE_BUSY_SECONDS}}
    if in_memory:
        # One shared connection, or every pool checkout would see a new empty database.
        options = {"connect_args": {"check_same_thread": False}, "poolclass": StaticPool}
    engine = sa.create_engine(
        url, json_serializer=_json_dumps, json_deserializer=json_loads, **options
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN (below) instead of the sqlite3 module's legacy mode.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # What SQLite frees (an old row version, a deleted record, a dropped page) is zeroed,
        # not left in free pages a copied file would still show.
        cursor.execute("PRAGMA secure_delete=ON")
        if not in_memory:
            _set_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: no lock-upgrade deadlocks between processes,
        # and check-then-write sequences (lock takeover) are serialised.
        mode = "DEFERRED" if conn.get_execution_options().get("refsync_read_only") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _set_wal(cursor: Any) -> None:
    """Switch to WAL, waiting out a concurrent opener.

    Changing the journal mode needs the database to itself, and SQLite answers "database is
    locked" at once instead of calling the busy handler when another process is migrating a
    fresh file; the mode persists in the file, so once any opener has set it this is a no-op.
    """
    deadline = time.monotonic() + _SQLITE_BUSY_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def create_state_engine(url: str) -> Engine:
    """An engine for a ``sqlite:///path`` or ``postgresql+psycopg://`` URL."""
    parsed = _normalise(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    with translate_errors(parsed, "create the database engine"):
        # No server-side prepared statements: after five runs psycopg would prepare a query
        # and PostgreSQL would switch to a generic plan, which cannot hash a `= ANY(array)`
        # filter (100x slower lookups at 100k rows).
        return sa.create_engine(
            parsed,
            pool_pre_ping=True,
            json_serializer=_json_dumps,
            json_deserializer=json_loads,
            connect_args={"prepare_threshold": None},
        )


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def _at_head(engine: Engine) -> bool:
    """Whether the store's schema is at :data:`HEAD_REVISION` (False when it has no version
    table yet). A store that cannot be reached fails here, as :func:`migrate` would."""
    with translate_errors(engine.url, "migrate its schema"), engine.connect() as conn:
        try:
            found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        except exc.DBAPIError:  # a new store: no version table yet
            return False
    return found == [(HEAD_REVISION,)]


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe when processes race to do it.

    PostgreSQL: a transaction-scoped advisory lock keyed on the current schema serialises
    concurrent upgraders, and the DDL commits atomically with the version row. SQLite:
    ``BEGIN IMMEDIATE`` serialises them the same way. A store already at the head is left
    alone without alembic (a version only moves forward, so no lock is needed to see it).
    """
    if _at_head(engine):
        return
    # imported here: a store at the head, every run's case, never needs alembic
    from alembic import command
    from alembic.util import CommandError

    with (
        translate_errors(engine.url, "migrate its schema"),
        engine.connect() as conn,
        conn.begin(),
    ):
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "SELECT pg_advisory_xact_lock("
                    "hashtext('refsync-state-migrate:' || current_schema()))"
                )
            )
        try:
            command.upgrade(_alembic_config(conn), "head")
        except CommandError as error:
            raise StateError(
                f"state store {redact_url(engine.url)} has a schema revision this refsync "
                f"does not know ({error}); upgrade refsync or point state.url elsewhere"
            ) from error
