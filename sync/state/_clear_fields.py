"""Passes over an entity's records that open (decrypt) only the ones their caller needs, or
that read a few of their clear fields in SQL without decoding the records at all."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from sync.state._base import StoreBase
from sync.state._records import _to_row
from sync.state._schema import records
from sync.state._sealing import SEALED, Sealer
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
        query = sa.select(records).where(records.c.entity == entity, records.c.tombstone.is_(False))
        for rows in self._live_pages(query, f"read {entity} records"):
            for row in rows:
                if where is None or where(row.data):
                    yield _to_row(row, self._sealer, opened is None or opened(row.data))

    def iter_clear_values(
        self, entity: str, names: Sequence[str]
    ) -> Iterator[tuple[str, int, dict[str, Any]]]:
        """``(id, version, {name: value})`` of each live record of ``entity`` in id order that
        has at least one of the top-level clear fields ``names`` set (not null), a page at a
        time.

        The values are taken out of the JSON in SQL (``json_extract`` in SQLite, ``->`` in
        PostgreSQL) and only they come back: a pass over a million records whose fields are
        mostly null (referrals linked to no partner) decodes none of them. Why: decoding a
        referral's stored JSON costs about ten microseconds, and this is for passes that
        need three fields of every record (the day's rollup index). A sealed name is refused,
        since its value is not in the clear JSON."""
        sealed = sorted(SEALED.get(entity, frozenset()).intersection(names))
        if sealed:
            raise ValueError(f"{entity} fields {sealed} are sealed: they cannot be read in SQL")
        values = [records.c.data[name] for name in names]
        present = sa.or_(*(records.c.data[name].as_string().is_not(None) for name in names))
        query = sa.select(records.c.id, records.c.version, *values).where(
            records.c.entity == entity, records.c.tombstone.is_(False), present
        )
        for rows in self._live_pages(query, f"read {entity} fields {', '.join(names)}"):
            for row in rows:
                rid, version, *found = tuple(row)
                yield rid, version, dict(zip(names, found, strict=True))

    def _live_pages(self, query: sa.Select[Any], operation: str) -> Iterator[list[sa.Row[Any]]]:
        """The rows of ``query`` (over ``records``, one entity) in id order, a page per read
        transaction, so a long pass holds no transaction between its pages."""
        last: str | None = None
        while True:
            paged = query if last is None else query.where(records.c.id > last)
            with self._tx(operation, read_only=True) as conn:
                rows = list(conn.execute(paged.order_by(records.c.id).limit(_PAGE)).all())
            yield rows
            if len(rows) < _PAGE:
                return
            last = rows[-1].id
