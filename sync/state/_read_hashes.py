"""Read hashes: what each native record held when it was last read and merged.

The engine compares a re-read record's keyed hash with the one stored here and skips its
translation and merge when they are equal (the source says nothing new). Digests are keyed
hashes (:meth:`StateStore.keyed_hash`), so nothing of the record can be recovered from them.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from sync.state._base import StoreBase, chunks
from sync.state._schema import crosswalk, read_hashes, records

__all__ = ["ReadHashesMixin"]


class ReadHashesMixin(StoreBase):
    """Per connection and entity: native id -> digest of the record as last merged."""

    def read_hashes_linked(
        self, system: str, entity: str, native_ids: Iterable[str]
    ) -> dict[str, tuple[str, str | None]]:
        """native id -> (stored digest, the live record its link names, or None), in one
        read: a row read again unchanged and linked to a live record needs nothing else."""
        wanted = list(dict.fromkeys(native_ids))
        out: dict[str, tuple[str, str | None]] = {}
        if not wanted:
            return out
        link = sa.and_(
            crosswalk.c.entity == read_hashes.c.entity,
            crosswalk.c.system == read_hashes.c.system,
            crosswalk.c.native_id == read_hashes.c.native_id,
        )
        live = sa.and_(
            records.c.entity == crosswalk.c.entity,
            records.c.id == crosswalk.c.canonical_id,
            records.c.tombstone.is_(False),
        )
        joined = read_hashes.outerjoin(crosswalk, link).outerjoin(records, live)
        with self._tx(f"read {entity} read hashes of {system}", read_only=True) as conn:
            for batch in chunks(wanted):
                query = (
                    sa.select(read_hashes.c.native_id, read_hashes.c.digest, records.c.id)
                    .select_from(joined)
                    .where(
                        read_hashes.c.system == system,
                        read_hashes.c.entity == entity,
                        self._in(read_hashes.c.native_id, batch),
                    )
                )
                out.update({str(n): (str(d), c) for n, d, c in conn.execute(query)})
        return out

    def remember_read_hashes(
        self, system: str, entity: str, pairs: Iterable[tuple[str, str]]
    ) -> None:
        """Store ``(native_id, digest)`` pairs, replacing older digests of those ids."""
        now = self._now()
        rows = [
            {"system": system, "entity": entity, "native_id": n, "digest": d, "read_at": now}
            for n, d in dict(pairs).items()
        ]
        if rows:
            with self._tx(f"remember {entity} read hashes of {system}") as conn:
                self._upsert(conn, read_hashes, rows, keys=("system", "entity", "native_id"))
