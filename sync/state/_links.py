"""The id crosswalk: canonical id <-> each connection's native id."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mapping.errors import StateError
from sync.state._base import StoreBase, chunks
from sync.state._raw import executemany
from sync.state._schema import crosswalk

__all__ = ["LinksMixin"]


class LinksMixin(StoreBase):
    """Which native record is which canonical record."""

    # -- crosswalk ---------------------------------------------------------------------

    def link_many(self, entity: str, system: str, pairs: Iterable[tuple[str, str]]) -> int:
        """Record ``(canonical_id, native_id)`` pairs for connection ``system``.

        A canonical id maps to one native id per connection and back. Re-linking a
        canonical id to a new native id replaces the old link (the record was re-created
        there). A native id already linked to another canonical id raises
        :class:`StateError`: two canonical records would be one native record.
        Returns the number of links created or changed.
        """
        wanted = dict(pairs)  # canonical -> native; last pair for an id wins
        if not wanted:
            return 0
        with self._tx(f"link {entity} ids for {system}") as conn:
            current = self._natives(conn, entity, system, wanted)
            changed = {c: n for c, n in wanted.items() if current.get(c) != n}
            self._refuse_shared_natives(conn, entity, system, changed)
            # Only a canonical id linked before has a row to replace: a first link (every
            # record of a first run) is a plain insert, without a DELETE looking for it.
            relinked = [c for c in changed if c in current]
            for batch in chunks(relinked):
                conn.execute(
                    crosswalk.delete().where(
                        crosswalk.c.entity == entity,
                        crosswalk.c.system == system,
                        self._in(crosswalk.c.canonical_id, batch),
                    )
                )
            constants = {"entity": entity, "system": system, "linked_at": self._now()}
            rows = [{"canonical_id": c, "native_id": n} for c, n in changed.items()]
            if rows:
                executemany(conn, crosswalk.insert(), constants, rows, batch=len(rows))
        return len(changed)

    def unlink(self, entity: str, system: str, canonical_ids: Iterable[str]) -> None:
        """Forget the links of these canonical ids for ``system`` (native record deleted)."""
        with self._tx(f"unlink {entity} ids for {system}") as conn:
            for batch in chunks(dict.fromkeys(canonical_ids)):
                conn.execute(
                    crosswalk.delete().where(
                        crosswalk.c.entity == entity,
                        crosswalk.c.system == system,
                        self._in(crosswalk.c.canonical_id, batch),
                    )
                )

    def canonical_ids_for(
        self, entity: str, system: str, native_ids: Iterable[str]
    ) -> dict[str, str]:
        """native id -> canonical id, for the native ids that are linked."""
        with self._tx(f"read {entity} links for {system}", read_only=True) as conn:
            return self._lookup(conn, entity, system, native_ids, by_native=True)

    def native_ids_for(
        self, entity: str, system: str, canonical_ids: Iterable[str]
    ) -> dict[str, str]:
        """canonical id -> native id, for the canonical ids that are linked."""
        with self._tx(f"read {entity} links for {system}", read_only=True) as conn:
            return self._natives(conn, entity, system, canonical_ids)

    def _natives(
        self, conn: Connection, entity: str, system: str, canonical_ids: Iterable[str]
    ) -> dict[str, str]:
        return self._lookup(conn, entity, system, canonical_ids, by_native=False)

    def _lookup(
        self, conn: Connection, entity: str, system: str, ids: Iterable[str], *, by_native: bool
    ) -> dict[str, str]:
        source, target = (
            (crosswalk.c.native_id, crosswalk.c.canonical_id)
            if by_native
            else (crosswalk.c.canonical_id, crosswalk.c.native_id)
        )
        found: dict[str, str] = {}
        for batch in chunks(dict.fromkeys(ids)):
            query = sa.select(source, target).where(
                crosswalk.c.entity == entity, crosswalk.c.system == system, self._in(source, batch)
            )
            found.update({row[0]: row[1] for row in conn.execute(query)})
        return found

    def _refuse_shared_natives(
        self, conn: Connection, entity: str, system: str, changed: dict[str, str]
    ) -> None:
        seen: dict[str, str] = {}
        for canonical, native in changed.items():
            other = seen.setdefault(native, canonical)
            if other != canonical:
                _raise_shared(entity, system, canonical, other)
        owners = self._lookup(conn, entity, system, seen, by_native=True)
        for native, owner in owners.items():
            mine = seen[native]
            # The owner may be moving away in this same call (ids swapped): that is fine.
            if owner != mine and owner not in changed:
                _raise_shared(entity, system, mine, owner)


def _raise_shared(entity: str, system: str, canonical: str, other: str) -> None:
    raise StateError(
        f"{system} {entity} native id is already linked to {entity} {other!r}, so it cannot "
        f"also be {entity} {canonical!r}; the two canonical records are one record in {system} "
        "(merged there?): merge them in refsync or unlink one"
    )
