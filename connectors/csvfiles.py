"""CSV files for people, written whole and atomically, safe to open in a spreadsheet.

Vendor-free helpers for any connector (or report) that writes files for staff: a temp file
in the same directory, fsync, ``os.replace``, so a reader never sees half a file; text cells
a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR) are prefixed
with ``'``.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "cell_text",
    "neutralise_cell",
    "unneutralise_cell",
    "write_cells_atomic",
    "write_csv_atomic",
]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """Prefix text a spreadsheet would evaluate; numbers we computed pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def unneutralise_cell(cell: str) -> str:
    """The text a cell was written from: the ``'`` :func:`neutralise_cell` put in front of
    a would-be formula taken off again."""
    if cell[:1] == "'" and cell[1:].startswith(_FORMULA_STARTS):
        return cell[1:]
    return cell


def write_csv_atomic(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write ``rows`` to ``path`` atomically; returns the number of data rows."""
    return write_cells_atomic(path, columns, ([_cell(row.get(c)) for c in columns] for row in rows))


def write_cells_atomic(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write rows already in cells (each as :func:`cell_text` gives it, in ``columns``
    order) to ``path`` atomically; returns the number of data rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for cells in rows:
                writer.writerow(cells)
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def cell_text(value: Any) -> str:
    """The text :func:`write_csv_atomic` writes for ``value`` (what the file holds)."""
    cell = _cell(value)
    return cell if isinstance(cell, str) else str(cell)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return neutralise_cell(value)
