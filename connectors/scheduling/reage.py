"""The worklist and closure list read back from disk, their ages taken again at a new time.

When only some referrals changed since the files were written (the engine says which, and
vouches that the files, definitions and contacts are the ones they were written from), a
row of a referral that did not change differs from what a full pass would write only in
its age columns, and those follow from the dates the row holds and the time now. Reading
the rows back costs the listed rows, not the store: no record read, decrypted or decoded.

A kept row is held as the cells read, its age cells replaced by the text of the new ages,
so writing it again gives the same bytes a full pass would; only its sort key needs a value
back from text (the referral number, whose ``'`` put in front of a would-be formula by
:func:`connectors.csvfiles.neutralise_cell` is taken off). Anything unexpected (a file
missing, another header, a date or number that does not parse) raises
:class:`PeopleFilesChanged`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.capabilities import PeopleFilesChanged
from connectors.csvfiles import cell_text
from connectors.scheduling.writers import (
    CLOSURE_COLUMNS,
    WORKLIST_COLUMNS,
    SortedRows,
    closure_timing,
    respond_timing,
    schedule_timing,
    urgency_key,
)

__all__ = ["keep_rows"]

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
Timing = Callable[[list[str], dict[str, int], datetime], dict[str, Any]]


def keep_rows(path: Path, into: SortedRows, changed: Collection[str], now: datetime) -> None:
    """Add to ``into`` the rows of ``path`` (a worklist or closure list this connection
    wrote) of referrals not in ``changed``, aged at ``now``."""
    timing = _TIMINGS[into.columns]
    at = {c: i for i, c in enumerate(into.columns)}
    rid, number = at["referral_id"], at["referral_number"]
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = csv.reader(fh)
            if tuple(next(rows, ())) != into.columns:
                raise PeopleFilesChanged(f"{path.name} has another header")
            width = len(into.columns)
            for line, cells in enumerate(rows, start=2):
                if len(cells) != width:
                    raise PeopleFilesChanged(f"{path.name} line {line} has {len(cells)} cells")
                if cells[rid] in changed:
                    continue
                aged = timing(cells, at, now)
                for column, value in aged.items():
                    cells[at[column]] = cell_text(value)
                aged.update(referral_id=cells[rid], referral_number=_text(cells[number]))
                into.add_cells(urgency_key(aged), cells)
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


def _worklist(cells: list[str], at: dict[str, int], now: datetime) -> dict[str, Any]:
    if cells[at["sla"]] == "respond":
        hours = _number(cells[at["target_hours"]])
        if hours is None:
            raise ValueError("a respond row without target hours")
        return respond_timing(_when(cells[at["waiting_since"]]), hours, now)
    target = _number(cells[at["target_days"]])
    return schedule_timing(_when(cells[at["accepted_at"]]), target, now)


def _closure(cells: list[str], at: dict[str, int], now: datetime) -> dict[str, Any]:
    target = _number(cells[at["target_days"]])
    return closure_timing(_when(cells[at["completed_at"]]), target, now)


_TIMINGS: dict[tuple[str, ...], Timing] = {
    tuple(WORKLIST_COLUMNS): _worklist,
    tuple(CLOSURE_COLUMNS): _closure,
}
