"""Write marks: where a job's last complete write pass to a destination began, so the next
one lists only what changed since.

A pass over the write ledger's diff (:meth:`LedgerMixin.records_to_write`) reads an index
entry per record of the entity. After a complete pass the writer leaves a *write mark*: when
the pass began (as stamps on the records and on the ledger rows), a fingerprint of the
mapping it wrote with, and the ids it left unacknowledged (rejected by the mapping or the
destination, or not archived). Every record the diff would list next time is then among
:meth:`LedgerMixin.to_write_since` those stamps (stored since, or its ledger row for the
destination written since, by another job's pass say) or among those ids: the diff runs
over them only. No PHI here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from sync.state._base import StoreBase
from sync.state._raw import executemany
from sync.state._schema import write_marks, write_retries

__all__ = ["WriteMark", "WriteMarksMixin"]


@dataclass(frozen=True)
class WriteMark:
    """From which stamp on the records (``watermark``) and on the destination's ledger rows
    (``ledger_watermark``) a job's next write pass to a destination entity looks at what
    changed (when its last complete pass began), the fingerprint it wrote with, and the ids
    it left unacknowledged."""

    watermark: datetime
    ledger_watermark: datetime
    fingerprint: str
    retry: frozenset[str] = frozenset()


class WriteMarksMixin(StoreBase):
    """Write marks (see the module docstring)."""

    def write_mark(self, job: str, destination: str, entity: str) -> WriteMark | None:
        """The mark :meth:`set_write_mark` left, if any."""
        mark = _one(write_marks, job, destination, entity)
        retry = _one(write_retries, job, destination, entity)
        with self._tx("read the write mark", read_only=True) as conn:
            row = conn.execute(sa.select(write_marks).where(mark)).first()
            if row is None:
                return None
            ids = conn.execute(sa.select(write_retries.c.record_id).where(retry)).scalars()
            retried = frozenset(map(str, ids))
            return WriteMark(row.watermark, row.ledger_watermark, row.fingerprint, retried)

    def set_write_mark(
        self, job: str, destination: str, entity: str, mark: WriteMark | None
    ) -> None:
        """Remember (or, with None, forget) the mark of ``job``'s passes to ``destination``."""
        key = {"job": job, "destination": destination, "entity": entity}
        with self._tx("store the write mark") as conn:
            conn.execute(write_marks.delete().where(_one(write_marks, job, destination, entity)))
            conn.execute(
                write_retries.delete().where(_one(write_retries, job, destination, entity))
            )
            if mark is None:
                return
            row = {
                **key,
                "watermark": mark.watermark,
                "ledger_watermark": mark.ledger_watermark,
                "fingerprint": mark.fingerprint,
            }
            conn.execute(write_marks.insert(), row)
            retries = [{"record_id": rid} for rid in sorted(mark.retry)]
            executemany(conn, write_retries.insert(), key, retries)


def _one(table: sa.Table, job: str, destination: str, entity: str) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.job == job, table.c.destination == destination, table.c.entity == entity)
