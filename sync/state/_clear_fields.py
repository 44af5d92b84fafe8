"""One pass over an entity's records that opens (decrypts) only the ones its caller needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from sync.state._base import StoreBase
from sync.state._records import _to_row
from sync.state._schema import records
from sync.state._sealing import Sealer
from sync.state._types import StoredRecord

__all__ = ["ClearFieldsMixin"]

_PAGE = 1000
Wanted = Callable[[Mapping[str, Any]], bool]


class ClearFieldsMixin(StoreBase):
    """:meth:`iter_clear_fields`: candidates chosen on the fields kept in clear."""

    _sealer: Sealer = Sealer([])

    def iter_clear_fields(
        self, entity: str, *, where: Wanted | None = None, opened: Wanted | None = None
    ) -> Iterator[StoredRecord]:
        """The live records of ``entity`` in id order, fetched a page at a time.

        ``where`` and ``opened`` see each record's fields kept in clear (its PHI still
        sealed): a record ``where`` turns down is skipped; one it keeps comes back with its
        sealed fields opened only when ``opened`` says so (None: always), and without them
        otherwise (nothing decrypted). Callers that need PHI for a few of the records they
        read (the people files: dates of open and completed referrals only) pay one
        decryption per record they use, in one pass."""
        last: str | None = None
        while True:
            query = sa.select(records).where(
                records.c.entity == entity, records.c.tombstone.is_(False)
            )
            if last is not None:
                query = query.where(records.c.id > last)
            query = query.order_by(records.c.id).limit(_PAGE)
            with self._tx(f"read {entity} records", read_only=True) as conn:
                rows = conn.execute(query).all()
            for row in rows:
                if where is None or where(row.data):
                    yield _to_row(row, self._sealer, opened is None or opened(row.data))
            if len(rows) < _PAGE:
                return
            last = rows[-1].id
