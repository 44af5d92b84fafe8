"""The worklist and closure list read back from disk, their ages taken again at a new time.

When only some referrals changed since the files were written (the engine says which, and
vouches that the files, definitions and contacts are the ones they were written from), a
row of a referral that did not change differs from what a full pass would write only in
its age columns, and those follow from the dates the row holds and the time now. Reading
the rows back costs the listed rows, not the store: no record read, decrypted or decoded.

A kept row is held as the text read, its age cells replaced by the text of the new ages,
so writing it again gives the same bytes a full pass would; only its sort key needs a value
back from text (the referral number, the ``'`` :func:`connectors.csvfiles.neutralise_cell`
put in front of a would-be formula taken off again). A closure-list row without quotes (the
long list, and nearly every row) is split only where its age cells are; any other row is
parsed as CSV and written again from its cells. When the runs are minutes apart, the
closure list is not read row by row at all: only the rows whose age may have changed and
those of the changed referrals are (:mod:`connectors.scheduling.closurescan`). Anything
unexpected (a file missing, another header, a row that does not end as refsync writes rows,
a date or number that does not parse) raises :class:`PeopleFilesChanged`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from connectors.capabilities import PeopleFilesChanged
from connectors.csvfiles import csv_line, unneutralise_cell
from connectors.scheduling.closurescan import scan_closure
from connectors.scheduling.writers import (
    CLOSURE_COLUMNS,
    WORKLIST_COLUMNS,
    SortedRows,
    UrgencyKey,
    respond_timing,
    schedule_timing,
    target_status,
    urgency_key,
)

__all__ = ["keep_rows"]

_BOM = "\ufeff".encode()
_DATES = frozenset({"waiting_since", "accepted_at", "completed_at"})
# commas in a closure-list row's cells from the third to the one before completed_at
_CLOSURE_REST = CLOSURE_COLUMNS.index("completed_at") - 3
# where _closure_line and _closure_key split a row: its first two cells and its last five
_CLOSURE_ENDS = (
    ("referral_number", "referral_id"),
    ("completed_at", "days_since_completed", "target_days", "days_over", "status"),
)
if (tuple(CLOSURE_COLUMNS[:2]), tuple(CLOSURE_COLUMNS[-5:])) != _CLOSURE_ENDS:
    raise TypeError("CLOSURE_COLUMNS changed shape; update connectors/scheduling/reage.py")
_Timing = Callable[[list[str], dict[str, int], datetime], tuple[float | None, int]]


def keep_rows(path: Path, into: SortedRows, changed: Collection[str], now: datetime) -> int:
    """Add to ``into`` the rows of ``path`` (a worklist or closure list this connection
    wrote) of referrals not in ``changed``, aged at ``now``; returns how many rows were read
    (a closure list's scan reads only the rows that may differ:
    :mod:`connectors.scheduling.closurescan`)."""
    try:
        if into.columns == tuple(CLOSURE_COLUMNS):
            data = path.read_bytes()
            start = _header_end(path, data, into.columns)

            def keep(record: str) -> bool:
                return _closure_line(record, into, changed, now)

            scanned = scan_closure(data, start, changed, now, keep, _closure_key)
            if scanned is not None:
                into.add_bytes(scanned[0])
                return scanned[1]
            return _keep_lines(path.name, io.BytesIO(data), into, changed, now)  # read once
        with path.open("rb") as raw:
            return _keep_lines(path.name, raw, into, changed, now)
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise PeopleFilesChanged(f"{path.name} cannot be read back: {type(exc).__name__}") from exc


def _header_end(path: Path, data: bytes, columns: tuple[str, ...]) -> int:
    """Where the rows of ``data`` (a file refsync wrote, its BOM optional) begin."""
    header = csv_line(columns).encode()
    start = 3 if data.startswith(_BOM) else 0
    if data[start : start + len(header)] != header:
        raise PeopleFilesChanged(f"{path.name} has another header")
    return start + len(header)


def _keep_lines(
    name: str, raw: BinaryIO, into: SortedRows, changed: Collection[str], now: datetime
) -> int:
    """``keep_rows`` reading every row of the file ``name``, its bytes from ``raw``."""
    timing = _TIMINGS[into.columns]
    at = {c: i for i, c in enumerate(into.columns)}
    rid, number = at["referral_id"], at["referral_number"]
    closure = into.columns == tuple(CLOSURE_COLUMNS)
    unchanged: list[str] = []  # closure-list rows as they were: still in order
    read = 0
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        if fh.readline() != csv_line(into.columns):
            raise PeopleFilesChanged(f"{name} has another header")
        for line, record in _records(fh):
            read += 1
            if closure and '"' not in record:
                if _closure_line(record, into, changed, now):
                    unchanged.append(record)
                continue
            cells = next(csv.reader([record]))
            if len(cells) != len(into.columns):
                raise PeopleFilesChanged(f"{name} line {line} has {len(cells)} cells")
            if cells[rid] not in changed:
                over, age = timing(cells, at, now)
                key = urgency_key(over, age, unneutralise_cell(cells[number]), cells[rid])
                into.add_cells(key, cells)
        if unchanged:
            into.add_run(unchanged, _closure_key)
    return read


def _records(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, record) of each row of a CSV read as ``lines`` (opened with
    ``newline=""``): a quoted cell with a line break in it spans lines, so a record goes on
    until its quotes pair up."""
    number, pending = 1, ""
    for text in lines:
        number += 1
        if not pending and '"' not in text and text[-2:] == "\r\n":
            yield number, text  # nearly every row: one line, no quotes
            continue
        pending += text
        if pending.count('"') % 2 == 0:
            if not pending.endswith("\r\n"):
                raise ValueError("a row does not end as refsync writes rows")
            yield number, pending
            pending = ""
    if pending:
        raise ValueError("the file ends inside a quoted cell")


