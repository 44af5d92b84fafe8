"""The worklist and closure list read back from disk, their ages taken again at a new time.

When only some referrals changed since the files were written (the engine says which, and
vouches that the files, definitions and contacts are the ones they were written from), a
row of a referral that did not change differs from what a full pass would write only in
its age columns, and those follow from the dates the row holds and the time now. Reading
the rows back costs the listed rows, not the store: no record read, decrypted or decoded.

Cells come back as the text written: a cell a spreadsheet would run as a formula had ``'``
put in front (:func:`connectors.csvfiles.neutralise_cell`), taken off here so that writing
the row again puts it back, byte for byte. Anything unexpected (a file missing, another
header, a date or number that does not parse) raises :class:`PeopleFilesChanged`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.capabilities import PeopleFilesChanged
from connectors.scheduling.writers import (
    CLOSURE_COLUMNS,
    WORKLIST_COLUMNS,
    SortedRows,
    closure_timing,
    respond_timing,
    schedule_timing,
)

__all__ = ["keep_rows"]

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
Timing = Callable[[dict[str, str], datetime], dict[str, Any]]


def keep_rows(path: Path, into: SortedRows, changed: Collection[str], now: datetime) -> None:
    """Add to ``into`` the rows of ``path`` (a worklist or closure list this connection
    wrote) of referrals not in ``changed``, aged at ``now``."""
    timing = _TIMINGS[into.columns]
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = csv.reader(fh)
            if tuple(next(rows, ())) != into.columns:
                raise PeopleFilesChanged(f"{path.name} has another header")
            width = len(into.columns)
            for line, cells in enumerate(rows, start=2):
                if len(cells) != width:
                    raise PeopleFilesChanged(f"{path.name} line {line} has {len(cells)} cells")
                row = dict(zip(into.columns, map(_text, cells), strict=True))
                if row["referral_id"] not in changed:
                    into.add(row | timing(row, now))
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise PeopleFilesChanged(f"{path.name} cannot be read back: {type(exc).__name__}") from exc


def _text(cell: str) -> str:
    """The value a cell was written from (text; ``'`` taken off a neutralised formula)."""
    if cell[:1] == "'" and cell[1:].startswith(_FORMULA):
        return cell[1:]
    return cell


def _when(cell: str) -> datetime | None:
    return datetime.fromisoformat(cell) if cell else None


def _number(cell: str) -> int | None:
    return int(cell) if cell else None


def _worklist(row: dict[str, str], now: datetime) -> dict[str, Any]:
    if row["sla"] == "respond":
        hours = _number(row["target_hours"])
        if hours is None:
            raise ValueError("a respond row without target hours")
        return respond_timing(_when(row["waiting_since"]), hours, now)
    return schedule_timing(_when(row["accepted_at"]), _number(row["target_days"]), now)


def _closure(row: dict[str, str], now: datetime) -> dict[str, Any]:
    return closure_timing(_when(row["completed_at"]), _number(row["target_days"]), now)


_TIMINGS: dict[tuple[str, ...], Timing] = {
    tuple(WORKLIST_COLUMNS): _worklist,
    tuple(CLOSURE_COLUMNS): _closure,
}
