"""Key back-fill: a record created outside refsync gets its canonical id written into the
system's key field, so a later upsert by that key finds it instead of creating a twin."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from connectors.base import Capability, Connector, NativeRecord
from mapping.errors import RecordError
from mapping.spec import EntityMapping
from mapping.translate import native_value

__all__ = ["Backfilled", "backfill_keys", "unkeyed"]


@dataclass(frozen=True)
class Backfilled:
    """How many keys were written back, and the records the system refused."""

    written: int = 0
    errors: list[RecordError] = field(default_factory=list)


def unkeyed(
    em: EntityMapping, records: Iterable[NativeRecord], ids: Mapping[str, str | None]
) -> list[tuple[str, str]]:
    """(native id, canonical id) of live records that do not carry refsync's key yet."""
    out: list[tuple[str, str]] = []
    for rec in records:
        cid = ids.get(rec.id)
        if cid and native_value(rec.fields, em.key) in (None, "") and not rec.deleted:
            out.append((rec.id, cid))
    return out


def backfill_keys(
    connector: Connector | None, em: EntityMapping, pairs: list[tuple[str, str]]
) -> Backfilled:
    """Write the canonical ids ``pairs`` into ``em.key``, when the connector declares it can."""
    if not pairs or connector is None or not connector.supports(Capability.BACKFILL_KEYS):
        return Backfilled()
    results = connector.backfill_keys(em.object, pairs, key=em.key)
    errors = [r.error for r in results if r.error is not None]
    return Backfilled(len(results) - len(errors), errors)
