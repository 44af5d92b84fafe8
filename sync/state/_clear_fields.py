"""One pass over an entity's records that opens (decrypts) only the ones its caller needs,
and sealed values kept beside the records (what a caller derived from records it opened, so
a later run need not open them again)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from mapping.errors import StateError
from sync.state._base import StoreBase
from sync.state._schema import records, store_meta
from sync.state._sealing import _TOKEN, Sealer
from sync.state._types import StoredRecord

__all__ = ["ClearFieldsMixin"]

_PAGE = 1000
_META = "sealed:"  # store_meta names of sealed values
Wanted = Callable[[Mapping[str, Any]], bool]
Opened = Callable[[StoredRecord], bool]


class ClearFieldsMixin(StoreBase):
    """:meth:`iter_clear_fields`: candidates chosen on the fields kept in clear."""

    _sealer: Sealer = Sealer([])

    def iter_clear_fields(
        self, entity: str, *, where: Wanted | None = None, opened: Opened | None = None
    ) -> Iterator[StoredRecord]:
        """The live records of ``entity`` in id order, fetched a page at a time (their
        ``updated_at`` is not read).

        ``where`` sees each record's fields kept in clear (its PHI still sealed): a record it
        turns down is skipped. ``opened`` sees a record it keeps as it comes back closed
        (clear fields, ``sealed`` its token) and says whether to open its sealed fields
        (None: always); otherwise it comes back closed (nothing decrypted). A record without
        a token has nothing to open. Callers that need PHI for a few of the records they
        read (the people files) pay one decryption per record they use, in one pass."""
        last: str | None = None
        while True:
            query = sa.select(records.c.id, records.c.data, records.c.version).where(
                records.c.entity == entity, records.c.tombstone.is_(False)
            )
            if last is not None:
                query = query.where(records.c.id > last)
            query = query.order_by(records.c.id).limit(_PAGE)
            with self._tx(f"read {entity} records", read_only=True) as conn:
                rows = conn.execute(query).all()
            for row in rows:
                if where is None or where(row.data):
                    yield self._clear_record(entity, row, opened)
            if len(rows) < _PAGE:
                return
            last = rows[-1].id

    def _clear_record(self, entity: str, row: Any, opened: Opened | None) -> StoredRecord:
        """``row`` closed, or opened when ``opened`` says so. ``row.data`` was decoded for
        this row alone, so closing it takes the token out in place instead of copying."""
        clear = row.data
        token = clear.pop(_TOKEN, None)
        closed = StoredRecord(row.id, clear, False, row.version, None, token)
        if token is None or (opened is not None and not opened(closed)):
            return closed
        data = self._sealer.unseal(entity, row.id, {**clear, _TOKEN: token})
        return StoredRecord(row.id, data, False, row.version, None, token)

    def get_sealed_value(self, name: str) -> bytes | None:
        """The bytes last kept with :meth:`set_sealed_value` under ``name`` (one decryption),
        or None: never kept, or sealed with a key the store no longer has (a rotated key
        leaves such a value unreadable; its owner computes it again)."""
        query = sa.select(store_meta.c.value).where(store_meta.c.name == _META + name)
        with self._tx("read a sealed value", read_only=True) as conn:
            token = conn.execute(query).scalar_one_or_none()
        if token is None or not self._sealer.has_key:
            return None
        try:
            return self._sealer._decrypt("store_meta", name, token)
        except StateError:
            return None

    def set_sealed_value(self, name: str, plain: bytes) -> None:
        """Keep ``plain`` encrypted (bound to ``name``) under ``name``."""
        if not self._sealer.has_key:
            return  # nothing may be kept in clear; without a key there is no cache
        row = {"name": _META + name, "value": self._sealer._encrypt("store_meta", name, plain)}
        with self._tx("keep a sealed value") as conn:
            self._upsert(conn, store_meta, [row], keys=["name"])
