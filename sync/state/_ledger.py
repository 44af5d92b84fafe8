"""The write ledger: what each destination last acknowledged, per canonical record.

A ledger row holds the content hash of the native record sent, the record version it came
from and the fingerprint of the mapping that shaped it. The writer asks for
:meth:`LedgerMixin.records_to_write`: records whose stored version the destination already
acknowledged under the same mapping are skipped there, in SQL, without being opened (their
PHI is sealed, so opening one costs a decryption). The rest are compared by content hash.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from sync.state._base import StoreBase, chunks
from sync.state._raw import executemany, upsert_statement
from sync.state._schema import records, write_ledger
from sync.state._sealing import SEALED, Sealer
from sync.state._types import StoredRecord

__all__ = ["LedgerMixin", "LedgerWrite"]

_PAGE = 2000
_LEDGER_KEY = ("destination", "entity", "canonical_id")


class LedgerWrite(NamedTuple):
    """One acknowledged write: ``record_version`` is the stored version that was sent."""

    canonical_id: str
    content_hash: str
    native_id: str | None
    record_version: int | None = None


class LedgerMixin(StoreBase):
    """What each destination last got (see the module docstring)."""

    _sealer: Sealer

    def ledger_hashes(self, destination: str, entity: str, ids: Iterable[str]) -> dict[str, str]:
        """canonical id -> content hash last written to ``destination`` (ids never written
        are absent)."""
        found: dict[str, str] = {}
        with self._tx(f"read the write ledger of {destination}", read_only=True) as conn:
            for batch in chunks(dict.fromkeys(ids)):
                query = sa.select(write_ledger.c.canonical_id, write_ledger.c.content_hash).where(
                    write_ledger.c.destination == destination,
                    write_ledger.c.entity == entity,
                    self._in(write_ledger.c.canonical_id, batch),
                )
                found.update({row[0]: row[1] for row in conn.execute(query)})
        return found

    def record_writes(
        self,
        destination: str,
        entity: str,
        rows: Iterable[tuple[str, str, str | None] | LedgerWrite],
        run_id: int | None,
        *,
        fingerprint: str | None = None,
    ) -> None:
        """Remember ``(canonical_id, content_hash, native_id[, record_version])`` as written
        to ``destination`` by the mapping whose fingerprint is ``fingerprint``."""
        latest = {row[0]: LedgerWrite(*row) for row in rows}
        mine = _of(destination, entity)
        constants: dict[str, Any] = {"destination": destination, "entity": entity, "run_id": run_id}
        params = [
            {
                "canonical_id": cid,
                "content_hash": w.content_hash,
                "native_id": w.native_id,
                "record_version": w.record_version if fingerprint else None,
                "mapping_fingerprint": fingerprint if w.record_version is not None else None,
            }
            for cid, w in latest.items()
        ]
        with self._tx(f"record writes to {destination}") as conn:
            if params:
                constants["written_at"] = self._stamp(conn, write_ledger.c.written_at, mine)
                columns = [*constants, *params[0]]
                statement = upsert_statement(conn.dialect, write_ledger, columns, _LEDGER_KEY)
                executemany(conn, statement, constants, params)

    def latest_write(self, destination: str, entity: str) -> datetime | None:
        """The latest time stamped on a ledger row of ``destination``'s ``entity``
        records (stamps never go back; see :meth:`PeopleMixin.latest_change`)."""
        with self._tx(f"read when {destination} was last written", read_only=True) as conn:
            return self._latest(conn, write_ledger.c.written_at, _of(destination, entity))

    def note_current(
        self, destination: str, entity: str, versions: Mapping[str, int], fingerprint: str
    ) -> None:
        """The destination holds these record versions already (equal content hash): note
        the version and mapping, so the next run skips them unopened."""
        statement = (
            write_ledger.update()
            .where(
                write_ledger.c.destination == destination,
                write_ledger.c.entity == entity,
                write_ledger.c.canonical_id == sa.bindparam("b_id"),
            )
            # written_at stays: the row already held this mapping's content hash, so it
            # was acknowledged under no other mapping before and is under none now; no
            # other job's write mark needs to look at it again (see to_write_since)
            .values(record_version=sa.bindparam("b_version"), mapping_fingerprint=fingerprint)
        )
        params = [{"b_id": cid, "b_version": v} for cid, v in versions.items()]
        with self._tx(f"update the write ledger of {destination}") as conn:
            for batch in chunks(params, 5000):
                conn.execute(statement, batch)

    def forget_writes(self, destination: str, entity: str, ids: Iterable[str]) -> None:
        """Drop ledger rows (the destination record was archived or must be re-sent)."""
        with self._tx(f"update the write ledger of {destination}") as conn:
            for batch in chunks(dict.fromkeys(ids)):
                conn.execute(
                    write_ledger.delete().where(
                        write_ledger.c.destination == destination,
                        write_ledger.c.entity == entity,
                        self._in(write_ledger.c.canonical_id, batch),
                    )
                )

    def count_acknowledged(self, destination: str, entity: str, fingerprint: str) -> int:
        """How many live records ``destination`` holds at their stored version under the
        mapping ``fingerprint`` (the records :meth:`records_to_write` leaves out)."""
        query = (
            sa.select(sa.func.count())
            .select_from(_joined(destination))
            .where(records.c.entity == entity, records.c.tombstone.is_(False))
            .where(_acknowledged(fingerprint))
        )
        with self._tx(f"count the write ledger of {destination}", read_only=True) as conn:
            return int(conn.execute(query).scalar_one())

    def records_to_write(
        self,
        destination: str,
        entity: str,
        fingerprint: str,
        *,
        include_tombstones: bool,
        fields: Collection[str] | None = None,
        among: Sequence[str] | None = None,
    ) -> Iterator[tuple[StoredRecord, str | None]]:
        """``(record, last content hash or None)`` in id order, for every record of
        ``entity`` that ``destination`` has not acknowledged at its stored version under
        ``fingerprint`` (tombstones only while the destination still holds them).

        ``fields``: the top-level fields the caller needs. When none of them is sealed (a
        de-identified destination's mapping sends no PHI), records come back without their
        sealed fields and nothing is decrypted. ``among``: only these ids (sorted), looked
        up by key, so the pass costs what they are (a write mark's candidates)."""
        opened = fields is None or not SEALED.get(entity, frozenset()).isdisjoint(fields)
        query = self._to_write_query(destination, entity, fingerprint, include_tombstones)
        if among is not None:
            for ids in chunks(among):
                picked = query.where(self._in(records.c.id, ids))
                with self._tx(f"read {entity} records for {destination}", read_only=True) as c:
                    page = [_pair(row, self._sealer, opened) for row in c.execute(picked)]
                yield from page
            return
        last: str | None = None
        while True:
            after = query if last is None else query.where(records.c.id > last)
            paged = after.limit(_PAGE)
            with self._tx(f"read {entity} records for {destination}", read_only=True) as conn:
                page = [_pair(row, self._sealer, opened) for row in conn.execute(paged)]
            yield from page
            if len(page) < _PAGE:
                return
            last = page[-1][0].id

    def stamped_since(
        self, destination: str, entity: str, *, since: datetime, written_since: datetime
    ) -> int:
        """How many of ``entity``'s records are stamped at or after ``since``, plus how
        many of its ledger rows for ``destination`` at or after ``written_since``: what
        :meth:`to_write_since` would join, counted from the stamp indexes alone."""
        stored = sa.select(sa.func.count()).where(
            records.c.entity == entity, records.c.updated_at >= since
        )
        written = sa.select(sa.func.count()).where(
            _of(destination, entity), write_ledger.c.written_at >= written_since
        )
        with self._tx(f"count the {entity} records stamped since", read_only=True) as conn:
            return sum(int(conn.execute(query).scalar_one()) for query in (stored, written))

    def to_write_since(
        self,
        destination: str,
        entity: str,
        fingerprint: str,
        *,
        include_tombstones: bool,
        since: datetime,
        written_since: datetime,
    ) -> list[str]:
        """Sorted ids of the records :meth:`records_to_write` lists, among those stored at
        or after ``since`` and those whose ledger row for ``destination`` was written at or
        after ``written_since``, by the stamps the store put on them (a write mark's
        candidates). Read through indexes on the stamps, so it costs what changed since."""
        pending = _pending(fingerprint, include_tombstones)
        stored = (
            sa.select(records.c.id)
            .select_from(_joined(destination))
            .where(records.c.entity == entity, records.c.updated_at >= since, *pending)
        )
        by_ledger = write_ledger.join(
            records,
            sa.and_(
                records.c.entity == write_ledger.c.entity,
                records.c.id == write_ledger.c.canonical_id,
            ),
        )
        changed = (
            sa.select(records.c.id)
            .select_from(by_ledger)
            .where(_of(destination, entity), write_ledger.c.written_at >= written_since, *pending)
        )
        found: set[str] = set()
        with self._tx(f"read the {entity} records {destination} lacks", read_only=True) as conn:
            for query in (stored, changed):
                found.update(map(str, conn.execute(query).scalars()))
        return sorted(found)

    def _to_write_query(
        self, destination: str, entity: str, fingerprint: str, include_tombstones: bool
    ) -> sa.Select[Any]:
        query = (
            sa.select(records, write_ledger.c.content_hash)
            .select_from(_joined(destination))
            .where(records.c.entity == entity, *_pending(fingerprint, include_tombstones))
        )
        return query.order_by(records.c.id)


def _pending(fingerprint: str, include_tombstones: bool) -> list[sa.ColumnElement[bool]]:
    """Not acknowledged at the stored version under ``fingerprint``; live, or a tombstone
    the destination still holds when ``include_tombstones``."""
    written = write_ledger.c.canonical_id.is_not(None)
    live = records.c.tombstone.is_(False)
    return [
        sa.not_(_acknowledged(fingerprint)),
        sa.or_(live, written) if include_tombstones else live,
    ]


def _of(destination: str, entity: str) -> sa.ColumnElement[bool]:
    """The ledger rows of ``destination``'s ``entity`` records."""
    return sa.and_(write_ledger.c.destination == destination, write_ledger.c.entity == entity)


def _joined(destination: str) -> sa.Join:
    return records.outerjoin(
        write_ledger,
        sa.and_(
            write_ledger.c.destination == destination,
            write_ledger.c.entity == records.c.entity,
            write_ledger.c.canonical_id == records.c.id,
        ),
    )


def _acknowledged(fingerprint: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        write_ledger.c.record_version.is_not(None),
        write_ledger.c.record_version == records.c.version,
        sa.func.coalesce(write_ledger.c.mapping_fingerprint, "") == fingerprint,
    )


def _pair(row: sa.Row[Any], sealer: Sealer, opened: bool) -> tuple[StoredRecord, str | None]:
    record = StoredRecord(
        id=row.id,
        data=sealer.unseal(row.entity, row.id, row.data) if opened else sealer.closed(row.data),
        tombstone=row.tombstone,
        version=row.version,
        updated_at=row.updated_at,
    )
    return record, row.content_hash
