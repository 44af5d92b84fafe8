"""Files a run leaves for people (the scheduling worklist, the closure list, the review list
of unmatched appointments and the new referrers to review), written by every connection that
declares PEOPLE_FILES and is configured to write them (its ``people_files`` hook names them).

They are how a program sees and fixes its slow places: referrals waiting for an answer
(against respond-within hours) or accepted but not yet scheduled (against schedule-within
days), and completed referrals whose outcome never went back to the referrer.

Their cost follows what changed. After writing them the engine leaves a *people mark* in
the state store: the store's time when it began, a fingerprint of what else the rows
depend on (definitions, partners and clinicians, refsync's version) and each file's stamp
by name (its size and modification time, which the engine sets two seconds back so that
any later write gives another; see ``_stamp``);
and it keeps the referrals with an unknown referrer as *referrer mentions*, tallied per NPI
and service line as they change (``sync/state/_mentions.py``). The next time,
when the fingerprint and every file still match, the connector gets only the referrals
stored since the mark (less a margin for clocks and transactions in flight; of the records
stored within the margin, those still at the version the last pass saw are left out) and
keeps every other row of the files, aged again; otherwise (first run, a definition, partner
or clinician changed, a file edited or gone, the store's clock went back, more than half
the referrals changed) the files are written whole from one pass over the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.base import (
    Capability,
    Connector,
    Contacts,
    PeopleFilesChanged,
    PeopleLists,
)
from mapping.model import Clinician, Partner, QualifiedReferralDefinition, Referral, Stage
from sync.engine.fingerprint import code_version
from sync.engine.matching import PatientMatcher
from sync.engine.rollups import ROLLUP_FIELDS
from sync.state import Mention, PeopleMark, StateStore

__all__ = ["MARGIN", "write_outputs"]

log = logging.getLogger(__name__)

MARGIN = timedelta(minutes=5)
"""Records stored up to this long before a people mark are listed again too, unless still at
the version the pass saw: a transaction that stamped a record before the mark and committed
after the pass read it, or a clock a little behind, is not missed."""
_FLUSH = 5000
# What the files hold, beyond what refsync's version says (a checkout's is "unknown"): 2, the
# closure list's completions in UTC. Files written before are written whole once.
_FORMAT = 2
_SETTLE_NS = 2_000_000_000  # longer than any file system's time granularity (FAT: 2 s)


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
    an appointment unmatched, or the files were written on an earlier day; also when a
    referral was stored since they were written, or their last write did not finish (a run
    that failed after storing its changes, or another process, left them behind). Otherwise
    the files on disk still hold and the run skips the work.
    """
    written: list[Path] = []
    for name, connector in connectors.items():
        if not connector.supports(Capability.PEOPLE_FILES):
            continue
        files = connector.people_files()
        if not files:
            continue
        quiet = not changed and not matcher.unmatched
        if quiet and _current(files, today) and _up_to_date(store, name):
            continue
        people = _People(name, connector, store, matcher, definitions)
        written.extend(people.write(files))
    return written


class _People:
    """One connection's people files: kept from the changes when its mark holds, else whole."""

    def __init__(
        self,
        name: str,
        connector: Connector,
        store: StateStore,
        matcher: PatientMatcher,
        definitions: list[QualifiedReferralDefinition],
    ) -> None:
        self.name, self.connector, self.store = name, connector, store
        self.unmatched = matcher.unmatched
        self.definitions = definitions
        self.contacts = _contacts(store)
        self.fingerprint = _fingerprint(definitions, self.contacts)

    def write(self, files: Iterable[Path]) -> list[Path]:
        """Write the files, then leave the mark they were written from."""
        store = self.store
        began = store.now()
        mark = store.people_mark(self.name)
        store.set_people_mark(self.name, None)  # until the files and mentions agree
        why = self._why_whole(mark, files, began)
        changed: list[str] = []
        if mark is not None and why is None:
            changed = store.changed_since("referral", mark.watermark - MARGIN, seen_by=self.name)
            half = 2 * len(changed)
            if half > (live := store.count_records_up_to("referral", half)):
                why = f"{len(changed)} of {live} referrals changed"
        # before the records are read: what this pass sees of the margin's records
        store.note_seen(self.name, "referral", began - MARGIN)
        paths: list[Path] | None = None
        if why is None:
            try:
                paths = self._kept(changed)
            except PeopleFilesChanged as exc:
                why = str(exc)
        if paths is None:
            log.info("people files of %s written whole: %s", self.name, why)
            paths = self._whole()
        stamps = {p.name: _stamp(p) for p in paths}
        store.set_people_mark(self.name, PeopleMark(began, self.fingerprint, stamps))
        return paths

    def _why_whole(
        self, mark: PeopleMark | None, files: Iterable[Path], began: datetime
    ) -> str | None:
        """Why the files cannot be kept from the changes since ``mark`` (None: they can)."""
        if mark is None:
            return "no earlier write to keep rows from"
        if mark.fingerprint != self.fingerprint:
            return "definitions, partners, clinicians or refsync changed since the last write"
        if began < mark.watermark:
            return "the state store's clock is behind the last write"
        # by name: a program folder moved, or copied keeping times, keeps its files' contents
        paths = {p.name: p for p in files}
        if set(mark.files) != set(paths) or any(
            not stamp or _stamp_of(paths[name]) != stamp for name, stamp in mark.files.items()
        ):
            return "a file is not the one the last run wrote (edited, moved or gone)"
        return None

    def _kept(self, ids: list[str]) -> list[Path]:
        """The files from their kept rows and the referrals ``ids`` (changed since)."""
        found = self.store.get_records_opening("referral", ids, lambda r: _opens(r.data))
        live = [(i, found[i].data) for i in ids if i in found and not found[i].tombstone]
        self.store.replace_mentions(self.name, _mentions(live), of=ids)
        listable = [Referral.model_validate(d) for _, d in live if _opens(d)]
        lists = self._lists(lambda: listable, frozenset(ids))
        return self.connector.write_people_files(lists)

    def _whole(self) -> list[Path]:
        """The files from one pass over the store; the mentions noted on the way."""
        self.store.replace_mentions(self.name, (), of=None)

        def note(mentions: list[Mention]) -> None:
            self.store.replace_mentions(self.name, mentions, of=())

        return self.connector.write_people_files(self._lists(_listable(self.store, note), None))

    def _lists(
        self, referrals: Callable[[], Iterable[Referral]], changed: frozenset[str] | None
    ) -> PeopleLists:
        return PeopleLists(
            referrals=referrals,
            definitions=self.definitions,
            contacts=self.contacts,
            unmatched=self.unmatched,
            referrers=None if changed is None else (lambda: self.store.mention_counts(self.name)),
            changed=changed,
        )


