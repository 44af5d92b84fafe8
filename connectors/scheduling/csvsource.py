"""Streaming CSV rows: delimiter and header-row detection, banner/totals/blank skipping.

:func:`iter_rows` yields ``(line, cells)`` for every data row of a file, where ``cells`` is
the row as ``csv.reader`` split it (the converter compiled for the file's header reads only
the mapped columns, by position: a whitelist, so unmapped PHI columns are never read) and
``line`` is the physical line the row starts on (quoted newlines make rows span lines).
Memory stays flat: the file is decoded and parsed line by line.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from connectors.scheduling.files import iter_lines
from connectors.scheduling.presets import Preset, normalise_header

__all__ = [
    "HEADER_SEARCH_ROWS",
    "MAX_CELL_BYTES",
    "MAX_ROW_LINES",
    "CsvLayout",
    "Malformed",
    "NoHeaderFound",
    "detect_layout",
    "iter_rows",
]

HEADER_SEARCH_ROWS = 50
MAX_ROW_LINES = 20
"""A row spanning more physical lines than this is an unbalanced quote, not a comment."""
MAX_CELL_BYTES = 64 * 1024 * 1024
"""The largest cell read (the csv module's own default, 128 KiB, is below what real exports
carry in note columns); a larger one is rejected as oversized, never as a quote problem."""
_DELIMITERS = (",", "\t", ";", "|")
_FOOTER = re.compile(
    r"(?i)^\s*((grand\s+)?totals?\b|\d+\s+(records?|rows?|appointments?)\b|"
    r"report\s+(run|generated|total)|end\s+of\s+report|page\s+\d+)"
)


@dataclass(frozen=True, slots=True)
class Malformed:
    """A stretch of lines the csv parser could not split into one sane row."""

    first_line: int
    last_line: int
    oversized: bool = False  # a cell over MAX_CELL_BYTES, not an unbalanced quote


class NoHeaderFound(Exception):
    """No row in the first HEADER_SEARCH_ROWS rows names the preset's required columns."""


@dataclass(frozen=True)
class CsvLayout:
    delimiter: str
    columns: dict[str, int]  # native field -> column index
    header_key: tuple[str, ...]  # normalised header cells (to spot repeated headers)
    headers: dict[str, str]  # native field -> header text as written in the file
    first_cell: str  # the header's first cell as written (cheap repeated-header test)

    @property
    def width(self) -> int:
        """Cells in the header row."""
        return len(self.header_key)


def _match_header(cells: list[str], preset: Preset) -> dict[str, int] | None:
    normalised = [normalise_header(c) for c in cells]
    columns: dict[str, int] = {}
    for native, aliases in preset.columns.items():
        for alias in aliases:  # preset order is priority order (APPT_STATUS_C before _NAME)
            key = normalise_header(alias)
            if key in normalised:
                columns[native] = normalised.index(key)
                break
    has_when = "appointment_at" in columns or "appointment_date" in columns
    if all(r in columns for r in preset.required) and has_when and len(columns) >= 3:
        return columns
    return None


def _find_layout(rows: Iterator[list[str]], preset: Preset, delimiter: str) -> CsvLayout | None:
    for cells in itertools.islice(rows, HEADER_SEARCH_ROWS):
        columns = _match_header(cells, preset)
        if columns is not None:
            key = tuple(normalise_header(c) for c in cells)
            headers = {f: cells[i].strip().lstrip("\ufeff") for f, i in columns.items()}
            return CsvLayout(delimiter, columns, key, headers, cells[0].strip())
    return None


def _raise_field_limit(max_cell: int | None) -> int:
    """The cell limit to apply (``max_cell`` or :data:`MAX_CELL_BYTES`); the csv module's own
    process-wide limit is only ever raised, never lowered (other connections share it)."""
    limit = MAX_CELL_BYTES if max_cell is None else max_cell
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)
    return limit


def detect_layout(
    path: Path,
    encoding: str,
    preset: Preset,
    delimiter: str | None = None,
    max_cell: int | None = None,
) -> CsvLayout:
    """Find the delimiter and the header row from the head of the file.

    A candidate delimiter under which the head does not parse (a stray quote, a cell over
    the csv module's limit) is not the file's delimiter; the next one is tried. Never raises
    on a cell: a file whose header is not found under any delimiter is ``NoHeaderFound``.
    """
    _raise_field_limit(max_cell)
    for candidate in (delimiter,) if delimiter else _DELIMITERS:
        lines = iter_lines(path, encoding)
        try:
            layout = _find_layout(csv.reader(lines, delimiter=candidate), preset, candidate)
        except csv.Error:
            layout = None
        finally:
            lines.close()  # type: ignore[attr-defined]
        if layout is not None:
            return layout
    raise NoHeaderFound


def _is_noise(cells: list[str], layout: CsvLayout) -> bool:
    first = cells[0].strip() if cells else ""
    if not first:
        first = next((c for c in cells if c.strip()), "")
        if not first:
            return True  # blank line (or a row of empty cells)
    if _FOOTER.match(first):
        return True
    if first.lstrip("\ufeff") != layout.first_cell.lstrip("\ufeff"):
        return False
    return tuple(normalise_header(c) for c in cells) == layout.header_key  # repeated header


def iter_rows(
    path: Path, encoding: str, layout: CsvLayout, max_cell: int | None = None, nul: bool = True
) -> Iterator[tuple[int, list[str] | Malformed]]:
    """``(start line, cells)`` for each data row after the header (cells as ``csv`` split them).

    A row the csv parser cannot split, or one spanning more than :data:`MAX_ROW_LINES`
    lines (an unbalanced quote that swallowed the rows after it), comes as
    ``(start line, Malformed(...))``, as does a row with a cell over ``max_cell`` characters
    (default :data:`MAX_CELL_BYTES`); parsing resumes after it. ``nul=False``: the file's
    fingerprint found no NUL byte (see :func:`~connectors.scheduling.files.iter_lines`).
    """
    limit = _raise_field_limit(max_cell)
    check_cells = limit < csv.field_size_limit()
    lines = iter_lines(path, encoding, nul)
    reader = csv.reader(lines, delimiter=layout.delimiter)
    in_data = False
    header_first = layout.first_cell.lstrip("\ufeff")
    try:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                oversized = "field larger than field limit" in str(exc)
                yield start, Malformed(start, reader.line_num, oversized)
                continue
            if not in_data:
                in_data = tuple(normalise_header(c) for c in cells) == layout.header_key
                continue
            if check_cells and any(len(c) > limit for c in cells):
                yield start, Malformed(start, reader.line_num, oversized=True)
                continue
            if reader.line_num - start >= MAX_ROW_LINES:
                yield start, Malformed(start, reader.line_num)
                continue
            # An id-like first cell (digits only) is neither blank nor a footer: most rows
            # skip the regex and the repeated-header test.
            plain = cells and cells[0].isdigit() and cells[0] != header_first
            if not plain and _is_noise(cells, layout):
                continue
            yield start, cells
    finally:
        lines.close()  # type: ignore[attr-defined]
