"""Reading the program from the state store, writing the report and its CSV tables."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from connectors.csvfiles import write_csv_atomic
from mapping.model import (
    Clinician,
    OutreachActivity,
    Partner,
    QualifiedReferralDefinition,
    Referral,
)
from sync.insights.tables import ProgramData, Table
from sync.state import StateStore

__all__ = ["load_program_data", "write_csvs", "write_report"]

_M = TypeVar("_M", bound=BaseModel)


def _records(store: StateStore, entity: str, model: type[_M], unreadable: Counter[str]) -> list[_M]:
    """Live records of ``entity``; one that no longer fits the model is counted, not fatal."""
    out = []
    for rec in store.iter_records(entity):
        try:
            out.append(model.model_validate(rec.data))
        except ValidationError:
            unreadable[entity] += 1
    return out


def load_program_data(
    store: StateStore, definitions: Iterable[QualifiedReferralDefinition]
) -> ProgramData:
    """Every live canonical record the measures need, and the open record errors.

    Definitions come from the program directory (what the next run applies) and from the
    store (what earlier runs stored), the directory's winning on the same id.
    """
    bad: Counter[str] = Counter()
    stored = {d.id: d for d in _records(store, "definition", QualifiedReferralDefinition, bad)}
    stored |= {d.id: d for d in definitions}
    return ProgramData(
        referrals=_records(store, "referral", Referral, bad),
        partners=_records(store, "partner", Partner, bad),
        clinicians=_records(store, "clinician", Clinician, bad),
        outreach=_records(store, "outreach", OutreachActivity, bad),
        definitions=list(stored.values()),
        errors=store.open_errors(),
        unreadable=dict(bad),
    )


def write_report(
    path: Path,
    tables: Mapping[str, Table],
    *,
    program: str,
    now: datetime,
    days: int,
    threshold: int,
) -> Path:
    """Write the HTML report atomically; returns its path."""
    # Imported here: plotly is for the HTML report only, not the worklists a run writes.
    from sync.insights.html import render_html

    text = render_html(tables, program=program, now=now, days=days, threshold=threshold)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csvs(directory: Path, tables: Mapping[str, Table]) -> list[Path]:
    """One CSV per report table (``DIR/<table>.csv``); returns the paths written."""
    written = []
    for table in tables.values():
        path = directory / f"{table.name}.csv"
        write_csv_atomic(path, table.columns, table.rows)
        written.append(path)
    return written