def _mentions(records: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Mention]:
    """The referrals of ``records`` (id, stored data) whose referrer is unknown, as the new
    referrers list counts them (the same test as its tally, on the stored fields)."""
    return [
        (i, d["referring_npi"], d.get("referring_name"), d.get("referring_practice"),
         d.get("service_line"))
        for i, d in records
        if _unknown_referrer(d)
    ]  # fmt: skip


def _fingerprint(definitions: Iterable[QualifiedReferralDefinition], contacts: Contacts) -> str:
    """What the rows depend on besides the referrals and the time."""
    parts = {
        "code": code_version(),
        "format": _FORMAT,
        "definitions": [d.model_dump(mode="json") for d in definitions],
        "partners": {i: p.model_dump(mode="json") for i, p in contacts.partners.items()},
        "clinicians": {i: c.model_dump(mode="json") for i, c in contacts.clinicians.items()},
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _stamp(path: Path) -> str:
    """Set the modification time of the file just written ``_SETTLE_NS`` back and return
    its stamp.

    A later write sets the time to its own, which is after the time set here even on a
    file system that keeps times to the second or two, so a file edited in the same clock
    tick as the run (same size, same time) still shows. Copies that keep modification
    times (``cp -p``, rsync, a backup restored) keep the stamp with the contents. Trusting
    the stamp spares hashing the files before and after each write (the closure list of
    1,000,000 referrals is 33 MB: 2 x 17 ms of SHA-256). A file written in the first two
    seconds of a day shows the day before, so the next run that day writes it again."""
    try:
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - _SETTLE_NS))
    except OSError:
        return ""
    return _stamp_of(path)  # as the file system keeps it (it may round the time set)


def _stamp_of(path: Path) -> str:
    """The file's size and modification time, or "" when it cannot be read (a mark holding
    "" matches no file: one gone before and after is not the one written)."""
    try:
        stat = path.stat()
    except OSError:
        return ""
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _up_to_date(store: StateStore, name: str) -> bool:
    """Whether ``name``'s people files were written, and no referral was stored since their
    pass began (an index probe for the latest stamp)."""
    mark = store.people_mark(name)
    latest = store.latest_change("referral")
    return mark is not None and (latest is None or latest <= mark.watermark)


def _current(files: Iterable[Path], today: date) -> bool:
    try:
        return all(datetime.fromtimestamp(path.stat().st_mtime).date() >= today for path in files)
    except OSError:
        return False


def _contacts(store: StateStore) -> Contacts:
    """Partner and clinician names, NPI and practice phone for the people files.

    Partners come without their rollup fields: a program whose referrals link to partners
    has some of them recomputed on nearly every run, and as part of the fingerprint they
    would make every run write the files whole (a pass over every referral) though no row
    shows them."""
    return Contacts(
        partners={
            r.id: Partner.model_validate(
                {k: v for k, v in r.data.items() if k not in ROLLUP_FIELDS}
            )
            for r in store.iter_records("partner")
        },
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
    return _unknown_referrer(data)


def _unknown_referrer(data: Mapping[str, Any]) -> bool:
    """A referring NPI no clinician holds (the referral is on the new referrers list)."""
    return bool(data.get("referring_npi")) and not data.get("clinician_id")


def _opens(data: Mapping[str, Any]) -> bool:
    """Does a people file need this candidate's sealed fields? Only the worklist and the
    closure list do (their ages come from sealed dates); the new referrers list reads
    clear fields alone, so a settled referral kept for it stays sealed."""
    return data.get("stage") in _LISTED


def _listable(
    store: StateStore, note: Callable[[list[Mention]], None] | None = None
) -> Callable[[], Iterator[Referral]]:
    """The referrals a people file may list, in id order: one pass over the store that
    opens each open or completed referral once (for all the files). ``note`` gets the
    referrer mentions of the pass, a batch at a time."""

    def referrals() -> Iterator[Referral]:
        pending: list[Mention] = []
        for rec in store.iter_clear_fields("referral", where=_may_be_listed, opened=_opens):
            if note is not None:
                pending.extend(_mentions([(rec.id, rec.data)]))
                if len(pending) >= _FLUSH:
                    note(pending)
                    pending = []
            yield Referral.model_validate(rec.data)
        if note is not None:
            note(pending)

    return referrals
