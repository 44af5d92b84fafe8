"""The program's measures: pure folds of canonical records over rolling windows.

:func:`compute` takes referrals, partners, clinicians, outreach and qualified-referral
definitions and an injected ``now``; it does no I/O. Results are per partner, per partner x
service line, per service line, program-wide, and per outreach activity and campaign.

Definitions (every one is checked by hand in ``tests/mapping/test_measures.py``):

- A referral's **referred time** is ``received_at``, else its first stage event other than
  ``contacted``. A referral is in a window of *d* days when ``now - d < referred <= now``;
  referrals without one are counted as ``undated``. Its **partner** is ``partner_id``, else
  its clinician's partner. Its **targets** come from the definition of its service line
  (case-insensitive) in effect when it was referred, highest version in natural order.
- **funnel**: per main-path stage from ``referred``, the referrals that got at least that far
  (a skipped stage counts as passed; a no-show had been scheduled; every dated referral
  was referred).
- **acceptance**: reached accepted or later / (that + declined); undecided ones are left out.
- **complete at first submission**: qualification ``qualified`` / referrals with a
  qualification. The hub keeps the current qualification only, so a referral completed by
  intake later counts as complete; **missing documents** count the ``document:`` items of
  the referrals that are incomplete now.
- **days to schedule / to complete**: first ``scheduled`` event (``completed_at``, else the
  first ``completed`` event) minus the referred time, in days; median and 90th percentile by
  :func:`percentile` (linear interpolation, Excel PERCENTILE.INC).
- **SLA breaches**, per target, over the referrals that are *due* (answered / scheduled /
  closed, or past the target without it): ``respond`` (first move past referred, within
  hours), ``schedule`` (first scheduled, within days; declined referrals are not due),
  ``close_loop`` (loop closed after completion, within days).
- **leakage**: due for scheduling and never scheduled (lost, or still waiting past the
  target) / due; a referral scheduled late is a breach, not leakage.
- **no-show**: reached no_show / reached scheduled, completed or no_show.
- **loop closure within target**: closed in time / due for closure.
- **after outreach**: referrals with outreach to their partner or clinician in the
  ``attribution_days`` before they were referred. Per activity, *last touch* credits the
  latest such activity, *any touch* every one.
- **trend** (per partner, ``trend_days`` T): referrals in the last T days against the T
  before: ``none`` (never referred), ``new`` (nothing before the last T), ``lapsed``
  (nothing in the last T), ``growing`` / ``declining`` (up / down by more than
  ``trend_threshold``), else ``steady``.
- **derived status**: ``active`` (referred within ``active_days``), ``dormant`` (referred
  before), ``engaged`` (never referred; an attended outreach), ``contacted`` (outreach),
  else ``prospect``.
- **suppression** (:func:`suppress_count`, :func:`suppress_rate`): counts 1..threshold-1
  are hidden (CMS cell-size suppression, threshold 11); a rate is hidden when its
  numerator, denominator or their difference is such a count.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mapping._facts import (
    ACCEPTED_OR_LATER,
    Facts,
    OutreachIndex,
    facts_of,
    fold,
    percentile,
    referred_time,
    touches_of,
)
from mapping._rates import Distribution, Rate, suppress_count, suppress_rate
from mapping._standing import Trend, status_of, trend_of
from mapping.model import (
    Attendance,
    Clinician,
    OutreachActivity,
    Partner,
    QualificationStatus,
    QualifiedReferralDefinition,
    Referral,
    RelationshipStatus,
    Stage,
)

__all__ = [
    "FUNNEL",
    "Attribution",
    "Distribution",
    "MeasureConfig",
    "PartnerMeasures",
    "ProgramMeasures",
    "Rate",
    "Trend",
    "WindowMeasures",
    "compute",
    "percentile",
    "referred_time",
    "suppress_count",
    "suppress_rate",
]

_DAY = 86400.0
FUNNEL = (Stage.REFERRED, Stage.INTAKE_RECEIVED, Stage.ACCEPTED, Stage.SCHEDULED, Stage.COMPLETED)
# How far along the main path a stage proves a referral got (a no-show had been scheduled).
_RANK = {**{s: i for i, s in enumerate(FUNNEL)}, Stage.NO_SHOW: 3}
_EndOf = Callable[[Facts], datetime | None]
_KeyOf = Callable[[OutreachActivity], str | None]


@dataclass(frozen=True, slots=True)
class MeasureConfig:
    windows: tuple[int, ...] = (30, 90, 365)
    attribution_days: int = 30
    trend_days: int = 90
    trend_threshold: float = 0.2
    active_days: int = 90


@dataclass(frozen=True, slots=True)
class WindowMeasures:
    days: int
    referrals: int
    by_stage: dict[str, int]
    funnel: dict[str, int]
    acceptance: Rate
    complete_first: Rate
    missing_documents: dict[str, int]
    to_schedule: Distribution
    to_complete: Distribution
    leakage: Rate
    no_show: Rate
    loop_closure: Rate
    sla_breaches: dict[str, Rate]
    after_outreach: int


@dataclass(frozen=True, slots=True)
class PartnerMeasures:
    partner_id: str
    name: str
    windows: dict[int, WindowMeasures]
    by_service_line: dict[str, dict[int, WindowMeasures]]
    days_since_outreach: int | None
    trend: Trend
    status: RelationshipStatus


@dataclass(frozen=True, slots=True)
class Attribution:
    """Referrals credited to one outreach activity (or campaign)."""

    key: str
    last_touch: int = 0
    any_touch: int = 0
    completed_after: int = 0


@dataclass(frozen=True, slots=True)
class ProgramMeasures:
    now: datetime
    config: MeasureConfig
    windows: dict[int, WindowMeasures]
    by_service_line: dict[str, dict[int, WindowMeasures]]
    partners: list[PartnerMeasures]
    outreach: list[Attribution]
    campaigns: list[Attribution]
    undated: int
    without_partner: int


def compute(
    referrals: Iterable[Referral],
    partners: Iterable[Partner],
    clinicians: Iterable[Clinician],
    outreach: Iterable[OutreachActivity],
    definitions: Sequence[QualifiedReferralDefinition],
    *,
    now: datetime,
    config: MeasureConfig = MeasureConfig(),
) -> ProgramMeasures:
    """Every measure of the program as of ``now`` (see the module docstring)."""
    base = _Base.of(referrals, clinicians, outreach, definitions, now, config)
    return ProgramMeasures(
        now=now,
        config=config,
        windows=_windows(base.dated, base.touched, now, config),
        by_service_line=_by_line(base.dated, base.touched, now, config),
        partners=[_partner(p, base, now, config) for p in partners],
        outreach=_attribute(base.dated, base.touches, lambda o: o.id),
        campaigns=_attribute(base.dated, base.touches, lambda o: o.campaign),
        undated=sum(1 for f in base.facts if f.referred_at is None),
        without_partner=sum(1 for f in base.dated if f.partner_id is None),
    )


@dataclass(frozen=True, slots=True)
class _Base:
    """What every measure starts from: each referral's facts, the dated ones, the outreach
    that touched each, and each partner's dated referrals and clinicians."""

    facts: list[Facts]
    dated: list[Facts]
    touches: dict[str, list[OutreachActivity]]
    touched: set[str]
    index: OutreachIndex
    mine: dict[str, list[Facts]]
    staff: dict[str, list[str]]

    @classmethod
    def of(
        cls,
        referrals: Iterable[Referral],
        clinicians: Iterable[Clinician],
        outreach: Iterable[OutreachActivity],
        definitions: Sequence[QualifiedReferralDefinition],
        now: datetime,
        config: MeasureConfig,
    ) -> _Base:
        by_clinician = {c.id: c for c in clinicians}
        index = OutreachIndex.of(o for o in outreach if o.occurred_at <= now)
        facts = [facts_of(r, by_clinician, definitions, now) for r in referrals]
        dated = [f for f in facts if f.referred_at is not None and f.referred_at <= now]
        window = timedelta(days=config.attribution_days)
        touches = {f.referral.id: touches_of(f, index, window) for f in dated}
        mine: dict[str, list[Facts]] = defaultdict(list)
        for f in dated:
            mine[f.partner_id or ""].append(f)
        staff: dict[str, list[str]] = defaultdict(list)
        for c in by_clinician.values():
            staff[c.partner_id or ""].append(c.id)
        touched = {rid for rid, found in touches.items() if found}
        return cls(facts, dated, touches, touched, index, mine, staff)


