"""What the people files were written from, so the next run lists again only what changed.

A connection's *people mark* says when its people files were last written (the records
changed since then are the ones to list again), a fingerprint of everything else their rows
depend on (definitions, partners and clinicians, refsync's version) and the stamp of each
file, its size and modification time (the referrer mentions the new referrers list is
counted from are in :mod:`sync.state._mentions`). It holds no PHI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from sync.state._base import StoreBase
from sync.state._schema import people_marks, people_seen, records

__all__ = ["PeopleMark", "PeopleMixin"]


@dataclass(frozen=True)
class PeopleMark:
    """When a connection's people files were written from the store, and what else held."""

    watermark: datetime
    fingerprint: str
    files: Mapping[str, str]  # file name -> its stamp as written (size and modification time)


class PeopleMixin(StoreBase):
    """People marks and the records changed since a time."""

    def now(self) -> datetime:
        """The store's clock (the time it stamps on records it stores)."""
        return self._now()

    def latest_change(self, entity: str) -> datetime | None:
        """The latest time stamped on a record of ``entity``. Stamps never go back (see
        ``StoreBase._stamp``), so every later change is stamped at or after it, whatever
        the clocks of the processes."""
        with self._tx(f"read when {entity} records last changed", read_only=True) as conn:
            return self._latest(conn, records.c.updated_at, records.c.entity == entity)

    def changed_since(
        self, entity: str, since: datetime, *, seen_by: str | None = None
    ) -> list[str]:
        """Ids of ``entity``'s records (tombstones included) stored at or after ``since``,
        by the store's clock, read through an index, so it costs what changed; with
        ``seen_by``, less those still at the version :meth:`note_seen` noted for it."""
        query = sa.select(records.c.id).where(
            records.c.entity == entity, records.c.updated_at >= since
        )
        if seen_by is not None:
            seen = people_seen
            query = query.where(
                ~sa.exists().where(
                    seen.c.connection == seen_by,
                    seen.c.entity == records.c.entity,
                    seen.c.record_id == records.c.id,
                    seen.c.version == records.c.version,
                )
            )
        with self._tx(f"read {entity} records changed since", read_only=True) as conn:
            return [str(i) for i in conn.execute(query.order_by(records.c.id)).scalars()]

    def note_seen(self, connection: str, entity: str, since: datetime) -> None:
        """Note, for ``connection``, the version of each of ``entity``'s records stored at
        or after ``since`` (replacing what was noted before), in one statement: a later
        :meth:`changed_since` with ``seen_by`` leaves out those still at that version.

        Note them before reading the records they stand for: a record that a transaction
        still in flight stamped is noted at its old version (or not at all), so it counts
        as changed next time, whenever that transaction commits."""
        picked = sa.select(
            sa.literal(connection), records.c.entity, records.c.id, records.c.version
        ).where(records.c.entity == entity, records.c.updated_at >= since)
        seen = people_seen
        with self._tx(f"note the {entity} records seen") as conn:
            conn.execute(
                seen.delete().where(seen.c.connection == connection, seen.c.entity == entity)
            )
            conn.execute(
                seen.insert().from_select(["connection", "entity", "record_id", "version"], picked)
            )

    def people_mark(self, connection: str) -> PeopleMark | None:
        """The mark :meth:`set_people_mark` left for ``connection``, if any."""
        query = sa.select(people_marks).where(people_marks.c.connection == connection)
        with self._tx("read the people mark", read_only=True) as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return PeopleMark(row.watermark, row.fingerprint, dict(row.files))

    def set_people_mark(self, connection: str, mark: PeopleMark | None) -> None:
        """Remember (or, with None, forget) ``connection``'s people mark."""
        with self._tx("store the people mark") as conn:
            conn.execute(people_marks.delete().where(people_marks.c.connection == connection))
            if mark is not None:
                row = {"connection": connection, "watermark": mark.watermark,
                       "fingerprint": mark.fingerprint, "files": dict(mark.files)}  # fmt: skip
                conn.execute(people_marks.insert(), row)
