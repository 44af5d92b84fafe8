"""Files a run leaves for people: the scheduling worklist, the closure list and the review
list of unmatched appointments, written into each scheduling connection's ``output_dir``.

They are how a program sees and fixes its two slow places: referrals accepted but not yet
scheduled (against the service line's schedule-within target), and completed referrals whose
outcome never went back to the referrer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mapping.model import QualifiedReferralDefinition, Referral
from sync.engine.matching import PatientMatcher
from sync.state import StateStore

__all__ = ["write_outputs"]


def write_outputs(
    connectors: dict[str, Any],
    store: StateStore,
    matcher: PatientMatcher,
    definitions: list[QualifiedReferralDefinition],
) -> list[Path]:
    """Write worklist, closure and review files for every connection that can and has a
    directory configured; return the paths written."""
    written: list[Path] = []
    for connector in connectors.values():
        settings = getattr(connector, "settings", None)
        if getattr(settings, "output_dir", None) is None or not hasattr(
            connector, "write_worklist"
        ):
            continue
        written.append(connector.write_worklist(_referrals(store), definitions))
        written.append(connector.write_closure(_referrals(store), definitions))
        written.append(connector.write_review(matcher.unmatched))
    return written


def _referrals(store: StateStore) -> Iterator[Referral]:
    for rec in store.iter_records("referral"):
        yield Referral.model_validate(rec.data)
