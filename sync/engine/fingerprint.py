"""The write ledger's content hash.

What a destination receives is a pure function of the canonical record's outbound fields
(the top-level canonical fields the mapping writes), the entity mapping and the site time
zone. So the ledger stores ``sha256(mapping fingerprint + JSON of those fields)``: equal
hashes mean the destination already holds exactly what refsync would send, and an unchanged
record is skipped without translating it. Hub-only fields (a referral's event log) never
cause a write. Editing a mapping changes the fingerprint, so every record is re-sent once in
its new shape.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson

from mapping.spec import EntityMapping
from mapping.transforms import TransformContext
from sync.state._engine import plain_json

__all__ = ["code_version", "ledger_hash", "mapping_fingerprint", "outbound_keys"]


_CACHE: dict[tuple[int, str], tuple[EntityMapping, str]] = {}
_KEYS: dict[int, tuple[EntityMapping, frozenset[str]]] = {}


def outbound_keys(em: EntityMapping) -> frozenset[str]:
    """The top-level canonical fields ``em`` can send (plus ``id`` and the stage)."""
    hit = _KEYS.get(id(em))
    if hit is not None and hit[0] is em:
        return hit[1]
    keys = {"id", *(fm.canonical.split(".", 1)[0] for fm in em.fields if fm.writes)}
    if em.stage is not None:
        keys.add("stage")
    if len(_KEYS) > 256:
        _KEYS.clear()
    _KEYS[id(em)] = (em, frozenset(keys))
    return frozenset(keys)


@cache
def code_version() -> str:
    """refsync's installed version ("unknown" run from a checkout): part of the marks'
    fingerprints, so a new version starts from a whole pass."""
    try:
        return version("refsync")
    except PackageNotFoundError:
        return "unknown"


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


def ledger_hash(fingerprint: str, data: Mapping[str, Any], keys: frozenset[str]) -> str:
    """The content hash of what ``data``'s fields ``keys`` would send.

    Byte for byte the hash of :func:`_json_ledger_hash` (so ledgers written before stay
    valid), computed with orjson for the values both spell alike (JSON text, 64-bit ints,
    floats from 1e-4 up, lists, dicts with text keys); anything else goes the json way.
    """
    sent = {k: data.get(k) for k in keys}
    if plain_json(sent.values(), as_json_spells=True):
        try:
            text = orjson.dumps(sent, option=_ORJSON)
        except orjson.JSONEncodeError:  # an int past 64 bits, a lone surrogate, deep nesting
            return _json_ledger_hash(fingerprint, sent)
        digest = hashlib.sha256(f"{fingerprint}\x1f".encode())
        digest.update(text)
        return digest.hexdigest()
    return _json_ledger_hash(fingerprint, sent)


def _json_ledger_hash(fingerprint: str, sent: Mapping[str, Any]) -> str:
    """The ledger hash as first defined: sha256 of the fingerprint and the sorted JSON."""
    text = json.dumps(sent, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{fingerprint}\x1f{text}".encode()).hexdigest()


# Subclasses (a StrEnum), datetimes and dataclasses reach no default and raise: json's way.
_ORJSON = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
