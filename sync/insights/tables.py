"""The report's tables: aggregates of the canonical store, small counts suppressed.

Every table is built from :mod:`mapping.measures` (program, service line and partner
measures) plus the state store's open record errors; the HTML report and ``--csv`` show the
same tables. Nothing here holds a record value: partner names, service lines, stages,
document names, systems and error codes label the rows, counts and rates fill them.

Suppression follows CMS cell-size rules: a count from 1 to ``threshold - 1`` reads
``<11`` (threshold 11), and a rate or a time percentile that would reveal one reads
``suppressed`` (see :func:`mapping.measures.suppress_rate`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from mapping.measures import (
    FUNNEL,
    Distribution,
    MeasureConfig,
    PartnerMeasures,
    ProgramMeasures,
    Rate,
    WindowMeasures,
    compute,
    referred_time,
    suppress_count,
    suppress_rate,
)
from mapping.model import (
    Clinician,
    OutreachActivity,
    Partner,
    QualifiedReferralDefinition,
    Referral,
)
from sync.insights.attribution import OUTREACH_COLUMNS, outreach_rows
from sync.state import RecordErrorInfo

__all__ = [
    "BUCKETS",
    "SCORECARD_COLUMNS",
    "Cell",
    "ProgramData",
    "Table",
    "build_tables",
    "funnel_table",
]

Cell = str | int | float | None
BUCKETS = (
    (0, 2, "0-2 days"),
    (3, 7, "3-7 days"),
    (8, 14, "8-14 days"),
    (15, 30, "15-30 days"),
    (31, None, "31+ days"),
)
SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class ProgramData:
    """The canonical records and open errors one report is computed from."""

    referrals: list[Referral]
    partners: list[Partner]
    clinicians: list[Clinician]
    outreach: list[OutreachActivity]
    definitions: list[QualifiedReferralDefinition]
    errors: list[RecordErrorInfo]
    unreadable: dict[str, int] = field(default_factory=dict)  # entity -> records left out


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[dict[str, Cell]]


@dataclass(frozen=True, slots=True)
class _Cells:
    threshold: int

    def count(self, n: int) -> Cell:
        return n if suppress_count(n, self.threshold) is not None else f"<{self.threshold}"

    def rate(self, rate: Rate) -> Cell:
        value = suppress_rate(rate, self.threshold)
        if value is None:
            return SUPPRESSED if rate.denominator else None
        return round(100 * value, 1)

    def days(self, dist: Distribution, which: str) -> Cell:
        if not dist.count:
            return None
        if dist.count < self.threshold:
            return SUPPRESSED
        value = dist.median if which == "median" else dist.p90
        return None if value is None else round(value, 1)


def build_tables(
    data: ProgramData,
    *,
    now: datetime,
    days: int,
    threshold: int = 11,
    config: MeasureConfig | None = None,
) -> tuple[ProgramMeasures, dict[str, Table]]:
    """The measures over the last ``days`` days and every table of the report
    (``config``: attribution window, trend and activity settings; its windows are ignored)."""
    config = replace(config or MeasureConfig(), windows=(days,))
    m = compute(
        data.referrals,
        data.partners,
        data.clinicians,
        data.outreach,
        data.definitions,
        now=now,
        config=config,
    )
    c = _Cells(threshold)
    w = m.windows[days]
    tables = [
        _summary(m, w, c),
        funnel_table(w, threshold),
        Table(
            "stages",
            "Referrals by current stage",
            ("stage", "referrals"),
            [{"stage": s, "referrals": c.count(n)} for s, n in w.by_stage.items()],
        ),
        _time_to_schedule(m, days, c),
        _scorecard(m.partners, days, c),
        _partner_lines(m.partners, days, c),
        _campaigns(m, c),
        Table(
            "outreach",
            f"Referrals after each outreach activity (within {config.attribution_days} days; "
            "all referrals to date)",
            OUTREACH_COLUMNS,
            outreach_rows(m, data.outreach, data.partners, threshold),
        ),
        _timeline(data, now, days, c),
        _sla(m, days, c),
        _quality(m, w, data, c),
    ]
    return m, {t.name: t for t in tables}


def funnel_table(w: WindowMeasures, threshold: int = 11) -> Table:
    """The stage funnel of one window (program or partner), small counts suppressed."""
    c = _Cells(threshold)
    referred = w.funnel.get(FUNNEL[0].value, 0)
    rows: list[dict[str, Cell]] = [
        {"stage": s, "referrals": c.count(n), "share_of_referred": c.rate(Rate(n, referred))}
        for s, n in w.funnel.items()
    ]
    return Table(
        "funnel",
        "Stage funnel: referrals that got at least this far",
        ("stage", "referrals", "share_of_referred"),
        rows,
    )


def _summary(m: ProgramMeasures, w: WindowMeasures, c: _Cells) -> Table:
    rows: list[tuple[str, Cell]] = [
        ("referrals", c.count(w.referrals)),
        ("acceptance rate %", c.rate(w.acceptance)),
        ("complete at first submission %", c.rate(w.complete_first)),
        ("median days to schedule", c.days(w.to_schedule, "median")),
        ("90th percentile days to schedule", c.days(w.to_schedule, "p90")),
        ("median days to complete", c.days(w.to_complete, "median")),
        ("90th percentile days to complete", c.days(w.to_complete, "p90")),
        ("leakage %", c.rate(w.leakage)),
        ("no-show rate %", c.rate(w.no_show)),
        ("loop closed within target %", c.rate(w.loop_closure)),
        ("referrals after outreach", c.count(w.after_outreach)),
    ]
    return Table(
        "summary",
        f"Program, last {w.days} days",
        ("measure", "value"),
        [{"measure": k, "value": v} for k, v in rows],
    )


def _bucket(value: float) -> str:
    whole = int(value)
    for low, high, label in BUCKETS:
        if whole >= low and (high is None or whole <= high):
            return label
    return BUCKETS[-1][2]


def _time_to_schedule(m: ProgramMeasures, days: int, c: _Cells) -> Table:
    rows: list[dict[str, Cell]] = []
    for line, windows in m.by_service_line.items():
        dist = windows[days].to_schedule
        counts = Counter(_bucket(v) for v in dist.values)
        row: dict[str, Cell] = {"service_line": line, "scheduled": c.count(dist.count)}
        row |= {label: c.count(counts[label]) for _, _, label in BUCKETS}
        row |= {"median_days": c.days(dist, "median"), "p90_days": c.days(dist, "p90")}
        rows.append(row)
    columns = ("service_line", "scheduled", *(b[2] for b in BUCKETS), "median_days", "p90_days")
    return Table(
        "time_to_schedule", "Days from referral to scheduled, by service line", columns, rows
    )


SCORECARD_COLUMNS = (
    "partner",
    "referrals",
    "completed",
    "acceptance_rate",
    "leakage_rate",
    "median_days_to_schedule",
    "p90_days_to_schedule",
    "no_show_rate",
    "loop_closure_rate",
    "sla_breaches",
    "after_outreach",
    "days_since_outreach",
    "trend",
    "status",
)


def _scorecard(partners: Sequence[PartnerMeasures], days: int, c: _Cells) -> Table:
    rows = []
    for p in sorted(partners, key=lambda p: (-p.windows[days].referrals, p.name)):
        w = p.windows[days]
        breaches = sum(r.numerator for r in w.sla_breaches.values())
        rows.append(
            {
                "partner": p.name,
                "referrals": c.count(w.referrals),
                "completed": c.count(w.funnel.get("completed", 0)),
                "acceptance_rate": c.rate(w.acceptance),
                "leakage_rate": c.rate(w.leakage),
                "median_days_to_schedule": c.days(w.to_schedule, "median"),
                "p90_days_to_schedule": c.days(w.to_schedule, "p90"),
                "no_show_rate": c.rate(w.no_show),
                "loop_closure_rate": c.rate(w.loop_closure),
                "sla_breaches": c.count(breaches),
                "after_outreach": c.count(w.after_outreach),
                "days_since_outreach": p.days_since_outreach,
                "trend": p.trend.value,
                "status": p.status.value,
            }
        )
    return Table("scorecard", "Partner scorecard", SCORECARD_COLUMNS, rows)


def _partner_lines(partners: Sequence[PartnerMeasures], days: int, c: _Cells) -> Table:
    rows: list[dict[str, Cell]] = []
    for p in sorted(partners, key=lambda p: p.name):
        for line, windows in p.by_service_line.items():
            w = windows[days]
            rows.append({
                "partner": p.name, "service_line": line, "referrals": c.count(w.referrals),
                "acceptance_rate": c.rate(w.acceptance), "leakage_rate": c.rate(w.leakage),
                "median_days_to_schedule": c.days(w.to_schedule, "median"),
                "no_show_rate": c.rate(w.no_show),
            })  # fmt: skip
    columns = ("partner", "service_line", "referrals", "acceptance_rate", "leakage_rate",
               "median_days_to_schedule", "no_show_rate")  # fmt: skip
    return Table("partner_service_lines", "Partners by service line", columns, rows)


def _campaigns(m: ProgramMeasures, c: _Cells) -> Table:
    """Referrals credited to each campaign (outreach in the attribution window before)."""
    rows: list[dict[str, Cell]] = [
        {
            "campaign": a.key,
            "referrals_last_touch": c.count(a.last_touch),
            "referrals_any_touch": c.count(a.any_touch),
            "completed_after": c.count(a.completed_after),
        }
        for a in sorted(m.campaigns, key=lambda a: (-a.any_touch, a.key))
    ]
    columns = ("campaign", "referrals_last_touch", "referrals_any_touch", "completed_after")
    return Table(
        "campaigns", "Referrals after outreach, by campaign (all referrals to date)", columns, rows
    )


def _months(now: datetime, days: int) -> list[str]:
    start = now - timedelta(days=days)
    months, year, month = [], start.year, start.month
    while (year, month) <= (now.year, now.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _timeline(data: ProgramData, now: datetime, days: int, c: _Cells) -> Table:
    start = now - timedelta(days=days)
    referred = Counter(
        f"{t:%Y-%m}" for r in data.referrals if (t := referred_time(r)) and start < t <= now
    )
    reached = Counter(
        f"{o.occurred_at:%Y-%m}" for o in data.outreach if start < o.occurred_at <= now
    )
    rows: list[dict[str, Cell]] = [
        {"month": mth, "outreach": reached[mth], "referrals": c.count(referred[mth])}
        for mth in _months(now, days)
    ]
    return Table(
        "outreach_vs_referrals",
        "Outreach and referrals by month",
        ("month", "outreach", "referrals"),
        rows,
    )


def _sla(m: ProgramMeasures, days: int, c: _Cells) -> Table:
    groups = [("all", m.windows[days])] + [(k, v[days]) for k, v in m.by_service_line.items()]
    rows: list[dict[str, Cell]] = [
        {
            "service_line": line,
            "target": target,
            "due": c.count(rate.denominator),
            "breaches": c.count(rate.numerator),
            "breach_rate": c.rate(rate),
        }
        for line, w in groups
        for target, rate in w.sla_breaches.items()
    ]
    return Table(
        "sla_breaches",
        "Service-level target breaches",
        ("service_line", "target", "due", "breaches", "breach_rate"),
        rows,
    )


def _unresolved(data: ProgramData, c: _Cells) -> list[dict[str, Cell]]:
    """Referrals naming a referring NPI no clinician holds yet (see new-referrers.csv); the
    NPIs a prospect holds (``referrers.create_prospects``) on a line of their own."""
    waiting = [r.referring_npi for r in data.referrals if r.referring_npi and not r.clinician_id]
    if not waiting:
        return []
    held = {k.npi for k in data.clinicians if k.prospect and k.npi}
    rows = []
    for label, npis in (
        ("no clinician holds", [n for n in waiting if n not in held]),
        ("held by a prospect in the CRM", [n for n in waiting if n in held]),
    ):
        if npis:
            rows.append({
                "problem": "unresolved referrer",
                "item": f"{len(set(npis))} referring NPIs {label} (new-referrers.csv)",
                "count": c.count(len(npis)),
            })  # fmt: skip
    return rows


def _quality(m: ProgramMeasures, w: WindowMeasures, data: ProgramData, c: _Cells) -> Table:
    errors, unreadable = data.errors, data.unreadable
    rows: list[dict[str, Cell]] = [
        {"problem": "incomplete referral", "item": f"missing {doc}", "count": c.count(n)}
        for doc, n in w.missing_documents.items()
    ]
    unmatched = Counter(e.system for e in errors if e.code == "UNMATCHED")
    rejected = Counter(f"{e.system} {e.object}: {e.code}" for e in errors if e.code != "UNMATCHED")
    rows += [
        {"problem": "unmatched appointment", "item": f"from {system}", "count": c.count(n)}
        for system, n in sorted(unmatched.items())
    ]
    rows += [
        {"problem": "rejected record", "item": item, "count": c.count(n)}
        for item, n in sorted(rejected.items())
    ]
    rows += [
        {"problem": "unreadable canonical record", "item": entity, "count": c.count(n)}
        for entity, n in sorted(unreadable.items())
    ]
    rows += [
        {
            "problem": "referral without a date",
            "item": "no received_at or stage event",
            "count": c.count(m.undated),
        },
        {
            "problem": "referral without a partner",
            "item": "no partner or clinician's partner",
            "count": c.count(m.without_partner),
        },
        *_unresolved(data, c),
    ]
    return Table("data_quality", "Data quality", ("problem", "item", "count"), rows)