def _windows(
    facts: Sequence[Facts], touched: set[str], now: datetime, config: MeasureConfig
) -> dict[int, WindowMeasures]:
    return {d: _window(d, facts, touched, now) for d in config.windows}


def _by_line(
    facts: Sequence[Facts], touched: set[str], now: datetime, config: MeasureConfig
) -> dict[str, dict[int, WindowMeasures]]:
    lines: dict[str, list[Facts]] = defaultdict(list)
    for f in facts:
        lines[fold(f.line) if f.line else "(none)"].append(f)
    return {line: _windows(group, touched, now, config) for line, group in sorted(lines.items())}


def _window(days: int, facts: Sequence[Facts], touched: set[str], now: datetime) -> WindowMeasures:
    start = now - timedelta(days=days)
    inside = [f for f in facts if f.referred_at is not None and start < f.referred_at <= now]
    qualified = [f.referral.qualification for f in inside if f.referral.qualification]
    missing = Counter(
        item.removeprefix("document:")
        for q in qualified
        if q.status is QualificationStatus.INCOMPLETE
        for item in q.missing
        if item.startswith("document:")
    )
    scheduled = [f for f in inside if f.was_scheduled]
    return WindowMeasures(
        days=days,
        referrals=len(inside),
        by_stage=dict(sorted(Counter(f.referral.stage.value for f in inside).items())),
        funnel=_funnel(inside),
        acceptance=_acceptance(inside),
        complete_first=Rate(
            sum(q.status is QualificationStatus.QUALIFIED for q in qualified), len(qualified)
        ),
        missing_documents=dict(sorted(missing.items(), key=lambda kv: (-kv[1], kv[0]))),
        to_schedule=_days(inside, lambda f: f.scheduled_at),
        to_complete=_days(inside, lambda f: f.completed_at),
        leakage=_leakage(inside, now),
        no_show=Rate(sum(Stage.NO_SHOW in f.reached for f in scheduled), len(scheduled)),
        loop_closure=_closure(inside, now, breaches=False),
        sla_breaches={
            "respond": _respond(inside, now),
            "schedule": _schedule(inside, now),
            "close_loop": _closure(inside, now, breaches=True),
        },
        after_outreach=sum(f.referral.id in touched for f in inside),
    )


