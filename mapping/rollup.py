"""A partner's rollup from one compact entry per referral, folded again on every run.

:mod:`sync.engine.rollups` writes onto each partner a few of its measures: counts, last
referral and outreach, and over the rollup window the referrals, acceptance, leakage, median
days to schedule and referrals after outreach, with the partner's trend and status. Computed
from the canonical referrals, that means opening, validating and measuring every referral of
the partner whenever one of them changes.

An :class:`Entry` keeps what those measures read of one referral: times as integer
microseconds since the epoch (exact, as datetimes are), the stages it reached as flags, its
schedule target. It depends on the referral and the qualified-referral definitions only --
not on ``now``, the settings or outreach, which :func:`partner_rollup` applies each time it
folds a partner's entries. So a run that changes k referrals builds k entries, and the
figures equal :func:`mapping.measures.compute`'s for that partner, given the outreach to
the partner and to the clinicians of its referrals (``tests/mapping/test_rollup.py`` checks
it on random programs).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from mapping._facts import ACCEPTED_OR_LATER, NOT_HELD, facts_of
from mapping._rates import Distribution, Rate
from mapping._standing import Trend, status_of, trend_of
from mapping.measures import MeasureConfig
from mapping.model import (
    Attendance,
    OutreachActivity,
    QualifiedReferralDefinition,
    Referral,
    RelationshipStatus,
    Stage,
)
from mapping.stages import OPEN_STAGES

__all__ = ["Entry", "PartnerRollup", "entry_of", "partner_rollup"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_DAY = 86400.0
_ACCEPTED, _DECLINED, _WAS_SCHEDULED = 1, 2, 4
_OPEN = frozenset(s.value for s in OPEN_STAGES)


class Entry(NamedTuple):
    """What a rollup reads of one referral (stored as a JSON array, in this order)."""

    id: str
    version: int  # the version of the stored referral it was built from
    clinician_id: str | None
    stage: str
    received: str | None  # ``received_at`` as the referral holds it (ISO 8601)
    received_us: int | None
    referred_us: int | None  # the referred time; None: undated
    flags: int  # accepted (and not declined), declined, scheduled or later
    to_schedule: float | None  # days from referred to first scheduled
    schedule_due_days: int | None  # the schedule target; None: never due (none, or declined)


@dataclass(frozen=True, slots=True)
class PartnerRollup:
    """One partner's rollup figures (see the module docstring of :mod:`mapping.measures`)."""

    total: int
    completed: int
    open: int
    last_received: str | None
    last_outreach: datetime | None
    recent: int
    acceptance: Rate
    leakage: Rate
    to_schedule: Distribution
    after_outreach: int
    trend: Trend
    status: RelationshipStatus


def _us(at: datetime) -> int:
    return (at - _EPOCH) // _US


def entry_of(
    referral: Referral, version: int, definitions: Sequence[QualifiedReferralDefinition]
) -> Entry:
    """The entry of one referral, from the same facts :func:`mapping.measures.compute` uses."""
    f = facts_of(referral, {}, definitions, _EPOCH)  # ``now`` only dates an undated one
    declined = Stage.DECLINED in f.reached
    flags = (_DECLINED if declined else 0) | (_WAS_SCHEDULED if f.was_scheduled else 0)
    if f.reached & ACCEPTED_OR_LATER and not declined:
        flags |= _ACCEPTED
    scheduled, referred, received = f.scheduled_at, f.referred_at, referral.received_at
    return Entry(
        id=referral.id,
        version=version,
        clinician_id=referral.clinician_id,
        stage=referral.stage.value,
        received=received.isoformat() if received else None,
        received_us=_us(received) if received else None,
        referred_us=_us(referred) if referred else None,
        flags=flags,
        to_schedule=(
            (scheduled - referred).total_seconds() / _DAY if scheduled and referred else None
        ),
        schedule_due_days=None if declined else f.targets.schedule_within_days,
    )


