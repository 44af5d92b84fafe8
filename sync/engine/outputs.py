"""Files a run leaves for people (the scheduling worklist, the closure list, the review list
of unmatched appointments and the new referrers to review), written by every connection that
declares PEOPLE_FILES and is configured to write them (its ``people_files`` hook names them).

They are how a program sees and fixes its slow places: referrals waiting for an answer
(against respond-within hours) or accepted but not yet scheduled (against schedule-within
days), and completed referrals whose outcome never went back to the referrer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from connectors.base import Capability, Connector, Contacts, PeopleLists
from mapping.model import Clinician, Partner, QualifiedReferralDefinition, Referral, Stage
from sync.engine.matching import PatientMatcher
from sync.state import StateStore

__all__ = ["write_outputs"]


def write_outputs(
    connectors: Mapping[str, Connector],
    store: StateStore,
    matcher: PatientMatcher,
    definitions: list[QualifiedReferralDefinition],
    *,
    changed: bool,
    today: date,
) -> list[Path]:
    """Write the people files of every connection that declares them and names some; return
    the paths written.

    The lists hold ages in days, so they are rewritten when the run changed a referral, left
    an appointment unmatched, or the files were written on an earlier day; otherwise the
    files on disk still hold and the run skips the work.
    """
    written: list[Path] = []
    for connector in connectors.values():
        if not connector.supports(Capability.PEOPLE_FILES):
            continue
        files = connector.people_files()
        if not files:
            continue
        if not changed and not matcher.unmatched and _current(files, today):
            continue
        lists = PeopleLists(
            referrals=_listable(store),
            definitions=definitions,
            contacts=_contacts(store),
            unmatched=matcher.unmatched,
        )
        written.extend(connector.write_people_files(lists))
    return written


def _current(files: Iterable[Path], today: date) -> bool:
    try:
        return all(datetime.fromtimestamp(path.stat().st_mtime).date() >= today for path in files)
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


# The stages a people file lists whatever the referrer: the worklist's (awaiting a response,
# accepted but not scheduled) and the closure list's (completed, loop not closed).
_LISTED = frozenset(
    {Stage.REFERRED.value, Stage.INTAKE_RECEIVED.value, Stage.ACCEPTED.value, Stage.COMPLETED.value}
)


def _may_be_listed(data: Mapping[str, Any]) -> bool:
    """Could a people file list this referral? Decided on fields kept in clear, so the
    others are never opened: referrals awaiting a response or accepted (worklist), completed
    ones (closure list), and any whose referrer is still unknown (new referrers). Scheduled
    referrals and the lost ones that pile up over the years are on no list."""
    if data.get("stage") in _LISTED:
        return True
    return bool(data.get("referring_npi")) and not data.get("clinician_id")


def _opens(data: Mapping[str, Any]) -> bool:
    """Does a people file need this candidate's sealed fields? Only the worklist and the
    closure list do (their ages come from sealed dates); the new referrers list reads
    clear fields alone, so a settled referral kept for it stays sealed."""
    return data.get("stage") in _LISTED


def _listable(store: StateStore) -> Callable[[], Iterator[Referral]]:
    """The referrals a people file may list, in id order: one pass over the store that
    opens each open or completed referral once (for all the files)."""

    def referrals() -> Iterator[Referral]:
        for rec in store.iter_clear_fields("referral", where=_may_be_listed, opened=_opens):
            yield Referral.model_validate(rec.data)

    return referrals