def _closure_line(record: str, into: SortedRows, changed: Collection[str], now: datetime) -> bool:
    """A closure-list row without quotes (no cell holds a comma, quote or line break): True
    when it stays as read. Its last five cells (completed at, days since, target, days
    over, status) are a date, numbers and a word, so only they are split off. A row whose
    age in days is still the one it shows is the same row, in the same place among the
    others. Any other is dropped (its referral changed) or added to ``into`` with its ages
    written anew. The long list costs a split per row, and a sort key only where rows move."""
    head, completed, shown, target, _, _ = record[:-2].rsplit(",", 5)
    number, referral_id, rest = head.split(",", 2)
    if rest.count(",") != _CLOSURE_REST:
        raise ValueError("a closure-list row with another number of cells")
    if referral_id in changed:
        return False
    age = (now - datetime.fromisoformat(completed)).days if completed else 0
    if str(age) == shown:  # days over and status follow from the age and the target
        return True
    over, status = target_status(age, int(target) if target else None)
    key = urgency_key(over, age, unneutralise_cell(number), referral_id)
    days_over = "" if over is None else str(over)
    into.add_line(key, f"{head},{completed},{age},{target},{days_over},{status}\r\n")
    return False


def _closure_key(record: str) -> UrgencyKey:
    """The sort key of a closure-list row kept as read (no quotes, as ``_closure_line``
    took it), from the ages it shows."""
    head, _, age, _, over, _ = record[:-2].rsplit(",", 5)
    number, referral_id, _ = head.split(",", 2)
    days_over = int(over) if over else None
    return urgency_key(days_over, int(age), unneutralise_cell(number), referral_id)


def _number_text(value: int | float | str | None) -> str:
    """The cell of a recomputed age column: a number, a status word or blank (nothing a
    spreadsheet would run, so nothing to neutralise: as :func:`cell_text` writes it)."""
    if value is None:
        return ""
    return value if type(value) is str else str(value)


def _when(cell: str) -> datetime | None:
    return datetime.fromisoformat(cell) if cell else None


def _number(cell: str) -> int | None:
    return int(cell) if cell else None


def _worklist(cells: list[str], at: dict[str, int], now: datetime) -> tuple[float | None, int]:
    if cells[at["sla"]] == "respond":
        hours = _number(cells[at["target_hours"]])
        if hours is None:
            raise ValueError("a respond row without target hours")
        aged = respond_timing(_when(cells[at["waiting_since"]]), hours, now)
    else:
        target = _number(cells[at["target_days"]])
        aged = schedule_timing(_when(cells[at["accepted_at"]]), target, now)
    return _aged(cells, at, aged, aged["age_days"])


def _closure(cells: list[str], at: dict[str, int], now: datetime) -> tuple[float | None, int]:
    # the closure list is the long one (completed referrals whose loop is open): its three
    # age cells are written here directly, as closure_timing would give them
    completed = cells[at["completed_at"]]
    age = (now - datetime.fromisoformat(completed)).days if completed else 0
    over, status = target_status(age, _number(cells[at["target_days"]]))
    cells[at["days_since_completed"]] = str(age)
    cells[at["days_over"]] = "" if over is None else str(over)
    cells[at["status"]] = status
    return over, age


def _aged(
    cells: list[str], at: dict[str, int], aged: dict[str, Any], age: int
) -> tuple[float | None, int]:
    """Put ``aged`` (the new time columns) in ``cells``; the days over and the age."""
    for column, value in aged.items():
        if column not in _DATES:  # a date cell is already its text
            cells[at[column]] = _number_text(value)
    return aged["days_over"], age


_TIMINGS: dict[tuple[str, ...], _Timing] = {
    tuple(WORKLIST_COLUMNS): _worklist,
    tuple(CLOSURE_COLUMNS): _closure,
}
