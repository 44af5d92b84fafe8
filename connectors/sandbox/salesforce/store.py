"""The sandbox's in-memory data: one table per sObject, indexed by Id and external ids.

Thread-safe through one re-entrant lock (held by the writers for a whole request, so a
collection call is atomic). External-id lookups are dict look-ups (case-insensitive, as
Salesforce's external ids are), so 100k records per object cost nothing per call.
Deleted rows stay (``IsDeleted = True``, as in the Recycle Bin) for ``queryAll`` but leave the
external-id indexes. A transaction keeps an undo log so ``allOrNone`` can roll back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.sandbox.salesforce.schema import ObjectDef
from connectors.sandbox.salesforce.values import IdFactory, coerce_json, to_id18, to_json

__all__ = ["Store", "Table", "Transaction"]

Row = dict[str, Any]


class Table:
    """Rows of one sObject by Id, plus one index per external-id field."""

    def __init__(self, obj: ObjectDef) -> None:
        self.obj = obj
        self.rows: dict[str, Row] = {}
        self.index: dict[str, dict[str, set[str]]] = {f.name: {} for f in obj.external_id_fields}

    def matches(self, field: str, value: Any) -> list[str]:
        """Ids of live rows whose external-id ``field`` equals ``value`` (case-insensitive)."""
        ids = self.index.get(field, {}).get(str(value).lower(), ())
        return sorted(ids)

    def _unindex(self, row: Row) -> None:
        for name, index in self.index.items():
            value = row.get(name)
            if value is not None:
                bucket = index.get(str(value).lower())
                if bucket:
                    bucket.discard(row["Id"])
                    if not bucket:
                        del index[str(value).lower()]

    def _index(self, row: Row) -> None:
        if row.get("IsDeleted"):
            return
        for name, index in self.index.items():
            value = row.get(name)
            if value is not None:
                index.setdefault(str(value).lower(), set()).add(row["Id"])

    def put(self, row: Row) -> None:
        old = self.rows.get(row["Id"])
        if old is not None:
            self._unindex(old)
        self.rows[row["Id"]] = row
        self._index(row)

    def remove(self, row_id: str) -> None:
        old = self.rows.pop(row_id, None)
        if old is not None:
            self._unindex(old)


class Transaction:
    """Undo log of one request: rows as they were before it touched them."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._before: dict[tuple[str, str], Row | None] = {}

    def remember(self, obj: str, row_id: str) -> None:
        key = (obj, row_id)
        if key not in self._before:
            old = self._store.table(obj).rows.get(row_id)
            self._before[key] = dict(old) if old is not None else None

    def rollback(self) -> None:
        for (obj, row_id), old in self._before.items():
            table = self._store.table(obj)
            if old is None:
                table.remove(row_id)
            else:
                table.put(old)
        self._before.clear()


class Store:
    """All tables, the id factory and the clock. Use :attr:`lock` around multi-step work."""

    def __init__(self, schema: dict[str, ObjectDef], clock: Callable[[], datetime]) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.ids = IdFactory()
        self._tables: dict[str, Table] = {}
        self._by_prefix: dict[str, Table] = {}
        self.tx: Transaction | None = None
        for obj in schema.values():
            self.define(obj)

    # -- schema -----------------------------------------------------------------------------

    def define(self, obj: ObjectDef) -> None:
        """Add or replace an sObject definition (rows of a replaced object are kept)."""
        with self.lock:
            old = self._tables.get(obj.name.lower())
            table = Table(obj)
            if old is not None:
                for row in old.rows.values():
                    table.put(row)
            self._tables[obj.name.lower()] = table
            self._by_prefix[obj.key_prefix] = table

    def object(self, name: str) -> ObjectDef | None:
        table = self._tables.get(name.lower())
        return table.obj if table else None

    def objects(self) -> list[ObjectDef]:
        return [t.obj for t in self._tables.values()]

    def table(self, name: str) -> Table:
        return self._tables[name.lower()]

    # -- reads ------------------------------------------------------------------------------

    def get(self, obj: str, row_id: str) -> Row | None:
        return self.table(obj).rows.get(to_id18(row_id))

    def get_any(self, row_id: str) -> tuple[ObjectDef, Row] | None:
        """The row with this id in whichever table its key prefix names."""
        table = self._by_prefix.get(row_id[:3])
        if table is None:
            return None
        row = table.rows.get(to_id18(row_id))
        return (table.obj, row) if row is not None else None

    # -- writes (callers hold the lock) -----------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.lock:
            tx = Transaction(self)
            outer, self.tx = self.tx, tx
            try:
                yield tx
            finally:
                self.tx = outer

    def put(self, obj: str, row: Row) -> None:
        if self.tx is not None:
            self.tx.remember(obj, row["Id"])
        self.table(obj).put(row)

    def reset(self) -> None:
        with self.lock:
            for name, table in list(self._tables.items()):
                self._tables[name] = Table(table.obj)
                self._by_prefix[table.obj.key_prefix] = self._tables[name]

    # -- persistence ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, list[Row]]:
        """Every row (deleted ones included) rendered as the REST API renders values."""
        with self.lock:
            out: dict[str, list[Row]] = {}
            for table in self._tables.values():
                fields = table.obj.fields
                out[table.obj.name] = [
                    {f.name: to_json(f, row.get(f.name)) for f in fields if f.name in row}
                    for row in table.rows.values()
                ]
            return out

    def save(self, path: Path) -> None:
        data = {"next_id": self.ids.new("000"), "objects": self.snapshot()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)

    def load(self, path: Path) -> None:
        """Load rows saved by :meth:`save` (objects no longer in the schema are skipped)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        with self.lock:
            for name, rows in data["objects"].items():
                obj = self.object(name)
                if obj is None:
                    continue
                table = self.table(name)
                for raw in rows:
                    row = {f.name: coerce_json(f, raw[f.name]) for f in obj.fields if f.name in raw}
                    table.put(row)
            self.ids.skip_to(_id_number(data["next_id"]) + 1)


def _id_number(id18: str) -> int:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n = 0
    for ch in id18[6:15]:
        n = n * 62 + digits.index(ch)
    return n
