"""Files a run leaves for people: the scheduling worklist, the closure list, the review list
of unmatched appointments and the new referrers to review (:mod:`sync.engine.new_referrers`),
written into each scheduling connection's ``output_dir``.

They are how a program sees and fixes its slow places: referrals waiting for an answer
(against respond-within hours) or accepted but not yet scheduled (against schedule-within
days), and completed referrals whose outcome never went back to the referrer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from connectors.scheduling.writers import Contacts, write_csv_atomic
from mapping.model import Clinician, Partner, QualifiedReferralDefinition, Referral
from sync.engine.matching import PatientMatcher
from sync.engine.new_referrers import NEW_REFERRER_COLUMNS, new_referrer_rows
from sync.state import StateStore

__all__ = ["NEW_REFERRERS_FILE", "write_outputs"]

NEW_REFERRERS_FILE = "new-referrers.csv"


_FILES = (
    "scheduling-worklist.csv",
    "closure.csv",
    "unmatched-appointments.csv",
    NEW_REFERRERS_FILE,
)


def write_outputs(
    connectors: dict[str, Any],
    store: StateStore,
    matcher: PatientMatcher,
    definitions: list[QualifiedReferralDefinition],
    *,
    changed: bool,
    today: date,
) -> list[Path]:
    """Write worklist, closure and review files for every connection that can and has a
    directory configured; return the paths written.

    The lists hold ages in days, so they are rewritten when the run changed a referral, left
    an appointment unmatched, or the files were written on an earlier day; otherwise the
    files on disk still hold and the run skips the work.
    """
    written: list[Path] = []
    for connector in connectors.values():
        out = getattr(getattr(connector, "settings", None), "output_dir", None)
        if out is None or not hasattr(connector, "write_worklist"):
            continue
        if not changed and not matcher.unmatched and _current(Path(out), today):
            continue
        contacts = _contacts(store)
        written.append(connector.write_worklist(_referrals(store), definitions, contacts=contacts))
        written.append(connector.write_closure(_referrals(store), definitions, contacts=contacts))
        written.append(connector.write_review(matcher.unmatched))
        target = Path(out) / NEW_REFERRERS_FILE
        write_csv_atomic(
            target, NEW_REFERRER_COLUMNS, new_referrer_rows(_referrals(store), contacts)
        )
        written.append(target)
    return written


def _current(directory: Path, today: date) -> bool:
    try:
        return all(
            datetime.fromtimestamp((directory / name).stat().st_mtime).date() >= today
            for name in _FILES
        )
    except OSError:
        return False


def _contacts(store: StateStore) -> Contacts:
    """Partner and clinician names, NPI and practice phone for the people files."""
    return Contacts(
        partners={r.id: Partner.model_validate(r.data) for r in store.iter_records("partner")},
        clinicians={
            r.id: Clinician.model_validate(r.data) for r in store.iter_records("clinician")
        },
    )


def _referrals(store: StateStore) -> Iterator[Referral]:
    for rec in store.iter_records("referral"):
        yield Referral.model_validate(rec.data)
