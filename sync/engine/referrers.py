"""Tie each referral to who sent it: referring NPI -> clinician -> partner.

Scheduling exports and FHIR ServiceRequests carry the referring provider's NPI (a public
provider identifier, not PHI), mapped to the canonical ``referral.referring_npi``. A referral
whose NPI belongs to a clinician the store knows (read from any connected system: clinicians
are matched across systems by NPI) gets that clinician and the clinician's practice. The NPI
is authoritative: a referral whose NPI changes is relinked. An NPI nobody knows yet is never
guessed: the referral keeps it and is listed as an unresolved referrer until the clinician
arrives, and every run that brings clinicians re-resolves the referrals still waiting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sync.state import StateStore

__all__ = ["LinkResult", "clinicians_by_npi", "link_referrers", "linked_to"]

_BATCH = 2000


@dataclass
class LinkResult:
    linked: list[str] = field(default_factory=list)  # referral ids whose links changed
    unresolved: dict[str, str] = field(default_factory=dict)  # referral number -> NPI


def link_referrers(store: StateStore, ids: Iterable[str] | None) -> LinkResult:
    """Link the referrals ``ids`` (None: every referral not linked yet) to their referrers."""
    result = LinkResult()
    batch = _unlinked_ids(store) if ids is None else list(dict.fromkeys(ids))
    for start in range(0, len(batch), _BATCH):
        records = store.get_records("referral", batch[start : start + _BATCH])
        live = [r for r in records.values() if not r.tombstone and r.data.get("referring_npi")]
        npis = {str(r.data["referring_npi"]) for r in live}
        clinicians = clinicians_by_npi(store, npis)
        updates: list[tuple[str, dict[str, Any], bool]] = []
        for rec in live:
            npi = str(rec.data["referring_npi"])
            clinician = clinicians.get(npi)
            if clinician is None:
                result.unresolved[str(rec.data.get("referral_number") or rec.id)] = npi
                continue
            linked = linked_to(rec.data, clinician)
            if linked is not None:
                updates.append((rec.id, linked, False))
        if updates:
            store.put_records("referral", updates)
            result.linked += [cid for cid, _, _ in updates]
    return result


def _unlinked_ids(store: StateStore) -> list[str]:
    return [
        r.id
        for r in store.iter_records("referral")
        if r.data.get("referring_npi") and not r.data.get("clinician_id")
    ]


def clinicians_by_npi(store: StateStore, npis: set[str]) -> dict[str, dict[str, Any]]:
    """NPI -> the clinician record holding it."""
    if not npis:
        return {}
    ids = store.find_ids_by_key("clinician", "npi", npis)
    records = store.get_records("clinician", set(ids.values()))
    return {npi: records[cid].data for npi, cid in ids.items() if cid in records}


def linked_to(data: dict[str, Any], clinician: dict[str, Any]) -> dict[str, Any] | None:
    """The referral tied to ``clinician`` and its practice; None when nothing changes."""
    partner = clinician.get("partner_id") or data.get("partner_id")
    if data.get("clinician_id") == clinician["id"] and data.get("partner_id") == partner:
        return None
    return {**data, "clinician_id": clinician["id"], "partner_id": partner}