def partner_rollup(
    partner_id: str,
    entries: Sequence[Entry],
    staff: Iterable[str],
    outreach: Iterable[OutreachActivity],
    *,
    now: datetime,
    config: MeasureConfig,
) -> PartnerRollup:
    """Fold one partner's entries as of ``now``. ``staff``: its clinicians; ``outreach``:
    every activity to it, its staff, or the clinicians of its referrals (more does no harm)."""
    activities = list(outreach)
    now_us, staff = _us(now), set(staff)
    dated = [e for e in entries if e.referred_us is not None and e.referred_us <= now_us]
    start = now_us - config.windows[0] * _DAY_US
    inside = [e for e in dated if e.referred_us is not None and e.referred_us > start]
    touched = _Touches.of(partner_id, activities, now, config.attribution_days)
    reached = [
        o
        for o in activities
        if o.occurred_at <= now
        and o.attendance is not Attendance.CANCELLED
        and (o.partner_id == partner_id or staff.intersection(o.clinician_ids))
    ]
    period, active = config.trend_days * _DAY_US, now_us - config.active_days * _DAY_US
    times = [e.referred_us for e in dated if e.referred_us is not None]
    current = sum(t > now_us - period for t in times)
    previous = sum(now_us - 2 * period < t <= now_us - period for t in times)
    return PartnerRollup(
        total=len(entries),
        completed=sum(e.stage == Stage.COMPLETED.value for e in entries),
        open=sum(e.stage in _OPEN for e in entries),
        last_received=_last_received(entries),
        last_outreach=_last_outreach(partner_id, activities),
        recent=len(inside),
        acceptance=_acceptance(inside),
        leakage=_leakage(inside, now_us),
        to_schedule=Distribution(
            tuple(sorted(e.to_schedule for e in inside if e.to_schedule is not None))
        ),
        after_outreach=sum(touched.any(e) for e in inside),
        trend=trend_of(current, previous, len(times), config.trend_threshold),
        status=status_of(any(t > active for t in times), bool(times), reached),
    )


def _last_received(entries: Sequence[Entry]) -> str | None:
    best: Entry | None = None
    for e in entries:  # the first of equal instants, as max() over the datetimes picks
        if e.received_us is not None and (best is None or e.received_us > (best.received_us or 0)):
            best = e
    return best.received if best else None


def _last_outreach(partner_id: str, activities: Sequence[OutreachActivity]) -> datetime | None:
    """The latest activity logged against the partner itself that was not cancelled."""
    held = [o.occurred_at for o in activities
            if o.partner_id == partner_id and o.attendance is not Attendance.CANCELLED]  # fmt: skip
    return max(held, default=None)


def _acceptance(inside: Sequence[Entry]) -> Rate:
    accepted = sum(bool(e.flags & _ACCEPTED) for e in inside)
    return Rate(accepted, accepted + sum(bool(e.flags & _DECLINED) for e in inside))


def _leakage(inside: Sequence[Entry], now_us: int) -> Rate:
    """Due for scheduling (scheduled, or past the target) and never scheduled / due."""
    due = [
        e
        for e in inside
        if e.schedule_due_days is not None
        and e.referred_us is not None
        and (e.to_schedule is not None or now_us - e.referred_us > e.schedule_due_days * _DAY_US)
    ]
    return Rate(sum(not e.flags & _WAS_SCHEDULED for e in due), len(due))


@dataclass(frozen=True, slots=True)
class _Touches:
    """Held outreach times (sorted microseconds) to the partner and to each clinician."""

    partner: list[int]
    clinicians: Mapping[str, list[int]]
    window: int

    @classmethod
    def of(
        cls, partner_id: str, activities: Sequence[OutreachActivity], now: datetime, days: int
    ) -> _Touches:
        partner: list[int] = []
        clinicians: dict[str, list[int]] = {}
        for o in activities:
            if o.occurred_at > now or o.attendance in NOT_HELD:
                continue
            at = _us(o.occurred_at)
            if o.partner_id == partner_id:
                partner.append(at)
            for c in set(o.clinician_ids):
                clinicians.setdefault(c, []).append(at)
        for times in (partner, *clinicians.values()):
            times.sort()
        return cls(partner, clinicians, days * _DAY_US)

    def any(self, e: Entry) -> bool:
        """Outreach to the partner or the referral's clinician in the window before it."""
        at = e.referred_us
        if at is None:
            return False
        own = self.clinicians.get(e.clinician_id or "", []) if e.clinician_id else []
        return any(_between(times, at - self.window, at) for times in (self.partner, own))


def _between(times: Sequence[int], low: int, high: int) -> bool:
    i = bisect_left(times, low)
    return i < len(times) and times[i] <= high
