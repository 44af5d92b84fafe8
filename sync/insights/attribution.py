"""Outreach attribution in the report: the program's measure settings and the per-activity
table (referrals after each outreach activity, last touch and any touch, completed after).

Rows name the activity by its kind, day, partner and campaign, never by its subject or notes
(free text a liaison typed); counts below the threshold are suppressed like every table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from config.models import MeasuresConfig
from mapping.measures import MeasureConfig, ProgramMeasures, suppress_count
from mapping.model import OutreachActivity, Partner

__all__ = ["OUTREACH_COLUMNS", "measure_config", "outreach_rows"]

OUTREACH_COLUMNS = (
    "date",
    "kind",
    "partner",
    "campaign",
    "referrals_last_touch",
    "referrals_any_touch",
    "completed_after",
)


def measure_config(
    settings: MeasuresConfig | None, *, windows: tuple[int, ...], attribution_days: int | None
) -> MeasureConfig:
    """The measures' settings from ``refsync.yaml`` (``measures:``), a CLI override on top."""
    base = MeasureConfig(windows=windows)
    if settings is not None:
        base = replace(
            base,
            attribution_days=settings.attribution_days,
            trend_days=settings.trend_days,
            trend_threshold=settings.trend_threshold,
            active_days=settings.active_days,
        )
    if attribution_days is not None:
        base = replace(base, attribution_days=attribution_days)
    return base


def outreach_rows(
    m: ProgramMeasures,
    outreach: Sequence[OutreachActivity],
    partners: Sequence[Partner],
    threshold: int,
) -> list[dict[str, str | int | float | None]]:
    """One row per outreach activity credited with a referral, most credited first."""
    by_id = {o.id: o for o in outreach}
    names = {p.id: p.name for p in partners}

    def cell(n: int) -> str | int:
        return n if suppress_count(n, threshold) is not None else f"<{threshold}"

    rows: list[dict[str, str | int | float | None]] = []
    for a in sorted(m.outreach, key=lambda a: (-a.any_touch, a.key)):
        o = by_id.get(a.key)
        if o is None:
            continue
        rows.append({
            "date": o.occurred_at.date().isoformat(),
            "kind": o.kind.value,
            "partner": names.get(o.partner_id or "", "(none)"),
            "campaign": o.campaign or "(none)",
            "referrals_last_touch": cell(a.last_touch),
            "referrals_any_touch": cell(a.any_touch),
            "completed_after": cell(a.completed_after),
        })  # fmt: skip
    return rows
