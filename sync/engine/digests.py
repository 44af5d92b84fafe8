"""Content digests of native records, so a record read again unchanged is not translated.

A digest is the store's keyed hash of the record's mapped fields (system stamps left out)
together with a digest of the mapping that reads them: a changed mapping re-translates all.
Deletions get none (a deletion is applied).

Event records (rows of a scheduling export) get one too. Merging an unchanged row again adds
nothing: its event id is already in the referral's log (a replay), its other values were
merged when the row last changed, and the referral it goes to follows from its link or its
content (refsync's key, the referral number). A row only the patient matcher places (no
referral number) is merged on every read, as its referral can change while its content does
not (:class:`sync.engine.identity.Resolved` ``matched``). Skipping the others makes a full
export cost its changed rows, as a snapshot source costs its changed records; like a
snapshot record, a row applies its values when it changes, so an edit made elsewhere since
then is not overwritten by a row that did not change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

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
        # A name without a dot is a flat key: its value is the field's, as native_value
        # reads it, without the relation walk (a full export digests every row each read).
        flat = not any("." in n for n in names)
        out: dict[str, str] = {}
        for r in records:
            if not r.deleted:
                if flat:
                    get = r.fields.get
                    content = [get(n) for n in names]
                else:
                    content = [native_value(r.fields, n) for n in names]
                out[r.id] = self.keyed_hash((prefix + _dumps(content)).decode())
        return out

    def _mapping(self, em: EntityMapping) -> tuple[EntityMapping, list[str], bytes]:
        hit = self._mappings.get(id(em))
        if hit is None or hit[0] is not em:  # the mapping itself is kept alive in the entry
            names = native_fields(em, "in")
            digest = content_hash(em.model_dump(mode="json"))
            hit = self._mappings[id(em)] = (em, names, digest.encode())
        return hit


def _dumps(content: list[Any]) -> bytes:
    """``content`` as compact JSON; orjson refuses integers past 64 bits, which a vendor's
    JSON may hold: those records are written by the json module (the same text each read)."""
    try:
        return orjson.dumps(content, default=str)
    except TypeError:
        return json.dumps(content, default=str, separators=(",", ":")).encode()
