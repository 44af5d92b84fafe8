"""In-memory CRM records, indexed by id and by every unique-value property.

One table per object type. Ids are assigned from one account-wide counter in increasing
order, so a table's ``order`` list is sorted and list paging is a bisect, not a scan. The
server-maintained properties (``hs_object_id``, the create date and the modified date) are
kept inside ``props`` like any other value, so search and reads need no special cases.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.hubspot._clock import iso_ms
from connectors.sandbox.hubspot._values import CLEAR

__all__ = ["Record", "RecordStore", "Table"]

_SERIALS = itertools.count(1)  # distinguishes tables across resets (search cache keys)


@dataclass(slots=True)
class Record:
    id: int
    props: dict[str, str]
    created: int
    updated: int
    archived: bool = False
    archived_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "props": self.props,
            "created": self.created,
            "updated": self.updated,
            "archived": self.archived,
            "archived_at": self.archived_at,
        }


_MERGED_IDS = "hs_merged_object_ids"
_SYSTEM_PROPS = frozenset({"hs_object_id", "createdate", "hs_createdate", _MERGED_IDS})


@dataclass
class Table:
    """Records of one object type. Callers hold :attr:`RecordStore.lock`."""

    created_prop: str
    modified_prop: str
    unique_props: set[str]
    records: dict[int, Record] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    unique: dict[str, dict[str, int]] = field(default_factory=dict)
    version: int = 0
    serial: int = field(default_factory=lambda: next(_SERIALS))
    merged_into: dict[int, int] = field(default_factory=dict)  # merged-away id -> primary

    def index_key(self, prop: str, value: str) -> str:
        # email matching is case-insensitive in HubSpot, and search EQ is too; unique values
        # are therefore compared case-insensitively for every unique property
        return value.lower()

    def find(self, prop: str, value: str) -> Record | None:
        """The live record whose unique ``prop`` equals ``value`` (``hs_object_id`` too)."""
        if prop == "hs_object_id":
            rid = int(value) if value.isdigit() else 0
            while rid in self.merged_into:  # a merged-away id reads as its primary
                rid = self.merged_into[rid]
            rec = self.records.get(rid)
            return rec if rec is not None and not rec.archived else None
        found = self.unique.get(prop, {}).get(self.index_key(prop, value))
        return self.records.get(found) if found is not None else None

    def holder(self, prop: str, value: str) -> int | None:
        return self.unique.get(prop, {}).get(self.index_key(prop, value))

    def unindex_record(self, rec: Record) -> None:
        for prop in self.unique_props:
            value = rec.props.get(prop)
            if value is not None:
                self.unique.get(prop, {}).pop(self.index_key(prop, value), None)

    def index_record(self, rec: Record) -> None:
        for prop in self.unique_props:
            value = rec.props.get(prop)
            if value is not None:
                self.unique.setdefault(prop, {})[self.index_key(prop, value)] = rec.id

    def insert(self, rec_id: int, changes: dict[str, str | None], now: int) -> Record:
        props = {k: v for k, v in changes.items() if v is not CLEAR}
        stamp = iso_ms(now)
        props.setdefault(self.created_prop, stamp)
        props[self.modified_prop] = stamp
        props["hs_object_id"] = str(rec_id)
        rec = Record(rec_id, props, now, now)
        self.records[rec_id] = rec
        self.order.append(rec_id)
        self.index_record(rec)
        self.version += 1
        return rec

    def apply(self, rec: Record, changes: dict[str, str | None], now: int) -> None:
        self.unindex_record(rec)
        for key, value in changes.items():
            if value is CLEAR:
                rec.props.pop(key, None)
            else:
                rec.props[key] = value
        rec.updated = now
        rec.props[self.modified_prop] = iso_ms(now)
        self.index_record(rec)
        self.version += 1

    def archive(self, rec: Record, now: int) -> None:
        self.unindex_record(rec)
        rec.archived = True
        rec.archived_at = now
        self.version += 1

    def merge(self, primary: Record, merged: Record, now: int) -> None:
        """Fold ``merged`` into ``primary`` (see :mod:`connectors.sandbox.hubspot._merge`)."""
        self.unindex_record(merged)
        del self.records[merged.id]
        self.order.remove(merged.id)
        self.merged_into[merged.id] = primary.id
        taken = {
            k: v
            for k, v in merged.props.items()
            if k not in primary.props and k not in _SYSTEM_PROPS
        }
        earlier = [i for i in (primary.props.get(_MERGED_IDS) or "").split(";") if i]
        carried = [i for i in (merged.props.get(_MERGED_IDS) or "").split(";") if i]
        ids = sorted({*earlier, *carried, str(merged.id)}, key=int)
        self.apply(primary, {**taken, _MERGED_IDS: ";".join(ids)}, now)

    def page(self, after: int, limit: int, archived: bool) -> tuple[list[Record], int | None]:
        """Up to ``limit`` records with id > ``after``; the next cursor or None at the end."""
        out: list[Record] = []
        pos = bisect.bisect_right(self.order, after)
        while pos < len(self.order):
            rec = self.records[self.order[pos]]
            pos += 1
            if rec.archived == archived:
                if len(out) == limit:
                    return out, out[-1].id
                out.append(rec)
        return out, None

    def live(self) -> Iterator[Record]:
        return (r for r in self.records.values() if not r.archived)


class RecordStore:
    """All tables plus the id counter; ``lock`` guards every read and write."""

    def __init__(self, first_id: int = 10001) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {}
        self._next_id = first_id

    def table(self, object_type: str, created: str, modified: str, unique: list[str]) -> Table:
        with self.lock:
            table = self.tables.get(object_type)
            if table is None:
                table = Table(created, modified, set(unique))
                self.tables[object_type] = table
            else:
                new = set(unique) - table.unique_props
                if new:  # a unique property was created after records existed
                    table.unique_props |= new
                    for rec in table.live():
                        table.index_record(rec)
            return table

    def next_id(self) -> int:
        with self.lock:
            value = self._next_id
            self._next_id += 1
            return value

    def clear(self) -> None:
        with self.lock:
            self.tables.clear()

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "next_id": self._next_id,
                "tables": {
                    name: [r.to_json() for r in t.records.values()]
                    for name, t in self.tables.items()
                },
            }

    def load(self, data: dict[str, Any], table_for: Any) -> None:
        """Restore a :meth:`dump`; ``table_for(name)`` builds each (empty) table."""
        with self.lock:
            self.tables.clear()
            self._next_id = int(data.get("next_id", self._next_id))
            for name, rows in data.get("tables", {}).items():
                table = table_for(name)
                for row in rows:
                    rec = Record(
                        int(row["id"]),
                        dict(row["props"]),
                        row["created"],
                        row["updated"],
                        bool(row["archived"]),
                        row.get("archived_at"),
                    )
                    table.records[rec.id] = rec
                    table.order.append(rec.id)
                    if not rec.archived:
                        table.index_record(rec)
                table.order.sort()
