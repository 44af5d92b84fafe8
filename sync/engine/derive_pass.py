"""The referrals a run touched, derived in one pass: referrer links, qualification, and the
coarse fields deidentified destinations receive.

Each step is a pure function of one record (:func:`sync.engine.referrers.linked_to`,
:func:`sync.engine.derived.requalified`, :func:`sync.engine.derived.coarsen_referral`); the
pass reads each referral once and stores it once, only when a step changed it. (PHI at rest
is sealed: a read and a write per step per record cost as much as the steps themselves.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mapping.model import QualifiedReferralDefinition
from sync.engine.derived import coarsen_referral, requalified
from sync.engine.referrers import clinicians_by_npi, linked_to
from sync.state import StateStore, StoredRecord

__all__ = ["DerivedReferrals", "derive_referrals"]

_BATCH = 2000


@dataclass
class DerivedReferrals:
    linked: list[str] = field(default_factory=list)  # referral ids whose referrer changed
    unresolved: dict[str, str] = field(default_factory=dict)  # referral number -> NPI
    names: dict[str, str | None] = field(default_factory=dict)  # ... -> referring name
    prospects: set[str] = field(default_factory=set)  # unresolved NPIs held by a prospect
    stored: int = 0

    def absorb(self, later: DerivedReferrals) -> None:
        """Add the run's pass over every referral waiting for a referrer (which includes the
        ones this pass left waiting): what it still finds waiting is what waits."""
        self.linked += later.linked
        self.unresolved, self.names = later.unresolved, later.names
        self.prospects = later.prospects
        self.stored += later.stored

    def waiting_names(self) -> dict[str, list[str | None]]:
        """NPI -> the referring names of the referrals waiting for it."""
        out: dict[str, list[str | None]] = {}
        for number, npi in self.unresolved.items():
            out.setdefault(npi, []).append(self.names.get(number))
        return out


def derive_referrals(
    store: StateStore,
    ids: Iterable[str],
    definitions: list[QualifiedReferralDefinition],
    *,
    now: datetime,
    tz: ZoneInfo,
) -> DerivedReferrals:
    """Link, qualify and coarsen the referrals ``ids``; store each changed one once."""
    result = DerivedReferrals()
    batch = list(dict.fromkeys(ids))
    for start in range(0, len(batch), _BATCH):
        records = store.get_records("referral", batch[start : start + _BATCH])
        live = [r for r in records.values() if not r.tombstone]
        npis = {str(r.data["referring_npi"]) for r in live if r.data.get("referring_npi")}
        clinicians = clinicians_by_npi(store, npis)
        staff = _practices(store, live)
        updates: list[tuple[str, dict[str, Any], bool]] = []
        for rec in live:
            data = _linked(rec.data, clinicians, result)
            if (practiced := _with_practice(data, staff)) is not data:
                data = practiced
                result.linked.append(rec.id)
            if definitions:
                data = requalified(data, definitions, now) or data
            data = {**data, **coarsen_referral(data, tz)}
            if data != rec.data:
                updates.append((rec.id, data, False))
        if updates:
            store.put_records("referral", updates, read=records)
            result.stored += len(updates)
    return result


def _linked(
    data: dict[str, Any], clinicians: dict[str, dict[str, Any]], result: DerivedReferrals
) -> dict[str, Any]:
    npi = data.get("referring_npi")
    if not npi:
        return data
    clinician = clinicians.get(str(npi))
    number = str(data.get("referral_number") or data["id"])
    if clinician is None or clinician.get("prospect"):  # a prospect is a lead, not a referrer
        result.unresolved[number] = str(npi)
        result.names[number] = data.get("referring_name")
        if clinician is not None:
            result.prospects.add(str(npi))
        return data
    linked = linked_to(data, clinician)
    if linked is None:
        return data
    result.linked.append(str(data["id"]))
    return linked


def _practices(store: StateStore, referrals: list[StoredRecord]) -> dict[str, str]:
    """Clinician id -> practice, for referrals tied to a clinician but to no practice."""
    ids = {
        str(r.data["clinician_id"])
        for r in referrals
        if r.data.get("clinician_id") and not r.data.get("partner_id")
    }
    found = store.get_records("clinician", ids) if ids else {}
    return {
        cid: str(rec.data["partner_id"])
        for cid, rec in found.items()
        if not rec.tombstone and rec.data.get("partner_id")
    }


def _with_practice(data: dict[str, Any], staff: dict[str, str]) -> dict[str, Any]:
    """A referral tied to a clinician but no practice gets the clinician's (once it has one)."""
    if data.get("partner_id") or not data.get("clinician_id"):
        return data
    practice = staff.get(str(data["clinician_id"]))
    return {**data, "partner_id": practice} if practice else data
