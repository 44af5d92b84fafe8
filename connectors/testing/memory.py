"""An in-memory system and its connector: the contract, proved without a sandbox.

:class:`MemorySystem` behaves as the systems refsync talks to do where the contract looks:
records have a system id and a modification stamp from the system's own clock (advanced by
hand, so no test sleeps), a match key that is unique, fields the schema lists (anything else
is refused per record), restricted picklists, and deletions that later reads report as
tombstones. :class:`MemoryConnector` is the smallest connector over it (read, write,
archive, back-fill of keys): a reference implementation for connector authors, and a double
the engine's tests and a new connector's own suites can run against before anyone writes
a sandbox (point the suites at it, then swap in the real connector).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from connectors.base import (
    Bookmark,
    Capability,
    Connector,
    FieldSchema,
    NativeRecord,
    ObjectSchema,
    ReadPage,
    WriteResult,
)
from mapping.errors import RecordError, SchemaMismatch

__all__ = ["MemoryConnector", "MemorySettings", "MemorySystem", "memory_schema"]


@dataclass
class _Row:
    id: str
    fields: dict[str, Any]
    stamp: datetime
    deleted: bool = False


@dataclass
class MemorySystem:
    """Objects by name, each with a schema and its rows; a clock advanced by :meth:`advance`."""

    schemas: Mapping[str, ObjectSchema]
    now: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    calls: int = 0
    _rows: dict[str, dict[str, _Row]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)

    def clock(self) -> datetime:
        return self.now

    def rows(self, object_name: str) -> dict[str, _Row]:
        if object_name not in self.schemas:
            raise SchemaMismatch(f"the memory system has no object {object_name!r}")
        return self._rows.setdefault(object_name, {})

    def problem(self, object_name: str, record: Mapping[str, Any]) -> str | None:
        """Why the system refuses ``record`` (a field it lacks, a value off a picklist)."""
        schema = self.schemas[object_name]
        for name, value in record.items():
            spec = schema.fields.get(name)
            if spec is None:
                return f"no field {name}"
            off_list = value is not None and value not in spec.picklist_values
            if spec.restricted_picklist and off_list:
                return f"{name} is not one of its picklist values"
        return None

    def upsert(self, object_name: str, record: Mapping[str, Any], key: str) -> tuple[str, bool]:
        self.calls += 1
        rows = self.rows(object_name)
        found = next(
            (r for r in rows.values() if not r.deleted and r.fields.get(key) == record[key]), None
        )
        if found is None:
            row = _Row(f"m{next(self._ids):06d}", dict(record), self.now)
            rows[row.id] = row
            return row.id, True
        if {**found.fields, **record} != found.fields:
            found.fields.update(record)
            found.stamp = self.now
        return found.id, False

    def delete(self, object_name: str, key: str, value: str) -> None:
        self.calls += 1
        for row in self.rows(object_name).values():
            if not row.deleted and row.fields.get(key) == value:
                row.deleted, row.stamp = True, self.now


class MemorySettings(BaseModel):
    """Nothing to configure: the system is handed to the connector."""

    model_config = ConfigDict(extra="forbid")


class MemoryConnector(Connector):
    """Reads, upserts, archives and back-fills keys in a :class:`MemorySystem`.

    Bookmarks are ``{"stamp": iso}``: records stamped after it and at or before ``until``.
    """

    name = "memory"
    settings_model = MemorySettings
    max_batch_size = 50
    cursor_field = "stamp"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.READ, Capability.WRITE, Capability.ARCHIVE, Capability.BACKFILL_KEYS}
    )

    def __init__(self, system: MemorySystem) -> None:
        super().__init__(MemorySettings(), client=system, clock=system.clock)
        self.system = system

    def check(self) -> None:
        self.system.calls += 1

    def describe(self, object_name: str) -> ObjectSchema:
        self.system.rows(object_name)
        return self.system.schemas[object_name]

    def read(
        self,
        object_name: str,
        *,
        since: Bookmark | None,
        fields: Sequence[str],
        until: datetime | None = None,
    ) -> Iterator[ReadPage]:
        known = self.describe(object_name).fields
        missing = [f for f in fields if f not in known]
        if missing:
            raise SchemaMismatch(f"{object_name} has no field {', '.join(missing)}")
        after = datetime.fromisoformat(since["stamp"]) if since else None
        rows = sorted(self.system.rows(object_name).values(), key=lambda r: (r.stamp, r.id))
        due = [
            r
            for r in rows
            if (after is None or r.stamp > after) and (until is None or r.stamp <= until)
        ]
        for start in range(0, len(due), self.max_batch_size):
            page = due[start : start + self.max_batch_size]
            records = [
                NativeRecord(r.id, {f: r.fields.get(f) for f in fields}, r.deleted, r.stamp)
                for r in page
            ]
            yield ReadPage(records, {"stamp": page[-1].stamp.isoformat()})
        if not due:
            yield ReadPage([], dict(since or {}))

    def upsert(
        self, object_name: str, records: Sequence[Mapping[str, Any]], *, key: str
    ) -> list[WriteResult]:
        results = []
        for record in records:
            value = str(record.get(key) or "")
            problem = self.system.problem(object_name, record)
            if problem is not None:
                error = RecordError(problem, key=value, code="REFUSED")
                results.append(WriteResult(value, error=error))
                continue
            record_id, created = self.system.upsert(object_name, record, key)
            results.append(WriteResult(value, record_id, created))
        return results

    def archive(self, object_name: str, keys: Sequence[str], *, key: str) -> list[WriteResult]:
        for value in keys:
            self.system.delete(object_name, key, value)
        return [WriteResult(value) for value in keys]

    def backfill_keys(
        self, object_name: str, pairs: Sequence[tuple[str, str]], *, key: str
    ) -> list[WriteResult]:
        rows = self.system.rows(object_name)
        out = []
        for native_id, canonical in pairs:
            row = rows.get(native_id)
            if row is None:
                error = RecordError("no such record", key=canonical, code="NOT_FOUND")
                out.append(WriteResult(canonical, error=error))
                continue
            row.fields[key], row.stamp = canonical, self.system.now
            out.append(WriteResult(canonical, native_id, False))
        return out


def memory_schema(name: str, key: str, fields: Mapping[str, FieldSchema]) -> ObjectSchema:
    """An object whose ``key`` is unique and an external id, plus ``fields``."""
    return ObjectSchema(
        name, {key: FieldSchema(key, "string", external_id=True, unique=True), **fields}
    )
