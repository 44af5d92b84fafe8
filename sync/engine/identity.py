"""Identity resolution: which canonical record each native record of a page is.

In order: the link recorded for this connection (crosswalk); refsync's own key carried by the
native record; the entity's natural key (a referral's number, a clinician's NPI) looked up in
the store, else a deterministic id from it; for referrals without a number, the patient
matcher; otherwise a deterministic id from the connection and native id. A referral that
matches nothing is not guessed: it comes back in ``unmatched`` as a record error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Connector, NativeRecord
from mapping.errors import RecordError
from mapping.spec import EntityMapping
from mapping.transforms import TransformContext
from mapping.translate import InboundRecord, has_native, native_value
from sync.engine.ids import NATURAL_KEYS, canonical_id
from sync.engine.matching import PatientMatcher
from sync.state import StateStore

__all__ = ["IdentityResolver", "Resolved"]

Translate = Callable[[EntityMapping, Mapping[str, Any], TransformContext], InboundRecord]


@dataclass
class Resolved:
    """native id -> canonical id (None: unmatched), and the errors of the unmatched."""

    ids: dict[str, str | None] = field(default_factory=dict)
    unmatched: list[RecordError] = field(default_factory=list)
    # native ids the patient matcher resolved: their referral can change from one read to
    # the next (a better candidate arrives) although their content does not
    matched: set[str] = field(default_factory=set)


@dataclass
class IdentityResolver:
    """Resolves a page of one connection's records (see the module docstring)."""

    store: StateStore
    matcher: PatientMatcher
    ctx: TransformContext
    translate: Translate

    def resolve(
        self,
        source: str,
        entity: str,
        em: EntityMapping,
        records: Sequence[NativeRecord],
        connector: Connector | None,
    ) -> Resolved:
        out = Resolved(dict(self.store.canonical_ids_for(entity, source, [r.id for r in records])))
        natural = NATURAL_KEYS.get(entity)
        pending: dict[str, str] = {}
        for rec in records:
            if rec.id in out.ids:
                continue
            key = native_value(rec.fields, em.key)
            if key not in (None, ""):
                out.ids[rec.id] = str(key)
                continue
            nat = self._natural_value(em, natural, rec) if natural else None
            if nat:
                pending[rec.id] = nat
            elif entity != "referral":
                out.ids[rec.id] = canonical_id(entity, source, rec.id)
            else:
                self._match(out, entity, em, rec, connector, natural)
        found = (
            self.store.find_ids_by_key(entity, natural, pending.values())
            if pending and natural
            else {}
        )
        for native_id, nat in pending.items():
            out.ids[native_id] = found.get(nat) or canonical_id(entity, nat)
        return out

    def _match(
        self,
        out: Resolved,
        entity: str,
        em: EntityMapping,
        rec: NativeRecord,
        connector: Connector | None,
        natural: str | None,
    ) -> None:
        out.ids[rec.id], why = self.matcher.match(connector, rec.fields)
        out.matched.add(rec.id)
        if out.ids[rec.id] is None and not rec.deleted:
            out.unmatched.append(
                RecordError(
                    f"{em.object} {rec.id} matches no {entity} ({why}); it is listed "
                    "for review: add the referral number to the source row, or map it",
                    key=rec.id,
                    field=natural,
                    code="UNMATCHED",
                )
            )

    def _natural_value(self, em: EntityMapping, natural: str, rec: NativeRecord) -> str | None:
        for fm in em.fields:
            if fm.canonical == natural and fm.reads and has_native(rec.fields, fm.native):
                inbound = self.translate(
                    em, {fm.native: native_value(rec.fields, fm.native)}, self.ctx
                )
                value = inbound.values.get(natural)
                return None if value in (None, "") else str(value)
        return None
