"""What the measures need to know about one referral, read once from its canonical record.

Private to :mod:`mapping.measures`. Times come from the referral's stage history (a complete,
time-ordered log of what each system said, see DESIGN.md) plus the canonical dates
(``received_at``, ``completed_at``, ``loop_closed_at``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mapping.model import (
    Attendance,
    Clinician,
    OutreachActivity,
    QualifiedReferralDefinition,
    Referral,
    ServiceTargets,
    Stage,
)
from mapping.qualification import service_line_key
from mapping.qualification import version_key as _natural

__all__ = [
    "ACCEPTED_OR_LATER",
    "NOT_HELD",
    "Facts",
    "OutreachIndex",
    "facts_of",
    "fold",
    "percentile",
    "referred_time",
    "targets_for",
    "touches_of",
    "version_key",
]

ACCEPTED_OR_LATER = frozenset({Stage.ACCEPTED, Stage.SCHEDULED, Stage.COMPLETED, Stage.NO_SHOW})
_NOT_A_RESPONSE = frozenset({Stage.CONTACTED, Stage.REFERRED})
_SCHEDULED_OR_LATER = frozenset({Stage.SCHEDULED, Stage.COMPLETED, Stage.NO_SHOW})
NOT_HELD = frozenset({Attendance.CANCELLED, Attendance.NO_SHOW})
"""Outreach that did not happen: it touches no referral."""


fold = service_line_key
version_key = _natural


def targets_for(
    line: str | None, definitions: Sequence[QualifiedReferralDefinition], at: datetime
) -> ServiceTargets:
    """The targets of the definition in effect for ``line`` at ``at`` (highest version)."""
    if not line:
        return ServiceTargets()
    day = at.date()
    fits = [
        d
        for d in definitions
        if fold(d.service_line) == fold(line) and (d.effective_from or date.min) <= day
    ]
    if not fits:
        return ServiceTargets()
    return max(fits, key=lambda d: (version_key(d.version), d.effective_from or date.min)).targets


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0..100) by linear interpolation between closest ranks.

    Hyndman & Fan type 7 -- what Excel's PERCENTILE.INC and numpy's default compute, so an
    analyst can check a figure in a spreadsheet: sort the n values, take the position
    h = (n - 1) * p / 100, and interpolate between the values at floor(h) and ceil(h).
    One value is every percentile of itself; no value gives None.
    """
    if not values:
        return None
    ordered = sorted(values)
    h = (len(ordered) - 1) * p / 100
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


@dataclass(frozen=True, slots=True)
class Facts:
    """One referral as the measures see it."""

    referral: Referral
    partner_id: str | None
    line: str | None
    referred_at: datetime | None
    first: dict[Stage, datetime]
    reached: frozenset[Stage]
    targets: ServiceTargets

    def at(self, stage: Stage) -> datetime | None:
        return self.first.get(stage)

    @property
    def responded_at(self) -> datetime | None:
        """First move past ``referred`` (intake, accepted, declined, cancelled, ...)."""
        start = self.referred_at
        times = [t for s, t in self.first.items() if s not in _NOT_A_RESPONSE]
        later = [t for t in times if start is None or t >= start]
        return min(later) if later else None

    @property
    def scheduled_at(self) -> datetime | None:
        return self.first.get(Stage.SCHEDULED)

    @property
    def completed_at(self) -> datetime | None:
        return self.referral.completed_at or self.first.get(Stage.COMPLETED)

    @property
    def was_scheduled(self) -> bool:
        return bool(self.reached & _SCHEDULED_OR_LATER)


def referred_time(referral: Referral) -> datetime | None:
    """When the referral was referred: ``received_at``, else its first event past contacted."""
    first: dict[Stage, datetime] = {}
    for event in referral.stage_history:
        first[event.stage] = min(event.entered_at, first.get(event.stage, event.entered_at))
    return _referred(referral, first)


def _referred(referral: Referral, first: dict[Stage, datetime]) -> datetime | None:
    return referral.received_at or min(
        (t for s, t in first.items() if s is not Stage.CONTACTED), default=None
    )


def facts_of(
    referral: Referral,
    clinicians: dict[str, Clinician],
    definitions: Sequence[QualifiedReferralDefinition],
    now: datetime,
) -> Facts:
    first: dict[Stage, datetime] = {}
    for event in sorted(referral.stage_history, key=lambda e: e.entered_at):
        first.setdefault(event.stage, event.entered_at)
    referred_at = _referred(referral, first)
    partner = referral.partner_id
    if partner is None and referral.clinician_id in clinicians:
        partner = clinicians[referral.clinician_id].partner_id
    return Facts(
        referral=referral,
        partner_id=partner,
        line=referral.service_line,
        referred_at=referred_at,
        first=first,
        reached=frozenset(first) | {referral.stage},
        targets=targets_for(referral.service_line, definitions, referred_at or now),
    )


@dataclass(frozen=True, slots=True)
class OutreachIndex:
    """Outreach activities by the partner and by the clinicians they reached."""

    by_partner: dict[str, list[OutreachActivity]]
    by_clinician: dict[str, list[OutreachActivity]]

    @classmethod
    def of(cls, activities: Iterable[OutreachActivity]) -> OutreachIndex:
        by_partner: dict[str, list[OutreachActivity]] = {}
        by_clinician: dict[str, list[OutreachActivity]] = {}
        for o in activities:
            if o.partner_id is not None:
                by_partner.setdefault(o.partner_id, []).append(o)
            for c in dict.fromkeys(o.clinician_ids):
                by_clinician.setdefault(c, []).append(o)
        return cls(by_partner, by_clinician)

    def near(self, partner_id: str | None, clinician_ids: Iterable[str]) -> list[OutreachActivity]:
        """Every activity to the partner or one of the clinicians, each once."""
        found = {id(o): o for o in self.by_partner.get(partner_id or "", [])}
        for c in clinician_ids:
            found |= {id(o): o for o in self.by_clinician.get(c, [])}
        return list(found.values())


def touches_of(facts: Facts, index: OutreachIndex, window: timedelta) -> list[OutreachActivity]:
    """Outreach to the referral's partner or clinician in the ``window`` before it was
    referred, oldest first (cancelled and unattended activities did not happen)."""
    at = facts.referred_at
    if at is None:
        return []
    clinician = facts.referral.clinician_id
    found = [
        o
        for o in index.near(facts.partner_id, [clinician] if clinician else [])
        if o.attendance not in NOT_HELD and timedelta(0) <= at - o.occurred_at <= window
    ]
    return sorted(found, key=lambda o: (o.occurred_at, o.id))
