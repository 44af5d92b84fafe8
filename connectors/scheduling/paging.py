"""Records of one export cut into pages, with the read's counters.

A page is cut when it holds ``size`` records or ``size`` rejects wait (memory stays flat on
any file); the rest of the file's last page is the generators' return value, so the caller
can complete the file's bookmark before it emits it.

**No step per row but the converter's.** :func:`csv_pages` runs the CSV read loop itself:
rows go from ``csv.reader`` through the compiled converter straight into the page, instead
of through a generator per layer (rows, records, pages) that each resume once per row.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass

from connectors.base import NativeRecord, ReadPage
from connectors.scheduling.csvsource import Malformed
from connectors.scheduling.rejects import BadRow, RowRejected
from connectors.scheduling.rows import ConvertRow

__all__ = ["Emit", "Pages", "ReadStats", "csv_pages", "record_pages"]

Emit = Callable[[list[NativeRecord]], ReadPage]
"""The page of these records: the bookmark so far and the rejects taken off ``pending``."""

Pages = Generator[ReadPage, None, list[NativeRecord]]
"""Full pages; returns the records of the last, partial page."""


@dataclass
class ReadStats:
    """Counters of the last ``read`` (rows: CSV data rows or FHIR resources seen)."""

    files_read: int = 0
    files_skipped: int = 0
    rows: int = 0
    records: int = 0
    skipped: int = 0
    rejected: int = 0


def record_pages(
    records: Iterable[NativeRecord | None], size: int, pending: list[RowRejected], emit: Emit
) -> Pages:
    """Pages of ``records`` (None: a row that gave no record; it may have added a reject)."""
    page: list[NativeRecord] = []
    for record in records:
        if record is not None:
            page.append(record)
        if len(page) >= size or len(pending) >= size:
            yield emit(page)
            page = []
    return page


def csv_pages(
    rows: Iterable[tuple[int, list[str] | Malformed]],
    convert: ConvertRow,
    *,
    size: int,
    pending: list[RowRejected],
    emit: Emit,
    source_file: str,
    max_cell: int,
    stats: ReadStats,
) -> Pages:
    """Pages of the stage events of ``rows`` (``csvsource.iter_rows``); a bad row is added to
    ``pending`` (and counted) with its line. The counters are added to ``stats`` at the end."""
    page: list[NativeRecord] = []
    count = records = skipped = 0  # local in the loop, added to stats once
    try:
        for line, cells in rows:
            count += 1
            try:
                if isinstance(cells, Malformed):
                    raise _malformed(cells, max_cell)
                record = convert(cells, line)
            except BadRow as bad:
                stats.rejected += 1
                pending.append(_rejected(bad, source_file, line))
            else:
                if record is None:
                    skipped += 1
                else:
                    records += 1
                    page.append(record)
            if len(page) >= size or len(pending) >= size:
                yield emit(page)
                page = []
    finally:
        stats.rows += count
        stats.records += records
        stats.skipped += skipped
    return page


def _rejected(bad: BadRow, source_file: str, line: int) -> RowRejected:
    return RowRejected(
        bad.reason, source_file=source_file, source_line=line, field=bad.field, code=bad.code
    )


def _malformed(values: Malformed, max_cell: int) -> BadRow:
    span = f"lines {values.first_line}-{values.last_line}"
    if values.oversized:
        limit = (
            f"{max_cell / (1024 * 1024):g} MB" if max_cell >= 1024 * 1024 else f"{max_cell:,} bytes"
        )
        lines = "" if values.first_line == values.last_line else f"{span}: "
        return BadRow(
            f"{lines}a cell is larger than {limit} (settings.max_cell_bytes); trim that "
            "column in the export (or leave it out of the report) and re-export, or raise "
            "max_cell_bytes",
            field="row",
            code="CELL_TOO_LARGE",
        )
    return BadRow(
        f"{span} are not one CSV row: an unbalanced quote joined them; fix the quote and re-export",
        field="row",
        code="MALFORMED_ROW",
    )
