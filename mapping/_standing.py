"""A partner's standing from counts: its referral trend and its relationship status.

Private to :mod:`mapping.measures` and :mod:`mapping.rollup`, which count the referrals
their own way (facts, or a rollup's entries) and decide from the counts here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from mapping.model import Attendance, OutreachActivity, RelationshipStatus

__all__ = ["Trend", "status_of", "trend_of"]


class Trend(StrEnum):
    NONE = "none"
    NEW = "new"
    GROWING = "growing"
    STEADY = "steady"
    DECLINING = "declining"
    LAPSED = "lapsed"


def trend_of(current: int, previous: int, dated: int, threshold: float) -> Trend:
    """``current``: referred in the last trend period; ``previous``: in the one before;
    ``dated``: referred at all (up to now)."""
    if not dated:
        return Trend.NONE
    if current == 0:
        return Trend.LAPSED
    if dated == current:
        return Trend.NEW
    if current > previous * (1 + threshold):
        return Trend.GROWING
    if current < previous * (1 - threshold):
        return Trend.DECLINING
    return Trend.STEADY


def status_of(recent: bool, dated: bool, reached: Sequence[OutreachActivity]) -> RelationshipStatus:
    """``recent``: referred within the active days; ``dated``: referred at all; ``reached``:
    the outreach to the partner or its staff that was not cancelled."""
    if recent:
        return RelationshipStatus.ACTIVE
    if dated:
        return RelationshipStatus.DORMANT
    if any(o.attendance is Attendance.ATTENDED for o in reached):
        return RelationshipStatus.ENGAGED
    if any(o.attendance is not Attendance.NO_SHOW for o in reached):
        return RelationshipStatus.CONTACTED
    return RelationshipStatus.PROSPECT
