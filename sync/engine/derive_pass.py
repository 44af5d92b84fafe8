"""The referrals a run touched, derived in one pass: referrer links, qualification, and the
coarse fields deidentified destinations receive.

Each step is a pure function of one record (:func:`sync.engine.referrers.linked_to`,
:func:`sync.engine.derived.requalified`, :func:`sync.engine.derived.coarsen_referral`); the
pass reads each referral once and stores it once, only when a step changed it. (PHI at rest
is sealed: a read and a write per step per record cost as much as the steps themselves.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mapping.model import QualifiedReferralDefinition
from sync.engine.derived import coarsen_referral, requalified
from sync.engine.referrers import clinicians_by_npi, linked_to
from sync.state import StateStore

__all__ = ["DerivedReferrals", "Lookups", "Outcome", "derive_one", "derive_referrals"]

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

    def add(self, cid: str, outcome: Outcome) -> None:
        """Count what deriving referral ``cid`` found."""
        self.linked += [cid] * outcome.links
        if outcome.unresolved is not None:
            number, npi, name = outcome.unresolved
            self.unresolved[number], self.names[number] = npi, name
            if outcome.prospect:
                self.prospects.add(npi)

    def waiting_names(self) -> dict[str, list[str | None]]:
        """NPI -> the referring names of the referrals waiting for it."""
        out: dict[str, list[str | None]] = {}
        for number, npi in self.unresolved.items():
            out.setdefault(npi, []).append(self.names.get(number))
        return out


@dataclass(frozen=True, slots=True)  # slots: a first run keeps one per referral until derive
class Outcome:
    """What deriving one referral found besides its new data."""

    links: int = 0  # times its referrer or practice changed (a link and a practice: 2)
    unresolved: tuple[str, str, str | None] | None = None  # number, NPI, referring name
    prospect: bool = False  # the unresolved NPI is held by a prospect clinician
    # False: found on a page the referral was merged on before a later page changed it
    # again; it must be derived again, and links already made on that page still count
    settled: bool = True


@dataclass(frozen=True)
class Lookups:
    """The clinicians a set of referrals needs: by NPI, and practices by clinician id."""

    clinicians: dict[str, dict[str, Any]]
    staff: dict[str, str]

    @classmethod
    def of(cls, store: StateStore, referrals: Sequence[Mapping[str, Any]]) -> Lookups:
        npis = {str(d["referring_npi"]) for d in referrals if d.get("referring_npi")}
        return cls(clinicians_by_npi(store, npis), _practices(store, referrals))


def derive_one(
    data: dict[str, Any],
    lookups: Lookups,
    definitions: list[QualifiedReferralDefinition],
    *,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[dict[str, Any], Outcome]:
    """One live referral linked, qualified and coarsened (pure, given ``lookups``)."""
    data, outcome = _linked(data, lookups.clinicians)
    if (practiced := _with_practice(data, lookups.staff)) is not data:
        data = practiced
        outcome = replace(outcome, links=outcome.links + 1)
    if definitions:
        data = requalified(data, definitions, now) or data
    return {**data, **coarsen_referral(data, tz)}, outcome


def derive_referrals(
    store: StateStore,
    ids: Iterable[str],
    definitions: list[QualifiedReferralDefinition],
    *,
    now: datetime,
    tz: ZoneInfo,
    prederived: Mapping[str, Outcome] | None = None,
) -> DerivedReferrals:
    """Link, qualify and coarsen the referrals ``ids``; store each changed one once.

    ``prederived``: referrals already derived and stored with the same definitions, ``now``
    and clinicians (:mod:`sync.engine.page_derive`), and what that found; the settled ones
    are not read again."""
    result = DerivedReferrals()
    done = prederived or {}
    batch = []
    for cid in dict.fromkeys(ids):
        if cid in done and done[cid].settled:
            result.add(cid, done[cid])
        else:
            batch.append(cid)
    for start in range(0, len(batch), _BATCH):
        records = store.get_records("referral", batch[start : start + _BATCH])
        live = [r for r in records.values() if not r.tombstone]
        lookups = Lookups.of(store, [r.data for r in live])
        updates: list[tuple[str, dict[str, Any], bool]] = []
        for rec in live:
            data, outcome = derive_one(rec.data, lookups, definitions, now=now, tz=tz)
            if (earlier := done.get(rec.id)) is not None:
                outcome = replace(outcome, links=max(outcome.links, earlier.links))
            result.add(rec.id, outcome)
            if data != rec.data:
                updates.append((rec.id, data, False))
        if updates:
            store.put_records("referral", updates, read=records)
            result.stored += len(updates)
    return result


def _linked(
    data: dict[str, Any], clinicians: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], Outcome]:
    npi = data.get("referring_npi")
    if not npi:
        return data, _NOTHING
    clinician = clinicians.get(str(npi))
    number = str(data.get("referral_number") or data["id"])
    if clinician is None or clinician.get("prospect"):  # a prospect is a lead, not a referrer
        waiting = (number, str(npi), data.get("referring_name"))
        return data, Outcome(unresolved=waiting, prospect=clinician is not None)
    linked = linked_to(data, clinician)
    if linked is None:
        return data, _NOTHING
    return linked, _LINKED


_NOTHING = Outcome()
_LINKED = Outcome(links=1)


def _practices(store: StateStore, referrals: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Clinician id -> practice, for referrals tied to a clinician but to no practice."""
    ids = {
        str(d["clinician_id"])
        for d in referrals
        if d.get("clinician_id") and not d.get("partner_id")
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
