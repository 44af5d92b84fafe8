"""Matching stage events to referrals (pure; the engine supplies the candidates).

Order of evidence:

1. the referral number (exact after trimming, case-insensitive);
2. the authorization number (against each candidate's known authorization numbers);
3. the patient key + service line + date window: the event's appointment time (else its
   event time) lies within ``window_days`` of the referral's anchor time (received/accepted).
   Several candidates: the latest referral anchored at or before the appointment wins, else
   the earliest after it; a tie is ambiguous.

An event that matches nothing (or ambiguously) is *unmatched* and goes to the review list
(:func:`connectors.scheduling.writers.write_review_csv`), never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from connectors.capabilities import MatchMethod, MatchResult, ReferralCandidate

__all__ = [
    "MatchMethod",
    "MatchResult",
    "ReferralCandidate",
    "ReferralIndex",
    "match_event",
]


def _norm(value: str | None) -> str | None:
    return value.strip().casefold() if value and value.strip() else None


class ReferralIndex:
    """Candidates indexed by referral number, authorization number and patient key."""

    def __init__(self, candidates: Iterable[ReferralCandidate], *, window_days: int = 30):
        self.window = timedelta(days=window_days)
        self._by_number: dict[str, list[ReferralCandidate]] = defaultdict(list)
        self._by_auth: dict[str, list[ReferralCandidate]] = defaultdict(list)
        self._by_patient: dict[str, list[ReferralCandidate]] = defaultdict(list)
        for c in candidates:
            if key := _norm(c.referral_number):
                self._by_number[key].append(c)
            for auth in c.authorization_numbers:
                if key := _norm(auth):
                    self._by_auth[key].append(c)
            if c.patient_key:
                self._by_patient[c.patient_key].append(c)

    def match(self, fields: Mapping[str, Any]) -> MatchResult:
        """Match one stage-event record's fields (see the package docstring)."""
        for method, index, value in (
            ("referral_number", self._by_number, fields.get("referral_number")),
            ("authorization_number", self._by_auth, fields.get("authorization_number")),
        ):
            found = index.get(_norm(value) or "", [])
            if len(found) == 1:
                return MatchResult(found[0].referral_id, method)  # type: ignore[arg-type]
            if len(found) > 1:
                return MatchResult(None, reason=f"{method} matches {len(found)} referrals")
        return self._match_patient(fields)

    def _match_patient(self, fields: Mapping[str, Any]) -> MatchResult:
        key = fields.get("patient_key")
        when: datetime | None = fields.get("appointment_at") or fields.get("event_at")
        if not key or when is None:
            return MatchResult(None, reason="no referral number, authorization or patient key")
        line = _norm(fields.get("service_line"))
        inside = [
            c
            for c in self._by_patient.get(key, [])
            if (line is None or _norm(c.service_line) in (None, line))
            and c.anchor_at is not None
            and abs(when - c.anchor_at) <= self.window
        ]
        if not inside:
            return MatchResult(None, reason="no referral for this patient and service line "
                               "within the date window")  # fmt: skip
        return _pick_nearest(inside, when)


def _pick_nearest(inside: list[ReferralCandidate], when: datetime) -> MatchResult:
    before = [c for c in inside if c.anchor_at and c.anchor_at <= when]
    pool = before or inside
    best = (max if before else min)(c.anchor_at for c in pool)  # type: ignore[type-var]
    chosen = [c for c in pool if c.anchor_at == best]
    if len(chosen) > 1:
        return MatchResult(None, reason=f"patient key matches {len(chosen)} referrals equally")
    return MatchResult(chosen[0].referral_id, "patient_key")


def match_event(
    fields: Mapping[str, Any], candidates: Iterable[ReferralCandidate], *, window_days: int = 30
) -> MatchResult:
    """Match one event against ``candidates`` (build a :class:`ReferralIndex` for many)."""
    return ReferralIndex(candidates, window_days=window_days).match(fields)
