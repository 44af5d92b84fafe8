"""The write ledger's content hash.

What a destination receives is a pure function of the canonical record, the entity mapping
and the site time zone. So the ledger stores ``sha256(mapping fingerprint + canonical
JSON)``: equal hashes mean the destination already holds exactly what refsync would send,
and an unchanged record is skipped without translating it. Editing a mapping changes the
fingerprint, so every record is re-sent once in its new shape.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mapping.spec import EntityMapping
from mapping.transforms import TransformContext

__all__ = ["ledger_hash", "mapping_fingerprint"]


_CACHE: dict[tuple[int, str], tuple[EntityMapping, str]] = {}


def mapping_fingerprint(em: EntityMapping, ctx: TransformContext) -> str:
    """A digest of everything besides the record that decides what a destination receives."""
    key = (id(em), ctx.timezone)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is em:  # the mapping object itself is kept alive in the entry
        return hit[1]
    text = f"{em.entity}\x1f{ctx.timezone}\x1f{em.model_dump_json()}"
    digest = hashlib.sha256(text.encode()).hexdigest()
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = (em, digest)
    return digest


def ledger_hash(fingerprint: str, data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{fingerprint}\x1f{text}".encode()).hexdigest()
