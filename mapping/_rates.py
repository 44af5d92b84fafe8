"""Rates, day distributions and cell-size suppression for :mod:`mapping.measures`."""

from __future__ import annotations

from dataclasses import dataclass

from mapping._facts import percentile

__all__ = ["Distribution", "Rate", "suppress_count", "suppress_rate"]


@dataclass(frozen=True, slots=True)
class Rate:
    numerator: int = 0
    denominator: int = 0

    @property
    def value(self) -> float | None:
        """numerator / denominator, None when nothing is in the denominator."""
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True, slots=True)
class Distribution:
    """Days between two moments over the referrals that have both."""

    values: tuple[float, ...] = ()

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float | None:
        return percentile(self.values, 50)

    @property
    def p90(self) -> float | None:
        return percentile(self.values, 90)


def suppress_count(n: int, threshold: int = 11) -> int | None:
    """``n``, or None when 0 < n < threshold (CMS cell-size suppression; 0 is shown)."""
    return None if 0 < n < threshold else n


def suppress_rate(rate: Rate, threshold: int = 11) -> float | None:
    """The rate, or None when it would reveal a small count (numerator, denominator or rest)."""
    parts = (rate.numerator, rate.denominator, rate.denominator - rate.numerator)
    if any(suppress_count(p, threshold) is None for p in parts):
        return None
    return rate.value
