"""The tiers of what refsync itself writes for people: the program report and its CSV tables,
and the run reports, error table and log lines.

- ``refsync report`` (``report.html``, ``--csv DIR``) and ``refsync pipeline`` show
  aggregates only, small counts suppressed: tier ``deidentified``. Every column of every
  table is classed here; a column added without a class is classed a direct identifier
  and reported NOT ALLOWED by ``refsync privacy`` (exit 2) until someone classes it.
- Run reports, the error table and log lines carry counts, referral numbers, field names and
  error codes, never a field's value, and pass the PHI redaction filter: ``deidentified``.

The scheduling output files (worklist, closure list, review list) take their connection's
tier and are listed by :mod:`sync.privacy_report`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from mapping.privacy import DataClass, FieldClass, PrivacyTier

__all__ = ["REPORT_TIER", "RUN_RECORDS", "report_class", "report_columns"]

REPORT_TIER = PrivacyTier.DEIDENTIFIED
"""The tier the program report is built for (aggregates with small-cell suppression)."""

_AGGREGATE = FieldClass(
    DataClass.OPERATIONAL,
    "an aggregate over many referrals (count, rate, median or percentile of whole days); "
    "cells under the report's threshold (default 11) are suppressed",
)
_LABEL = FieldClass(
    DataClass.OPERATIONAL, "a row label: stage, service line, partner, campaign or measure name"
)
_MONTH = FieldClass(DataClass.COARSENED, "a calendar month over all referrals, not a patient's")
_OUTREACH_DAY = FieldClass(
    DataClass.OPERATIONAL,
    "the day of a liaison's outreach to a practice (a provider contact, not a patient's care)",
)
_LABELS = frozenset(
    {"stage", "service_line", "partner", "campaign", "measure", "problem", "item", "status",
     "trend", "target", "kind"}
)  # fmt: skip
_AGGREGATES = re.compile(
    r"^(value|referrals.*|completed.*|scheduled|outreach|due|breaches|count|sla_breaches|"
    r"after_outreach|days_since_outreach|share_of_referred|.*_rate|(median|p90)_days.*|"
    r"\d+(-\d+)?\+? days)$"
)

RUN_RECORDS: dict[str, FieldClass] = {
    "run report": FieldClass(
        DataClass.OPERATIONAL,
        "counts per system, object and outcome, referral numbers of changed records, field "
        "names; no field values",
    ),
    "error table": FieldClass(
        DataClass.OPERATIONAL,
        "referral number, system, object, field name, error code and fix; values are never "
        "recorded, and messages pass the PHI redaction filter",
    ),
    "log lines": FieldClass(
        DataClass.OPERATIONAL,
        "every line passes the redaction filter: tokens and every PHI value a run reads are "
        "replaced before the line is written",
    ),
}
"""What runs keep or print, each with what it may hold (all ``deidentified``)."""


def report_class(column: str) -> FieldClass:
    """The class of one report column (unknown columns: a direct identifier, fail-safe)."""
    if column in _LABELS:
        return _LABEL
    if column == "month":
        return _MONTH
    if column == "date":  # only the per-activity outreach table has one
        return _OUTREACH_DAY
    if _AGGREGATES.match(column):
        return _AGGREGATE
    return FieldClass(DataClass.DIRECT_IDENTIFIER, "not classified: class it in privacy_outputs")


def report_columns() -> dict[str, tuple[str, ...]]:
    """Every table of the report with its columns (built from no data: names only)."""
    from sync.insights import ProgramData, build_tables

    empty = ProgramData([], [], [], [], [], [])
    _, tables = build_tables(empty, now=datetime.now(UTC), days=90)
    return {name: table.columns for name, table in tables.items()}