def _funnel(facts: Sequence[Facts]) -> dict[str, int]:
    furthest = [max(_RANK.get(s, 0) for s in f.reached) for f in facts]
    return {s.value: sum(r >= _RANK[s] for r in furthest) for s in FUNNEL}


def _acceptance(facts: Sequence[Facts]) -> Rate:
    declined = sum(Stage.DECLINED in f.reached for f in facts)
    accepted = sum(
        bool(f.reached & ACCEPTED_OR_LATER) and Stage.DECLINED not in f.reached for f in facts
    )
    return Rate(accepted, accepted + declined)


def _days(facts: Sequence[Facts], end_of: _EndOf) -> Distribution:
    values = []
    for f in facts:
        end = end_of(f)
        if end is not None and f.referred_at is not None:
            values.append((end - f.referred_at).total_seconds() / _DAY)
    return Distribution(tuple(sorted(values)))


def _due(start: datetime | None, done: datetime | None, limit: timedelta, now: datetime) -> Rate:
    """Rate(1 if breached, 1 if due) for one target; Rate(0, 0) when not due yet."""
    if start is None:
        return Rate()
    if done is not None:
        return Rate(int(done - start > limit), 1)
    return Rate(1, 1) if now - start > limit else Rate()


def _sum(rates: Iterable[Rate]) -> Rate:
    parts = list(rates)
    return Rate(sum(r.numerator for r in parts), sum(r.denominator for r in parts))


