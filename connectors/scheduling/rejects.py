"""Rows and resources the connector could not use.

A :class:`RowRejected` is a :class:`mapping.errors.RecordRejected` (so a ``RecordError``:
record it and carry on) that also says where the row came from. Its ``key`` is
``"<file>:<line>"`` (or ``"<file>:<pointer>"`` for a Bundle entry) - never PHI - and its
message names the file, line, column/field and the fix, never the cell's value. A
:class:`BadRow` is what the row converter raises; the connector turns it into a RowRejected.
"""

from __future__ import annotations

from mapping.errors import RecordRejected

__all__ = ["BadRow", "RowRejected"]


class RowRejected(RecordRejected):
    """One unusable export row (CSV line) or FHIR resource (NDJSON line / Bundle entry)."""

    def __init__(
        self,
        reason: str,
        *,
        source_file: str,
        source_line: int | None = None,
        pointer: str | None = None,
        field: str | None = None,
        code: str = "INVALID_ROW",
    ) -> None:
        where = f"line {source_line}" if source_line is not None else (pointer or "file")
        super().__init__(
            f"{source_file} {where}: {reason}",
            key=f"{source_file}:{source_line if source_line is not None else pointer or '-'}",
            field=field,
            code=code,
        )
        self.source_file = source_file
        self.source_line = source_line
        self.pointer = pointer
        self.reason = reason


class BadRow(Exception):
    """The row cannot be used; ``reason`` names the column and the fix, never the value."""

    def __init__(self, reason: str, *, field: str, code: str) -> None:
        super().__init__(reason)
        self.reason, self.field, self.code = reason, field, code
