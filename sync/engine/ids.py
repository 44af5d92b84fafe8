"""Deterministic canonical ids.

A canonical id is derived from what identifies the record at its origin (its natural key,
or the system and native id it first came from), never from PHI. Deterministic ids make a
crashed run's retry land on the same id, so a destination upsert can never create a
duplicate however often the merge is replayed.
"""

from __future__ import annotations

import uuid

__all__ = ["NATURAL_KEYS", "canonical_id"]

_NAMESPACE = uuid.UUID("6f1d3a52-51b8-4f7e-9d52-7a2b1c0e9a11")
_PREFIX = {
    "partner": "par",
    "clinician": "cli",
    "referral": "ref",
    "outreach": "out",
    "definition": "def",
}

NATURAL_KEYS: dict[str, str] = {"referral": "referral_number", "clinician": "npi"}
"""Entity -> canonical field that identifies a record across systems."""


def canonical_id(entity: str, *parts: str) -> str:
    """A stable id for ``entity`` from identifying ``parts`` (natural key, or system + id)."""
    digest = uuid.uuid5(_NAMESPACE, "\x1f".join((entity, *parts)))
    return f"{_PREFIX.get(entity, entity[:3])}_{digest.hex[:24]}"