def _respond(facts: Sequence[Facts], now: datetime) -> Rate:
    return _sum(
        _due(f.referred_at, f.responded_at, timedelta(hours=hours), now)
        for f in facts
        if (hours := f.targets.respond_within_hours) is not None
    )


def _schedule_due(f: Facts, now: datetime) -> Rate:
    days = f.targets.schedule_within_days
    if days is None or Stage.DECLINED in f.reached:
        return Rate()
    return _due(f.referred_at, f.scheduled_at, timedelta(days=days), now)


def _schedule(facts: Sequence[Facts], now: datetime) -> Rate:
    return _sum(_schedule_due(f, now) for f in facts)


def _leakage(facts: Sequence[Facts], now: datetime) -> Rate:
    due = [f for f in facts if _schedule_due(f, now).denominator]
    return Rate(sum(not f.was_scheduled for f in due), len(due))


def _closure(facts: Sequence[Facts], now: datetime, *, breaches: bool) -> Rate:
    rates = [
        _due(f.completed_at, f.referral.loop_closed_at, timedelta(days=days), now)
        for f in facts
        if (days := f.targets.close_loop_within_days) is not None
    ]
    total = _sum(rates)
    return total if breaches else Rate(total.denominator - total.numerator, total.denominator)


def _partner(
    partner: Partner, base: _Base, now: datetime, config: MeasureConfig
) -> PartnerMeasures:
    """One partner's measures from its referrals and the outreach to it or its staff."""
    mine = base.mine[partner.id]
    near = base.index.near(partner.id, base.staff[partner.id])
    reached = [o for o in near if o.attendance is not Attendance.CANCELLED]
    last = max((o.occurred_at for o in reached), default=None)
    return PartnerMeasures(
        partner_id=partner.id,
        name=partner.name,
        windows=_windows(mine, base.touched, now, config),
        by_service_line=_by_line(mine, base.touched, now, config),
        days_since_outreach=(now - last).days if last is not None else None,
        trend=_trend(mine, now, config),
        status=_status(mine, reached, now, config),
    )


def _trend(facts: Sequence[Facts], now: datetime, config: MeasureConfig) -> Trend:
    period = timedelta(days=config.trend_days)
    times = [f.referred_at for f in facts if f.referred_at is not None]
    current = sum(t > now - period for t in times)
    previous = sum(now - 2 * period < t <= now - period for t in times)
    return trend_of(current, previous, len(times), config.trend_threshold)


def _status(
    facts: Sequence[Facts],
    reached: Sequence[OutreachActivity],
    now: datetime,
    config: MeasureConfig,
) -> RelationshipStatus:
    recent = now - timedelta(days=config.active_days)
    active = any(f.referred_at is not None and f.referred_at > recent for f in facts)
    return status_of(active, bool(facts), reached)


def _attribute(
    facts: Sequence[Facts],
    touches: dict[str, list[OutreachActivity]],
    key_of: _KeyOf,
) -> list[Attribution]:
    last: Counter[str] = Counter()
    any_: Counter[str] = Counter()
    completed: Counter[str] = Counter()
    for f in facts:
        found = touches.get(f.referral.id) or []
        keys = list(dict.fromkeys(k for o in found if (k := key_of(o)) is not None))
        if not keys:
            continue
        latest = key_of(found[-1])
        if latest is not None:
            last[latest] += 1
        for k in keys:
            any_[k] += 1
            completed[k] += f.completed_at is not None
    return [Attribution(k, last[k], any_[k], completed[k]) for k in sorted(any_)]
