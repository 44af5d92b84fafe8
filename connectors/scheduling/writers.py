"""CSV writers: the scheduling worklist, the closure list and the unmatched-event review list.

These are explicit functions (canonical referrals in, a whole file out), not ``upsert``:
the lists are snapshots of the current canonical state whose ages change every day, so each
call rewrites the whole file (the rows of referrals that did not change since the last write
are read back from it and aged again: :mod:`connectors.scheduling.reage`). Every write is
atomic (a temp file in the same directory, fsync,
``os.replace``), so a reader never sees half a file. Columns are a fixed whitelist with no
PHI; text cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or
CR) are prefixed with ``'``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol

from connectors.capabilities import Contacts, MatchResult
from connectors.csvfiles import (
    cell_text,
    csv_line,
    neutralise_cell,
    write_bytes_atomic,
    write_cells_atomic,
    write_csv_atomic,
    write_lines_atomic,
)
from mapping.model import (
    QualifiedReferralDefinition,
    Referral,
    ServiceTargets,
    Stage,
)
from mapping.qualification import service_line_key, version_key

__all__ = [
    "CLOSURE_COLUMNS",
    "REVIEW_COLUMNS",
    "WORKLIST_COLUMNS",
    "Contacts",
    "KeptBytes",
    "SortedRows",
    "UrgencyKey",
    "closure_rows",
    "closure_timing",
    "neutralise_cell",
    "people_rows",
    "respond_timing",
    "schedule_timing",
    "target_status",
    "targets_by_service_line",
    "urgency_key",
    "worklist_rows",
    "write_cells_atomic",
    "write_closure_csv",
    "write_csv_atomic",
    "write_review_csv",
    "write_worklist_csv",
]

WORKLIST_COLUMNS = (
    "referral_number", "referral_id", "service_line", "partner_id", "clinician_id",
    "partner", "clinician", "clinician_npi", "practice_phone", "urgency",
    "stage", "sla", "waiting_since", "accepted_at", "age_days", "target_days", "days_over",
    "age_hours", "target_hours", "status",
)  # fmt: skip
_AWAITING_RESPONSE = (Stage.REFERRED, Stage.INTAKE_RECEIVED)
CLOSURE_COLUMNS = (
    "referral_number", "referral_id", "service_line", "partner_id", "clinician_id",
    "partner", "clinician", "clinician_npi", "practice_phone", "completed_at",
    "days_since_completed", "target_days", "days_over", "status",
)  # fmt: skip
REVIEW_COLUMNS = (
    "source_file", "source_line", "appointment_id", "fhir_ref", "service_request_ref",
    "referral_number", "authorization_number", "stage", "event_at", "appointment_at",
    "service_line", "department", "referring_npi", "reason",
)  # fmt: skip


def targets_by_service_line(
    definitions: Iterable[QualifiedReferralDefinition],
) -> dict[str, ServiceTargets]:
    """Per service line (folded: case and spaces ignored), the targets of its newest
    definition: highest version in natural order ("v10" after "v9"), then latest effective
    date. Look lines up with :func:`mapping.qualification.service_line_key`."""
    newest: dict[str, QualifiedReferralDefinition] = {}
    for d in definitions:
        line = service_line_key(d.service_line)
        seen = newest.get(line)
        if seen is None or _definition_order(d) >= _definition_order(seen):
            newest[line] = d
    return {line: d.targets for line, d in newest.items()}


def _definition_order(d: QualifiedReferralDefinition) -> tuple[Any, ...]:
    return (version_key(d.version), d.effective_from.isoformat() if d.effective_from else "")


def _line_targets(
    targets: Mapping[str, ServiceTargets], referral: Referral
) -> ServiceTargets | None:
    if not referral.service_line:
        return None
    return targets.get(service_line_key(referral.service_line))


def _entered(referral: Referral, stage: Stage) -> datetime | None:
    times = [e.entered_at for e in referral.stage_history if e.stage is stage]
    return max(times) if times else None


def _against_target(age: int, target: int | None) -> dict[str, Any]:
    over, status = target_status(age, target)
    return {"target_days": target, "days_over": over, "status": status}


def target_status(age: int, target: int | None) -> tuple[int | None, str]:
    """Days over ``target`` (None without one) and the status word of an age in days."""
    if target is None:
        return None, "no_target"
    status = "overdue" if age > target else "due_today" if age == target else "on_track"
    return age - target, status


def _base(r: Referral, contacts: Contacts | None) -> dict[str, Any]:
    return {
        "referral_number": r.referral_number,
        "referral_id": r.id,
        "service_line": r.service_line,
        "partner_id": r.partner_id,
        "clinician_id": r.clinician_id,
        **(contacts or Contacts()).of(r),
    }


def worklist_rows(
    referrals: Iterable[Referral],
    targets: Mapping[str, ServiceTargets],
    *,
    now: datetime,
    contacts: Contacts | None = None,
) -> list[dict[str, Any]]:
    """Open referrals waiting on the program against a service-level target, most overdue
    first: ``referred`` / ``intake_received`` ones against ``respond_within_hours`` (listed
    when their service line has that target; ``age_hours``, ``target_hours``) and
    ``accepted`` ones not yet scheduled against ``schedule_within_days`` (always listed;
    ``no_target`` when the line has none)."""
    rows = (_worklist_row(r, targets, now, contacts) for r in referrals)
    return sorted((row for row in rows if row is not None), key=_urgency_order)


def _worklist_row(
    r: Referral, targets: Mapping[str, ServiceTargets], now: datetime, contacts: Contacts | None
) -> dict[str, Any] | None:
    """``r``'s worklist row, or None when the worklist does not list it."""
    line_targets = _line_targets(targets, r)
    if r.stage is Stage.ACCEPTED:
        return _schedule_row(r, line_targets, now, contacts)
    if r.stage in _AWAITING_RESPONSE and line_targets is not None:
        hours = line_targets.respond_within_hours
        if hours is not None:
            return _respond_row(r, hours, now, contacts)
    return None


