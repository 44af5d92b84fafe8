"""``WarehouseConnector``: canonical entities into PostgreSQL tables, for BI tools.

Every statement runs under the shared :class:`~connectors.retry.RetryPolicy`: a deadlock or
serialization failure (two runs upserting the same rows) and a dropped connection are
:class:`~mapping.errors.ServiceUnavailable` and retried, each attempt its own transaction;
any other database error is fatal.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from connectors.base import (
    Bookmark,
    Capability,
    Clock,
    Connector,
    Dialect,
    NativeRecord,
    ObjectSchema,
    ReadPage,
    RetryPolicy,
    WriteResult,
    utc_now,
)
from connectors.retry import Sleep
from connectors.warehouse.settings import WarehouseSettings
from connectors.warehouse.tables import (
    ARCHIVED,
    KEY,
    TABLES,
    UPDATED,
    WAREHOUSE_DIALECT,
    build_tables,
    object_schema,
)
from mapping.errors import ConnectorError, RecordRejected, SchemaMismatch, ServiceUnavailable

__all__ = ["RETRY_POLICY", "WarehouseConnector"]

RETRY_POLICY = RetryPolicy(retryable=(ServiceUnavailable,), max_attempts=4, backoff_initial=0.5)
"""Transient database failures (see the module docstring) are retried; nothing else is."""

_TRANSIENT = frozenset({"40001", "40P01", "57P01", "08000", "08003", "08006"})
"""SQLSTATEs worth another attempt: serialization failure, deadlock, admin shutdown, lost
connection."""

T = TypeVar("T")

Row = Mapping[str, Any]
_ROW_ERRORS = (sa.exc.DataError, sa.exc.IntegrityError)
"""What one row can cause (a value of the wrong type, a constraint); the rest is fatal."""


class WarehouseConnector(Connector):
    """Upserts by ``refsync_id`` (INSERT ... ON CONFLICT), archives by stamping
    ``refsync_archived_at``, reads by ``refsync_updated_at``. ``client`` injects an
    SQLAlchemy ``Engine``; ``clock`` stamps the bookkeeping columns; ``sleep`` is the wait
    between retries (tests count it)."""

    name = "warehouse"
    settings_model = WarehouseSettings
    max_batch_size = 500
    cursor_field = UPDATED
    dialect: ClassVar[Dialect] = WAREHOUSE_DIALECT
    retry_policy: ClassVar[RetryPolicy] = RETRY_POLICY
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.READ, Capability.WRITE, Capability.ARCHIVE}
    )

    def __init__(
        self,
        settings: WarehouseSettings,
        *,
        client: sa.Engine | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(settings, client=client, clock=clock)
        self._sleep = sleep
        self.settings: WarehouseSettings = settings
        self._metadata = build_tables(settings.db_schema, settings.tier)
        self._ready = False

    def build_client(self) -> sa.Engine:
        return sa.create_engine(self.settings.url.get_secret_value(), pool_pre_ping=True)

    @property
    def engine(self) -> sa.Engine:
        engine: sa.Engine = self.client
        return engine

    # -- contract -------------------------------------------------------------------------

    def check(self) -> None:
        """Connect, and create the schema and missing tables when ``create_tables``."""
        self._call("connect", self._ping)
        self._prepare()

    def describe(self, object_name: str) -> ObjectSchema:
        self._table(object_name)
        return object_schema(object_name, self.settings.tier)

    def read(
        self,
        object_name: str,
        *,
        since: Bookmark | None,
        fields: Sequence[str],
        until: datetime | None = None,
    ) -> Iterator[ReadPage]:
        """Rows changed after ``since`` (keyset on updated stamp, key), archived ones as
        tombstones; each page's bookmark is its last row's position."""
        table = self._table(object_name)
        self._known(table, fields)
        self._prepare()
        position = (since or {}).get("at"), (since or {}).get("key")
        emitted = False
        while True:
            rows = self._page(table, position, until)
            if not rows:
                break
            last = rows[-1]
            position = last[UPDATED].isoformat(), last[KEY]
            emitted = True
            yield ReadPage([_record(row, fields) for row in rows], _bookmark(*position))
            if len(rows) < self.settings.page_size:
                break
        if not emitted:
            yield ReadPage([], dict(since or {}))

    def upsert(
        self, object_name: str, records: Sequence[Mapping[str, Any]], *, key: str
    ) -> list[WriteResult]:
        """One INSERT ... ON CONFLICT per call; a refused batch is retried row by row, each
        in its own savepoint, so only the bad rows fail."""
        table = self._table(object_name)
        self._require_key(object_name, key)
        self._prepare()
        results: dict[int, WriteResult] = {}
        good = []
        for i, record in enumerate(records):
            problem = _refused(table, record)
            if problem is None:
                good.append(i)
            else:
                results[i] = problem
        created = self._write(table, [records[i] for i in good], results, good)
        for i in good:
            value = str(records[i][KEY])
            results.setdefault(i, WriteResult(value, value, created.get(value, False)))
        return [results[i] for i in range(len(records))]

    def archive(self, object_name: str, keys: Sequence[str], *, key: str) -> list[WriteResult]:
        """Stamp ``refsync_archived_at`` on live rows with these keys (unknown keys: no-op)."""
        table = self._table(object_name)
        self._require_key(object_name, key)
        if not keys:
            return []
        self._prepare()
        now = self.clock()
        stmt = (
            sa.update(table)
            .where(table.c[KEY].in_(list(keys)), table.c[ARCHIVED].is_(None))
            .values({ARCHIVED: now, UPDATED: now})
        )
        self._call("archive", lambda: self._execute(stmt))
        return [WriteResult(str(k), str(k)) for k in keys]

    def close(self) -> None:
        if self._client is not None:
            self.engine.dispose()

    # -- internals ------------------------------------------------------------------------

    def _call(self, operation: str, fn: Callable[[], T]) -> T:
        """``fn`` under the retry policy, database errors translated at this edge; each
        attempt opens its own transaction, so a failed one left nothing behind."""

        def attempt() -> T:
            with _translating(self.settings.url.get_secret_value(), operation):
                return fn()

        return self.retry_policy.call(attempt, sleep=self._sleep)

    def _ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def _execute(self, stmt: sa.Executable) -> None:
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def _write(
        self, table: sa.Table, rows: Sequence[Row], results: dict[int, WriteResult], at: list[int]
    ) -> dict[str, bool]:
        if not rows:
            return {}
        now = self.clock()
        return self._call("upsert", lambda: self._write_once(table, rows, results, at, now))

    def _write_once(
        self,
        table: sa.Table,
        rows: Sequence[Row],
        results: dict[int, WriteResult],
        at: list[int],
        now: datetime,
    ) -> dict[str, bool]:
        for i in at:
            results.pop(i, None)  # a rejection an earlier, rolled-back attempt found
        with self.engine.begin() as conn:
            try:
                with conn.begin_nested():
                    return _upsert(conn, table, rows, now)
            except _ROW_ERRORS:
                pass  # a row is refused: find it, write the others
            created: dict[str, bool] = {}
            for i, row in zip(at, rows, strict=True):
                try:
                    with conn.begin_nested():
                        created.update(_upsert(conn, table, [row], now))
                except _ROW_ERRORS as exc:
                    results[i] = WriteResult(str(row[KEY]), error=_rejected(exc, str(row[KEY])))
            return created

    def _page(
        self, table: sa.Table, position: tuple[str | None, str | None], until: datetime | None
    ) -> list[Row]:
        stmt = sa.select(table).order_by(table.c[UPDATED], table.c[KEY])
        at, key = position
        if at is not None:
            mark = datetime.fromisoformat(at)
            stmt = stmt.where(
                sa.tuple_(table.c[UPDATED], table.c[KEY]) > sa.tuple_(sa.literal(mark), key or "")
            )
        if until is not None:
            stmt = stmt.where(table.c[UPDATED] <= until)
        return self._call("read", lambda: self._rows(stmt.limit(self.settings.page_size)))

    def _rows(self, stmt: sa.Select[Any]) -> list[Row]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def _prepare(self) -> None:
        if self._ready or not self.settings.create_tables:
            return
        self._call("create its tables", self._create_tables)
        self._ready = True

    def _create_tables(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.schema.CreateSchema(self.settings.db_schema, if_not_exists=True))
            self._metadata.create_all(conn, checkfirst=True)

    def _table(self, object_name: str) -> sa.Table:
        if object_name not in TABLES:
            raise SchemaMismatch(
                f"warehouse connections have no table {object_name!r}; use one of "
                f"{', '.join(TABLES)} in the mapping's object:"
            )
        return self._metadata.tables[f"{self.settings.db_schema}.{object_name}"]

    def _known(self, table: sa.Table, fields: Sequence[str]) -> None:
        missing = [f for f in fields if f not in table.c]
        if missing:
            raise SchemaMismatch(
                f"warehouse table {table.name} has no column "
                f"{', '.join(repr(f) for f in missing)} at privacy tier "
                f"{self.settings.tier.value}; fix the mapping "
                f"(columns: {', '.join(table.c.keys())})"
            )

    def _require_key(self, object_name: str, key: str) -> None:
        if key != KEY:
            raise SchemaMismatch(
                f"warehouse table {object_name} matches on {KEY}, not {key!r}; set key: {KEY}"
            )


@contextlib.contextmanager
def _translating(url: str, operation: str) -> Iterator[None]:
    """Database errors, translated once at this edge (the URL's password never shown)."""
    try:
        yield
    except SQLAlchemyError as exc:
        where = sa.make_url(url).render_as_string(hide_password=True)
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        code = getattr(cause, "sqlstate", None)
        if code in _TRANSIENT or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
            raise ServiceUnavailable(
                f"warehouse {where} failed to {operation} (SQLSTATE {code or 'connection lost'})"
            ) from exc
        raise ConnectorError(
            f"warehouse {where} failed to {operation} ({type(cause).__name__}); check that "
            "the database is reachable and the user may create and write the schema"
        ) from exc


def _upsert(
    conn: sa.Connection, table: sa.Table, rows: Sequence[Row], now: datetime
) -> dict[str, bool]:
    """key -> created for each row written; an unchanged live row is left alone (not listed)."""
    last = {str(row[KEY]): row for row in rows}  # a key twice in one call: the last wins
    names = sorted({name for row in last.values() for name in row})
    values = [
        {**{n: row.get(n) for n in names}, UPDATED: now, ARCHIVED: None} for row in last.values()
    ]
    insert = pg_insert(table).values(values)
    data = [n for n in names if n != KEY]
    differs = [table.c[n].is_distinct_from(insert.excluded[n]) for n in data]
    stmt = insert.on_conflict_do_update(
        index_elements=[table.c[KEY]],
        set_={**{n: insert.excluded[n] for n in data}, UPDATED: now, ARCHIVED: None},
        where=sa.or_(table.c[ARCHIVED].is_not(None), *differs),
    ).returning(table.c[KEY], sa.literal_column("(xmax = 0)").label("created"))
    return {str(key): bool(created) for key, created in conn.execute(stmt)}


def _refused(table: sa.Table, record: Row) -> WriteResult | None:
    value = str(record.get(KEY) or "")
    unknown = sorted(name for name in record if name not in table.c or name in (UPDATED, ARCHIVED))
    if not value:
        return WriteResult(
            value, error=RecordRejected(f"no {KEY}", key=None, field=KEY, code="NO_KEY")
        )
    if unknown:
        return WriteResult(
            value,
            error=RecordRejected(
                f"{table.name} has no column {unknown[0]}; fix the mapping",
                key=value,
                field=unknown[0],
                code="UNKNOWN_COLUMN",
            ),
        )
    return None


def _rejected(exc: DBAPIError, key: str) -> RecordRejected:
    """A refused row, named by key and SQLSTATE (the driver's message may quote the value)."""
    code = str(getattr(exc.orig, "sqlstate", None) or "DATABASE")
    return RecordRejected(
        f"the warehouse refused the row (SQLSTATE {code}); check the value types the mapping "
        "sends against the table's columns",
        key=key,
        code=code,
    )


def _record(row: Row, fields: Sequence[str]) -> NativeRecord:
    wanted = fields or [k for k in row if k not in (UPDATED, ARCHIVED)]
    return NativeRecord(
        str(row[KEY]),
        {f: row[f] for f in wanted},
        deleted=row[ARCHIVED] is not None,
        modified_at=row[UPDATED],
    )


def _bookmark(at: str, key: str) -> Bookmark:
    return {"at": at, "key": key}
