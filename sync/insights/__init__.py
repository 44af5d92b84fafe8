"""What people look at: the program's measures as a report, CSV tables and a terminal pipeline.

Reads canonical records from the state store, computes :mod:`mapping.measures`, and writes
aggregates only (no PHI; small counts suppressed). Used by ``refsync report`` and
``refsync pipeline``.
"""

from __future__ import annotations

from sync.insights.output import load_program_data, write_csvs, write_report
from sync.insights.tables import ProgramData, Table, build_tables

__all__ = [
    "ProgramData",
    "Table",
    "build_tables",
    "load_program_data",
    "write_csvs",
    "write_report",
]
