"""Content digests of snapshot records, so a record read again unchanged is not translated.

A digest is the store's keyed hash of the record's mapped fields (system stamps left out)
together with a digest of the mapping that reads them: a changed mapping re-translates all.
Event records and deletions get none (an event is its own log entry; a deletion is applied).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson

from connectors.base import NativeRecord
from mapping.spec import EntityMapping
from mapping.translate import content_hash, native_fields, native_value

__all__ = ["ContentDigests"]


@dataclass
class ContentDigests:
    """``digests(em, records)``: native id -> digest (see the module docstring)."""

    keyed_hash: Callable[[str], str]
    _mappings: dict[int, tuple[EntityMapping, list[str], bytes]] = field(default_factory=dict)

    def digests(self, em: EntityMapping, records: Iterable[NativeRecord]) -> dict[str, str]:
        _, names, prefix = self._mapping(em)
        out: dict[str, str] = {}
        for r in records:
            if r.event is None and not r.deleted:
                content = [native_value(r.fields, n) for n in names]
                out[r.id] = self.keyed_hash((prefix + orjson.dumps(content, default=str)).decode())
        return out

    def _mapping(self, em: EntityMapping) -> tuple[EntityMapping, list[str], bytes]:
        hit = self._mappings.get(id(em))
        if hit is None or hit[0] is not em:  # the mapping itself is kept alive in the entry
            names = native_fields(em, "in")
            digest = content_hash(em.model_dump(mode="json"))
            hit = self._mappings[id(em)] = (em, names, digest.encode())
        return hit
