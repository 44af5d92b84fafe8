"""Matching scheduling events that carry no referral number to a referral.

A connector that declares REFERRAL_MATCHING (its ``referral_index`` hook) gets the
candidate referrals the canonical store knows a patient key for; an event then matches by
authorization number, or by patient key + service line + date window. What matches nothing
(or several referrals equally) is listed for review, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base import Capability, Connector, MatchResult, ReferralCandidate, ReferralIndex
from sync.state import StateStore

__all__ = ["PatientMatcher"]

_REVIEW_LIMIT = 5000  # unmatched events kept in memory for the review file, per run


@dataclass
class PatientMatcher:
    store: StateStore
    unmatched: list[tuple[Mapping[str, object], MatchResult]] = field(default_factory=list)
    _indexes: dict[int, ReferralIndex] = field(default_factory=dict)

    def match(
        self, connector: Connector | None, fields: Mapping[str, object]
    ) -> tuple[str | None, str]:
        """(referral id or None, reason when None) for one event's native fields."""
        if connector is None or not connector.supports(Capability.REFERRAL_MATCHING):
            return None, "it has no referral number"
        index = self._indexes.get(id(connector))
        if index is None:
            index = connector.referral_index(self._candidates())
            self._indexes[id(connector)] = index
        result = index.match(fields)
        if result.matched:
            return str(result.referral_id), ""
        if len(self.unmatched) < _REVIEW_LIMIT:
            self.unmatched.append((fields, result))
        return None, str(result.reason or "no referral matches it")

    def _candidates(self) -> list[ReferralCandidate]:
        out = []
        for rec in self.store.iter_records("referral"):
            patient = rec.data.get("patient") or {}
            key = patient.get("key")
            if not key:
                continue
            out.append(ReferralCandidate(
                referral_id=rec.id,
                referral_number=rec.data.get("referral_number"),
                patient_key=key,
                service_line=rec.data.get("service_line"),
                anchor_at=_anchor(rec.data),
            ))  # fmt: skip
        return out


def _anchor(data: Mapping[str, Any]) -> datetime | None:
    value = data.get("received_at") or next(
        (e.get("entered_at") for e in data.get("stage_history") or []), None
    )
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