def _schedule_row(
    r: Referral, line_targets: ServiceTargets | None, now: datetime, contacts: Contacts | None
) -> dict[str, Any]:
    accepted_at = _entered(r, Stage.ACCEPTED) or r.received_at
    target = line_targets.schedule_within_days if line_targets else None
    row = {**_base(r, contacts), "urgency": r.urgency.value, "stage": r.stage.value}
    return row | schedule_timing(accepted_at, target, now)


def schedule_timing(
    accepted_at: datetime | None, target: int | None, now: datetime
) -> dict[str, Any]:
    """The time columns of a worklist row waiting to be scheduled (``sla`` schedule)."""
    age = (now - accepted_at).days if accepted_at else 0
    row = {"sla": "schedule", "waiting_since": accepted_at, "accepted_at": accepted_at,
           "age_days": age}  # fmt: skip
    return row | _against_target(age, target)


def _respond_row(
    r: Referral, hours: int, now: datetime, contacts: Contacts | None
) -> dict[str, Any]:
    since = r.received_at or _entered(r, Stage.REFERRED) or _entered(r, r.stage)
    row = {**_base(r, contacts), "urgency": r.urgency.value, "stage": r.stage.value}
    return row | respond_timing(since, hours, now)


def respond_timing(since: datetime | None, hours: int, now: datetime) -> dict[str, Any]:
    """The time columns of a worklist row waiting for a response (``sla`` respond)."""
    age_hours = int((now - since).total_seconds() // 3600) if since else 0
    over = age_hours - hours
    status = "overdue" if over > 0 else "due_today" if over > -24 else "on_track"
    return {
        "sla": "respond",
        "waiting_since": since,
        "age_days": age_hours // 24,
        "days_over": round(over / 24, 1),
        "age_hours": age_hours,
        "target_hours": hours,
        "status": status,
    }


def closure_rows(
    referrals: Iterable[Referral],
    targets: Mapping[str, ServiceTargets],
    *,
    now: datetime,
    contacts: Contacts | None = None,
) -> list[dict[str, Any]]:
    """Completed referrals whose outcome has not gone back to the referrer, oldest first."""
    rows = (_closure_row(r, targets, now, contacts) for r in referrals)
    return sorted((row for row in rows if row is not None), key=_urgency_order)


def _closure_row(
    r: Referral, targets: Mapping[str, ServiceTargets], now: datetime, contacts: Contacts | None
) -> dict[str, Any] | None:
    """``r``'s closure-list row, or None when it is not completed or its loop is closed."""
    if r.stage is not Stage.COMPLETED or r.loop_closed_at is not None:
        return None
    completed_at = r.completed_at or _entered(r, Stage.COMPLETED)
    line_targets = _line_targets(targets, r)
    target = line_targets.close_loop_within_days if line_targets else None
    return _base(r, contacts) | closure_timing(completed_at, target, now)


def closure_timing(
    completed_at: datetime | None, target: int | None, now: datetime
) -> dict[str, Any]:
    """The time columns of a closure-list row (the completion in UTC, whatever zone it was
    stored in: the list's scan for rows whose age changed reads their times of day in UTC,
    :mod:`connectors.scheduling.closurescan`)."""
    age = (now - completed_at).days if completed_at else 0
    utc = completed_at.astimezone(UTC) if completed_at else None
    row = {"completed_at": utc, "days_since_completed": age}
    return row | _against_target(age, target)


class KeptBytes(Protocol):
    """Rows kept as the bytes of the file read, in order
    (:class:`connectors.scheduling.closurescan.ByteRun`)."""

    def merged(self, added: list[tuple[UrgencyKey, str]]) -> Iterable[bytes | memoryview]:
        """The file's bytes: the kept rows with ``added`` (lines, in key order) among them."""
        ...


class SortedRows:
    """A people file's rows, held as their CSV lines until they are written most urgent
    first (ties in referral id order, as a pass over the store in id order adds them).

    A people file is sorted, so all its rows are held before the first is written: a line
    (one string in a tuple with its sort key, which the cyclic garbage collector leaves
    alone) costs less than a dict or a list of cells per row, and a row kept from the file
    written before (:mod:`connectors.scheduling.reage`) can be held as it was read, only
    its age cells written anew. Rows kept exactly as they were can be added as a *run*
    (:meth:`add_run`): lines already in order, each keyed only when the rows added one by
    one are placed among them."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self._rows: list[tuple[UrgencyKey, str]] = []
        self._run: list[str] = []
        self._run_key: Callable[[str], UrgencyKey] | None = None
        self._bytes: KeptBytes | None = None

    def add(self, row: Mapping[str, Any]) -> None:
        """Add a row of values (as :func:`worklist_rows` gives them)."""
        self._rows.append((_row_key(row), csv_line([cell_text(row.get(c)) for c in self.columns])))

    def add_cells(self, key: UrgencyKey, cells: list[str]) -> None:
        """Add a row already in cells, with its sort key: :func:`urgency_key` of its values."""
        self._rows.append((key, csv_line(cells)))

    def add_line(self, key: UrgencyKey, line: str) -> None:
        """Add a row already a line (as :func:`connectors.csvfiles.csv_line` gives it)."""
        self._rows.append((key, line))

    def add_run(self, lines: list[str], key: Callable[[str], UrgencyKey]) -> None:
        """Add ``lines``, already most urgent first, whose sort keys ``key`` gives (one run
        per file: the rows kept unchanged from the file written before)."""
        if self._run_key is not None or self._bytes is not None:
            raise ValueError("a people file's rows hold one run of kept lines")
        self._run, self._run_key = lines, key

    def add_bytes(self, kept: KeptBytes) -> None:
        """Add the rows kept as bytes of the file read (instead of a run of lines)."""
        if self._run_key is not None or self._bytes is not None:
            raise ValueError("a people file's rows hold one run of kept lines")
        self._bytes = kept

    def lines(self) -> Iterable[str]:
        """The rows' lines, most urgent first."""
        self._rows.sort(key=itemgetter(0))
        run, key = self._run, self._run_key
        if key is None or not run:
            return (line for _, line in self._rows)
        if len(self._rows) * len(run).bit_length() > len(run):  # cheaper to key every line
            rows = [(key(line), line) for line in run] + self._rows
            rows.sort(key=itemgetter(0))  # a merge of two sorted runs
            return (line for _, line in rows)
        merged: list[str] = []
        start = 0
        for row_key, line in self._rows:  # each placed by a binary search of the run
            at = bisect_left(run, row_key, lo=start, key=key)
            merged.extend(run[start:at])
            merged.append(line)
            start = at
        merged.extend(run[start:])
        return merged

    def write(self, path: Path) -> None:
        """Write the rows to ``path`` (atomically). Kept bytes are not counted: that would
        be a scan of the file."""
        if self._bytes is None:
            write_lines_atomic(path, self.columns, self.lines())
            return
        self._rows.sort(key=itemgetter(0))
        write_bytes_atomic(path, self.columns, self._bytes.merged(self._rows))


def people_rows(
    referrals: Iterable[Referral],
    targets: Mapping[str, ServiceTargets],
    *,
    now: datetime,
    contacts: Contacts | None = None,
    into: tuple[SortedRows, SortedRows] | None = None,
) -> tuple[SortedRows, SortedRows]:
    """The worklist's and the closure list's rows (each as :func:`worklist_rows` and
    :func:`closure_rows` give them, every column present) from one pass over ``referrals``:
    a store read, each referral opened and decoded once for both lists. ``into``: add them
    to rows already held (the kept rows of files written before)."""
    worklist, closure = into or (SortedRows(WORKLIST_COLUMNS), SortedRows(CLOSURE_COLUMNS))
    for r in referrals:
        if (row := _worklist_row(r, targets, now, contacts)) is not None:
            worklist.add(row)
        elif (row := _closure_row(r, targets, now, contacts)) is not None:
            closure.add(row)
    return worklist, closure


UrgencyKey = tuple[float, int, str, str]


def urgency_key(over: float | None, age: int, number: str, referral_id: str) -> UrgencyKey:
    """Where a row sorts in its file: most days over its target first (none: last), then
    the oldest, then by referral number and id."""
    return (-(over if over is not None else -(10**6)), -age, number, referral_id)


def _row_key(row: Mapping[str, Any]) -> UrgencyKey:
    age = row.get("age_days", row.get("days_since_completed", 0))
    return urgency_key(row["days_over"], age, row["referral_number"], row["referral_id"])


def _urgency_order(row: Mapping[str, Any]) -> tuple[float, int, str]:
    return _row_key(row)[:3]


def write_worklist_csv(
    path: Path,
    referrals: Iterable[Referral],
    targets: Mapping[str, ServiceTargets],
    *,
    now: datetime,
    contacts: Contacts | None = None,
) -> int:
    """Write the scheduling worklist; returns the number of referrals listed."""
    return write_csv_atomic(
        path, WORKLIST_COLUMNS, worklist_rows(referrals, targets, now=now, contacts=contacts)
    )


def write_closure_csv(
    path: Path,
    referrals: Iterable[Referral],
    targets: Mapping[str, ServiceTargets],
    *,
    now: datetime,
    contacts: Contacts | None = None,
) -> int:
    """Write the loop-closure list; returns the number of referrals listed."""
    return write_csv_atomic(
        path, CLOSURE_COLUMNS, closure_rows(referrals, targets, now=now, contacts=contacts)
    )


def write_review_csv(path: Path, unmatched: Iterable[tuple[Mapping[str, Any], MatchResult]]) -> int:
    """Write the events no referral matched (fields whitelisted: no patient key, no PHI)."""
    rows = ({**{c: f.get(c) for c in REVIEW_COLUMNS}, "reason": m.reason} for f, m in unmatched)
    return write_csv_atomic(path, REVIEW_COLUMNS, rows)
