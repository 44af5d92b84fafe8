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

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sync.state import StateStore

__all__ = ["clinicians_by_npi", "linked_to", "ref_resolver", "unlinked_referral_ids"]


def ref_resolver(store: StateStore, system: str) -> Callable[[str, str], str | None]:
    """The ``ref`` transform's lookup for records read from ``system``: a native id of an
    entity -> refsync's id, through the links refsync keeps for ``system`` (records it read
    or wrote there), else the value itself when it already is a refsync id; None otherwise
    (the record is rejected, naming the entity to sync first). Answers are cached per run."""
    known: dict[tuple[str, str], str | None] = {}

    def resolve(entity: str, native: str) -> str | None:
        if (entity, native) not in known:
            found = store.canonical_ids_for(entity, system, [native]).get(native)
            if found is None and store.get_record(entity, native) is not None:
                found = native
            known[(entity, native)] = found
        return known[(entity, native)]

    return resolve


def unlinked_referral_ids(store: StateStore, clinicians: Collection[str] = ()) -> list[str]:
    """Referrals that name a referring NPI but no clinician yet (waiting for a referrer), and
    those linked to one of ``clinicians`` without a practice (it may have one now)."""
    # The fields read are kept in clear: the other referrals are never opened (decrypted).
    wanted = frozenset(clinicians)
    waiting = store.iter_records(
        "referral", where=lambda d: _waiting_for_referrer(d, wanted), fields=("id",)
    )
    return [r.id for r in waiting]


def _waiting_for_referrer(data: Mapping[str, Any], clinicians: frozenset[str]) -> bool:
    if not data.get("clinician_id"):
        return bool(data.get("referring_npi"))
    return not data.get("partner_id") and data["clinician_id"] in clinicians


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
