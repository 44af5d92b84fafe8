"""CSV files for people, written whole and atomically, safe to open in a spreadsheet.

Vendor-free helpers for any connector (or report) that writes files for staff: a temp file
in the same directory, fsync, ``os.replace``, so a reader never sees half a file; text cells
a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR) are prefixed
with ``'``.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "cell_text",
    "csv_line",
    "neutralise_cell",
    "unneutralise_cell",
    "write_bytes_atomic",
    "write_cells_atomic",
    "write_csv_atomic",
    "write_lines_atomic",
]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_BOM = "\ufeff"  # what Excel needs to read the file as UTF-8
_BATCH = 1024
_QUOTED = ('"', "\r", "\n")  # with the comma: what makes csv.writer quote a cell


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
    count = 0
    with _atomic(path) as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        iterator = iter(rows)
        while batch := list(islice(iterator, _BATCH)):  # a C loop per batch of rows
            writer.writerows(batch)
            count += len(batch)
    return count


def csv_line(cells: Sequence[str]) -> str:
    """The line ``csv.writer`` writes for ``cells`` (minimal quoting, CRLF), built by a join
    when no cell holds a comma, a quote or a line break (quoting then changes nothing)."""
    text = ",".join(cells)
    if text.count(",") == len(cells) - 1 and not any(c in text for c in _QUOTED) and text:
        return text + "\r\n"
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


def write_lines_atomic(path: Path, columns: Sequence[str], lines: Iterable[str]) -> int:
    """Write ``lines`` (each as :func:`csv_line` gives it) under a header of ``columns`` to
    ``path`` atomically, as :func:`write_cells_atomic` would write their cells; returns the
    number of lines."""
    count = 0
    with _atomic(path) as fh:
        fh.write(csv_line(columns))
        iterator = iter(lines)
        while batch := list(islice(iterator, _BATCH)):
            fh.writelines(batch)
            count += len(batch)
    return count


def write_bytes_atomic(
    path: Path, columns: Sequence[str], chunks: Iterable[bytes | memoryview]
) -> None:
    """Write ``chunks`` (UTF-8 lines as :func:`csv_line` gives them, in any pieces) under a
    header of ``columns`` to ``path`` atomically."""
    with _atomic(path) as fh:
        fh.write(csv_line(columns))
        fh.flush()
        fh.buffer.writelines(chunks)


@contextmanager
def _atomic(path: Path) -> Iterator[TextIO]:
    """A text file for ``path`` that replaces it whole when the block ends (a temp file in
    the same directory, fsync, ``os.replace``) and is gone if the block fails; the BOM
    written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # The BOM by hand: "utf-8-sig" encodes every write in Python, "utf-8" in C
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(_BOM)
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
