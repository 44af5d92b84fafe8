"""Canonical records and their natural keys."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mapping.errors import StateError, ValidationFailed
from sync.state._base import StoreBase, chunks
from sync.state._counts import count_live, live_change
from sync.state._schema import record_counts, record_keys, records
from sync.state._sealing import SEALED, Sealer
from sync.state._types import PutResult, StoredRecord

__all__ = ["DEFAULT_NATURAL_KEYS", "NaturalKeyTaken", "RecordsMixin"]

# Top-level canonical fields indexed per entity; each value belongs to one live record.
DEFAULT_NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "referral": ("referral_number",),
    "clinician": ("npi",),
}
_PAGE = 1000

RecordInput = StoredRecord | tuple[str, dict[str, Any], bool]


def _to_row(row: sa.Row[Any], sealer: Sealer, opened: bool = True) -> StoredRecord:
    return StoredRecord(
        id=row.id,
        data=sealer.unseal(row.entity, row.id, row.data) if opened else sealer.closed(row.data),
        tombstone=row.tombstone,
        version=row.version,
        updated_at=row.updated_at,
        sealed=sealer.token_of(row.data),
    )


def _dedupe(items: Iterable[RecordInput]) -> dict[str, tuple[dict[str, Any], bool]]:
    """id -> (data, tombstone); the last occurrence of an id wins."""
    out: dict[str, tuple[dict[str, Any], bool]] = {}
    for item in items:
        if isinstance(item, StoredRecord):
            out[item.id] = (item.data, item.tombstone)
        else:
            record_id, data, tombstone = item
            out[record_id] = (data, bool(tombstone))
    return out


class RecordsMixin(StoreBase):
    """Current canonical version per (entity, id), with natural-key lookup.

    PHI fields are encrypted on the way in and opened on the way out (``_sealer``)."""

    _natural_keys: Mapping[str, tuple[str, ...]] = DEFAULT_NATURAL_KEYS
    _sealer: Sealer = Sealer([])

    def get_record(self, entity: str, id: str) -> StoredRecord | None:
        """The stored record, tombstoned or not, or None."""
        return self.get_records(entity, [id]).get(id)

    def record_ids(self, entity: str) -> list[str]:
        """The ids of the live records of ``entity`` (nothing opened or decoded)."""
        query = sa.select(records.c.id).where(
            records.c.entity == entity, records.c.tombstone.is_(False)
        )
        with self._tx("list record ids") as conn:
            return [str(row[0]) for row in conn.execute(query)]

    def count_records(self, entity: str) -> int:
        """How many live records of ``entity`` the store holds."""
        query = sa.select(record_counts.c.live).where(record_counts.c.entity == entity)
        with self._tx("count records", read_only=True) as conn:
            return int(conn.execute(query).scalar() or 0)

    def count_records_up_to(self, entity: str, limit: int) -> int:
        """How many live records of ``entity`` the store holds, counted up to ``limit``
        (the smaller of the two): it reads at most ``limit`` index entries, so asking
        "more than so many?" costs that many, not the store."""
        some = (
            sa.select(records.c.id)
            .where(records.c.entity == entity, records.c.tombstone.is_(False))
            .limit(limit)
            .subquery()
        )
        with self._tx("count records", read_only=True) as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(some)).scalar_one())

    def get_records(self, entity: str, ids: Iterable[str]) -> dict[str, StoredRecord]:
        """id -> stored record for the ids that exist (tombstones included)."""
        found: dict[str, StoredRecord] = {}
        with self._tx(f"read {entity} records", read_only=True) as conn:
            for batch in chunks(dict.fromkeys(ids)):
                query = sa.select(records).where(
                    records.c.entity == entity, self._in(records.c.id, batch)
                )
                for row in conn.execute(query):
                    found[row.id] = _to_row(row, self._sealer)
        return found

    def iter_records(
        self,
        entity: str,
        *,
        include_tombstones: bool = False,
        where: Callable[[Mapping[str, Any]], bool] | None = None,
        fields: Collection[str] | None = None,
    ) -> Iterator[StoredRecord]:
        """Every record of ``entity`` in id order, fetched a page at a time.

        ``where`` sees each record's fields kept in clear (its PHI still sealed) and decides
        whether the record is wanted: a record it turns down is never opened (decrypted).
        ``fields``: the top-level fields the caller needs; when none of them is sealed,
        records come back without their sealed fields and nothing is decrypted.
        """
        opened = fields is None or not SEALED.get(entity, frozenset()).isdisjoint(fields)
        last: str | None = None
        while True:
            query = sa.select(records).where(records.c.entity == entity)
            if not include_tombstones:
                query = query.where(records.c.tombstone.is_(False))
            if last is not None:
                query = query.where(records.c.id > last)
            query = query.order_by(records.c.id).limit(_PAGE)
            with self._tx(f"read {entity} records", read_only=True) as conn:
                rows = conn.execute(query).all()
            yield from (
                _to_row(row, self._sealer, opened)
                for row in rows
                if where is None or where(row.data)
            )
            if len(rows) < _PAGE:
                return
            last = rows[-1].id

    def put_records(
        self,
        entity: str,
        items: Iterable[RecordInput],
        *,
        read: Mapping[str, StoredRecord] | None = None,
    ) -> PutResult:
        """Bulk upsert: new ids are inserted at version 1, changed ones get version + 1.

        ``read``: the stored records the caller read these ids from (``get_records``), so
        they are not read and opened again; the update is a compare-and-set on their version,
        so a record changed since then by another process fails the call (``StateError``).

        A record whose data and tombstone flag are unchanged is left alone (no new version).
        Natural keys (``natural_keys`` given to ``open``) are re-indexed for changed records.
        A record claiming a key value another live record holds is stored but claims nothing
        (the holder keeps the value, the record keeps its old key rows): one bad source row
        never fails a run. ``key_collisions`` finds such records; the writer rejects them,
        as a per-record error, until the source is corrected.
        """
        incoming = _dedupe(items)
        if not incoming:
            return PutResult()
        with self._tx(f"store {entity} records") as conn:
            known = {i: r for i, r in (read or {}).items() if i in incoming}
            existing = known | self._current_state(conn, entity, incoming.keys() - known.keys())
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            unchanged = 0
            for record_id, (data, tombstone) in incoming.items():
                old = existing.get(record_id)
                was = (old.data, old.sealed) if old is not None else None
                row: dict[str, Any] = {
                    "entity": entity,
                    "id": record_id,
                    "data": self._sealer.seal(entity, record_id, data, was=was),
                    "tombstone": tombstone,
                }
                if old is None:
                    inserts.append({**row, "version": 1})
                elif (old.data, old.tombstone) != (data, tombstone):
                    updates.append({**row, "version": old.version + 1})
                else:
                    unchanged += 1
            if inserts or updates:
                now = self._stamp(conn, records.c.updated_at, records.c.entity == entity)
                for changed in (*inserts, *updates):
                    changed["updated_at"] = now
            self._reindex_keys(conn, entity, existing, inserts + updates)
            if inserts:
                conn.execute(records.insert(), inserts)
            self._apply_updates(conn, entity, updates)
            count_live(conn, entity, live_change(existing, inserts, updates))
        return PutResult(
            inserted=[r["id"] for r in inserts],
            updated=[r["id"] for r in updates],
            unchanged=unchanged,
        )

    def find_ids_by_key(self, entity: str, key_name: str, values: Iterable[str]) -> dict[str, str]:
        """natural key value -> canonical id, for the values a live record holds."""
        found: dict[str, str] = {}
        with self._tx(f"look up {entity} by {key_name}", read_only=True) as conn:
            for batch in chunks(dict.fromkeys(str(v) for v in values)):
                query = sa.select(record_keys.c.value, record_keys.c.record_id).where(
                    record_keys.c.entity == entity,
                    record_keys.c.key_name == key_name,
                    self._in(record_keys.c.value, batch),
                )
                found.update({row.value: row.record_id for row in conn.execute(query)})
        return found

    def reseal_records(self) -> int:
        """Re-encrypt every record's PHI under the primary state key (``rotate-key``), and
        seal PHI that older versions kept in clear.

        Versions and timestamps stay: the content did not change. Returns the count.
        """
        done = 0
        last: tuple[str, str] | None = None
        while True:
            query = sa.select(records.c.entity, records.c.id, records.c.data)
            if last is not None:
                query = query.where(sa.tuple_(records.c.entity, records.c.id) > last)
            query = query.order_by(records.c.entity, records.c.id).limit(_PAGE)
            with self._tx("re-encrypt records") as conn:
                page = list(conn.execute(query))
                changed = [
                    {"b_entity": r.entity, "b_id": r.id, "data": data}
                    for r in page
                    if (data := self._resealed(r.entity, r.id, r.data)) is not r.data
                ]
                if changed:
                    conn.execute(
                        records.update()
                        .where(
                            records.c.entity == sa.bindparam("b_entity"),
                            records.c.id == sa.bindparam("b_id"),
                        )
                        .values(data=sa.bindparam("data")),
                        changed,
                    )
            done += len(changed)
            if len(page) < _PAGE:
                self._drop_old_pages()
                return done
            last = (page[-1].entity, page[-1].id)

    def _drop_old_pages(self) -> None:
        """SQLite: copy the WAL into the file and truncate it, so page images written before
        the re-encryption (under the old key, or in clear) leave the disk; what they freed
        in the file itself was zeroed (``secure_delete``). PostgreSQL keeps old row
        versions until VACUUM: run ``VACUUM FULL records`` after a rotation there."""
        if self.dialect != "sqlite":
            return
        raw = self._engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()

    def _resealed(self, entity: str, record_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The token under the primary key; PHI kept in clear (written before refsync
        encrypted it) gets sealed. Returns ``data`` itself when nothing changes."""
        if self._sealer.needs_rotation(data):
            return self._sealer.rotate(entity, record_id, data)
        return self._sealer.seal(entity, record_id, data)

    def check_sealed(self) -> int:
        """Open every encrypted record with the current keys (StateError on the first that
        does not open); returns how many were checked."""
        checked = 0
        last: tuple[str, str] | None = None
        while True:
            query = sa.select(records.c.entity, records.c.id, records.c.data)
            if last is not None:
                query = query.where(sa.tuple_(records.c.entity, records.c.id) > last)
            query = query.order_by(records.c.entity, records.c.id).limit(_PAGE)
            with self._tx("check encrypted records", read_only=True) as conn:
                page = list(conn.execute(query))
            for row in page:
                if self._sealer.needs_rotation(row.data):
                    self._sealer.unseal(row.entity, row.id, row.data)
                    checked += 1
            if len(page) < _PAGE:
                return checked
            last = (page[-1].entity, page[-1].id)

    # -- helpers -----------------------------------------------------------------------

    def _current_state(
        self, conn: Connection, entity: str, ids: Iterable[str]
    ) -> dict[str, StoredRecord]:
        found: dict[str, StoredRecord] = {}
        for batch in chunks(ids):
            query = sa.select(records).where(
                records.c.entity == entity, self._in(records.c.id, batch)
            )
            found.update({row.id: _to_row(row, self._sealer) for row in conn.execute(query)})
        return found

    def _apply_updates(self, conn: Connection, entity: str, updates: list[dict[str, Any]]) -> None:
        """Compare-and-set on the version we read, so a concurrent writer is detected."""
        if not updates:
            return
        statement = (
            records.update()
            .where(
                records.c.entity == sa.bindparam("b_entity"),
                records.c.id == sa.bindparam("b_id"),
                records.c.version == sa.bindparam("b_old_version"),
            )
            .values(
                data=sa.bindparam("data"),
                tombstone=sa.bindparam("tombstone"),
                version=sa.bindparam("version"),
                updated_at=sa.bindparam("updated_at"),
            )
        )
        params = [
            {
                "b_entity": entity,
                "b_id": u["id"],
                "b_old_version": u["version"] - 1,
                "data": u["data"],
                "tombstone": u["tombstone"],
                "version": u["version"],
                "updated_at": u["updated_at"],
            }
            for u in updates
        ]
        result = conn.execute(statement, params)
        if conn.dialect.supports_sane_multi_rowcount and result.rowcount != len(params):
            raise StateError(
                f"{len(params) - result.rowcount} {entity} record(s) were changed by another "
                "process during this update; nothing was stored, run the job again"
            )

    def _keys_of(self, entity: str, data: dict[str, Any], tombstone: bool) -> dict[str, str]:
        if tombstone:
            return {}
        names = self._natural_keys.get(entity, ())
        return {n: str(data[n]) for n in names if data.get(n) not in (None, "")}

    def _reindex_keys(
        self,
        conn: Connection,
        entity: str,
        existing: dict[str, StoredRecord],
        changed: list[dict[str, Any]],
    ) -> set[str]:
        """Replace the key rows of records whose key values changed.

        A record claiming a key value another live record holds keeps its old key rows and
        claims nothing (the holder keeps the value); its id is returned. The store never
        raises for it: the writer rejects such a record (see :meth:`key_collisions`).
        """
        if not self._natural_keys.get(entity):
            return set()
        moved: list[str] = []
        new_rows: list[dict[str, Any]] = []
        for row in changed:
            new = self._keys_of(entity, row["data"], row["tombstone"])
            old_record = existing.get(row["id"])
            old = self._keys_of(entity, old_record.data, old_record.tombstone) if old_record else {}
            if new == old:
                continue
            if old_record is not None:
                moved.append(row["id"])
            new_rows += [
                {"entity": entity, "key_name": k, "value": v, "record_id": row["id"]}
                for k, v in new.items()
            ]
        kept: list[dict[str, Any]] = []
        for batch in chunks(moved):
            where = (record_keys.c.entity == entity, self._in(record_keys.c.record_id, batch))
            kept += [dict(r._mapping) for r in conn.execute(sa.select(record_keys).where(*where))]
            conn.execute(record_keys.delete().where(*where))
        refused = self._taken_keys(conn, entity, new_rows)
        new_rows = [r for r in new_rows if r["record_id"] not in refused]
        new_rows += [r for r in kept if r["record_id"] in refused]  # the refused keep theirs
        if new_rows:
            conn.execute(record_keys.insert(), new_rows)
        return refused

    def _taken_keys(self, conn: Connection, entity: str, rows: list[dict[str, Any]]) -> set[str]:
        """Ids in ``rows`` claiming a key value already held (in the store or earlier in rows)."""
        refused: set[str] = set()
        claimed: dict[tuple[str, str], str] = {}
        for row in rows:
            slot = (row["key_name"], row["value"])
            other = claimed.setdefault(slot, row["record_id"])
            if other != row["record_id"]:
                refused.add(row["record_id"])
        by_name: dict[str, list[str]] = {}
        for key_name, value in claimed:
            by_name.setdefault(key_name, []).append(value)
        for key_name, values in by_name.items():
            for batch in chunks(values):
                query = sa.select(record_keys.c.value, record_keys.c.record_id).where(
                    record_keys.c.entity == entity,
                    record_keys.c.key_name == key_name,
                    self._in(record_keys.c.value, batch),
                )
                for hit in conn.execute(query):
                    mine = claimed[(key_name, hit.value)]
                    if hit.record_id != mine:
                        refused.add(mine)
        return refused

    def key_collisions(
        self, entity: str, records_: Iterable[StoredRecord]
    ) -> list[tuple[str, str, str]]:
        """(record id, key name, value) for each live record whose natural key value is held
        by another live record (the one the key index points to)."""
        wanted: dict[str, dict[str, str]] = {}
        for rec in records_:
            keys = self._keys_of(entity, rec.data, rec.tombstone)
            if keys:
                wanted[rec.id] = keys
        if not wanted:
            return []
        names = {n for keys in wanted.values() for n in keys}
        holders: dict[tuple[str, str], str] = {}
        for name in names:
            values = [keys[name] for keys in wanted.values() if name in keys]
            holders.update(
                ((name, v), cid) for v, cid in self.find_ids_by_key(entity, name, values).items()
            )
        out: list[tuple[str, str, str]] = []
        for record_id, keys in wanted.items():
            for name, value in keys.items():
                holder = holders.get((name, value))
                if holder is not None and holder != record_id:
                    out.append((record_id, name, value))
                    break
        return out


class NaturalKeyTaken(ValidationFailed):
    """A record carries a natural key value (a referral number, an NPI) that belongs to
    another record. A per-record error: the message names the value, never an internal id."""

    def __init__(
        self, entity: str, key_name: str, value: str, *, key: str, job: str = "JOB"
    ) -> None:
        label = key_name.replace("_", " ")
        super().__init__(
            f"{label} {value} already belongs to another {entity}, so this {entity} was not "
            f"written: correct the {label} in the source row (or merge the two {entity}s "
            f"there), then run `refsync retry {job}`",
            key=key,
            field=key_name,
            code="DUPLICATE_" + key_name.upper(),
        )
