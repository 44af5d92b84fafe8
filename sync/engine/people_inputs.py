"""What the people files read of each referral's sealed fields, kept sealed in the state store
between runs, so a run decrypts only the referrals whose sealed fields changed.

The worklist and the closure list need dates (when a referral was received, accepted,
completed, whether its loop is closed): sealed fields. Every run rewrites both files (their
ages change daily), and opening every open or completed referral for it grew with the
program, not with the day's changes. So the first run that lists a referral keeps its
*people fields*: ``received_at``, ``completed_at``, ``loop_closed_at`` and
``stage_history`` (not the patient, the events or the reasons), keyed by a digest of the
referral's sealed token. A token is new whenever a
referral's sealed fields change (a new random nonce; a change of clear fields only keeps
it), so an unchanged digest proves the kept fields are current. The whole map is kept as
one value sealed under the store's key: a run decrypts it once, plus each referral it
changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from mapping.model import Referral
from sync.state import StateStore
from sync.state._types import StoredRecord

__all__ = ["PeopleFields"]

_NAME = "people-fields:referral"
_FORMAT = 1
_KEPT = ("received_at", "completed_at", "loop_closed_at", "stage_history")


def _digest(token: str) -> str:
    return hashlib.blake2b(token.encode("ascii"), digest_size=16).hexdigest()


def _people_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The sealed fields a people file reads of an opened referral (their JSON form)."""
    return {name: data.get(name) for name in _KEPT}


class PeopleFields:
    """The kept people fields, for one pass over the referrals a people file lists:
    :meth:`needs_opening` says which records to decrypt, :meth:`referral` gives each one
    (opened, or its clear fields with its kept ones), :meth:`save` keeps what changed."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        raw = store.get_sealed_value(_NAME)
        loaded = orjson.loads(raw) if raw else {}
        self._kept: dict[str, list[Any]] = (
            loaded.get("referrals", {}) if loaded.get("format") == _FORMAT else {}
        )
        self._next: dict[str, list[Any]] = {}

    def needs_opening(self, record: StoredRecord) -> bool:
        """True unless the fields kept for ``record`` (closed) came from its current token."""
        kept = self._kept.get(record.id)
        return kept is None or record.sealed is None or kept[0] != _digest(record.sealed)

    def referral(self, record: StoredRecord) -> Referral:
        """``record`` as the lists read it: opened when :meth:`needs_opening` said so, else
        closed and completed with its kept fields."""
        if record.sealed is None:
            return Referral.model_validate(record.data)
        if self.needs_opening(record):
            self._next[record.id] = [_digest(record.sealed), _people_fields(record.data)]
            return Referral.model_validate(record.data)
        kept = self._kept[record.id]
        self._next[record.id] = kept
        return Referral.model_validate({**record.data, **kept[1]})

    def save(self) -> None:
        """Keep the fields of the referrals this pass listed (none of the others), when they
        differ from those kept."""
        if self._next != self._kept:
            value = {"format": _FORMAT, "referrals": self._next}
            self._store.set_sealed_value(_NAME, orjson.dumps(value))
