"""Records read by id that open (decrypt) only the ones their caller will use."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from sync.state._base import StoreBase, chunks
from sync.state._schema import records
from sync.state._sealing import Sealer
from sync.state._types import StoredRecord

__all__ = ["OpenedRecordsMixin"]

Opens = Callable[[StoredRecord], bool]


class OpenedRecordsMixin(StoreBase):
    """:meth:`get_records_opening`: ``get_records`` with the decryption left to the caller;
    :meth:`live_record_ids`: which ids still have a live record, nothing read but ids."""

    _sealer: Sealer = Sealer([])

    def get_records_opening(
        self, entity: str, ids: Iterable[str], opened: Opens
    ) -> dict[str, StoredRecord]:
        """id -> stored record for the ids that exist (tombstones included), in one read.

        ``opened`` sees each record closed (its fields kept in clear, ``tombstone`` and
        ``sealed`` as stored) and says whether to open its sealed fields; the others come
        back closed, nothing decrypted. The reader opens only the rows of a page whose
        content changed since it last read them (unchanged ones are skipped on their
        digest), so an unchanged export costs no decryption."""
        found: dict[str, StoredRecord] = {}
        sealer = self._sealer
        with self._tx(f"read {entity} records", read_only=True) as conn:
            for batch in chunks(dict.fromkeys(ids)):
                query = sa.select(records).where(
                    records.c.entity == entity, self._in(records.c.id, batch)
                )
                for row in conn.execute(query):
                    closed = _record(row, sealer.closed(row.data), sealer.token_of(row.data))
                    if closed.sealed is not None and opened(closed):
                        closed = _record(
                            row, sealer.unseal(row.entity, row.id, row.data), closed.sealed
                        )
                    found[row.id] = closed
        return found

    def live_record_ids(self, entity: str, ids: Iterable[str]) -> set[str]:
        """The ``ids`` of ``entity`` stored and not tombstoned: one column read, no record
        decoded (the reader's check that a row skipped as unchanged still has its record)."""
        live: set[str] = set()
        with self._tx(f"read {entity} record ids", read_only=True) as conn:
            for batch in chunks(dict.fromkeys(ids)):
                query = sa.select(records.c.id).where(
                    records.c.entity == entity,
                    records.c.tombstone.is_(False),
                    self._in(records.c.id, batch),
                )
                live.update(conn.execute(query).scalars())
        return live


def _record(row: sa.Row[Any], data: dict[str, Any], sealed: str | None) -> StoredRecord:
    return StoredRecord(
        id=row.id,
        data=data,
        tombstone=row.tombstone,
        version=row.version,
        updated_at=row.updated_at,
        sealed=sealed,
    )
