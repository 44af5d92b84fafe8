"""One CSV row -> one stage-event native record (or a skip, or a reject).

The row's times and its event clock are :mod:`connectors.scheduling.eventclock`'s.

**Compiled once per file.** :func:`compile_rows` resolves everything that depends only on the
file's header and the connection (column positions, which time columns exist, the event
clock per stage) once, and returns a converter of raw ``csv.reader`` rows whose code is
generated for that layout (:mod:`connectors.scheduling.rowcode`). Values that repeat
across rows (times, statuses, MRNs, birth dates) are parsed once per distinct cell; those
caches hold PHI, so they belong to the converter of one file's read and are bounded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from connectors.base import NativeRecord
from connectors.scheduling.dates import NULL_TOKENS, LocalClock, is_blank, parse_date
from connectors.scheduling.eventclock import (
    CACHE_LIMIT,
    NEARBY_CACHE_LIMIT,
    TIME_COLUMNS,
    Columns,
    appointment_parts,
    bad_date,
    event_order,
)
from connectors.scheduling.patient import PatientKeyer
from connectors.scheduling.presets import Preset, StatusLookup
from connectors.scheduling.records import event_meta, native_record
from connectors.scheduling.rejects import BadRow
from connectors.scheduling.rowcode import Layout, row_source
from connectors.scheduling.settings import SchedulingSettings
from mapping.model import Stage
from mapping.npi import is_valid_npi

__all__ = [
    "BadRow",
    "ConvertRow",
    "RowContext",
    "clean_identifier",
    "compile_rows",
]

_EXCEL_FLOAT = re.compile(r"\d+\.0+")
_EXCEL_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
_LOST = (Stage.CANCELLED, Stage.NO_SHOW)
_NULLS = NULL_TOKENS
_NULL_LENGTH = max(map(len, NULL_TOKENS))
_LIMIT = CACHE_LIMIT

ConvertRow = Callable[[list[str], int], "NativeRecord | None"]
"""``(csv.reader cells, start line)`` -> the row's record, or None (not a stage event);
raises :class:`BadRow`. May pad (and append to) ``cells``."""


def clean_identifier(raw: str | None) -> str | None:
    """An id cell as text; Excel's ``123.0`` repaired, its ``1.2E+15`` (digits lost) dropped."""
    if is_blank(raw):
        return None
    assert raw is not None
    value = raw.strip()
    # Both Excel shapes need a "." or an exponent: most ids skip the regexes.
    if "." in value and _EXCEL_FLOAT.fullmatch(value):
        return value.split(".", 1)[0]
    if ("e" in value or "E" in value) and _EXCEL_SCIENTIFIC.fullmatch(value):
        return None
    return value


def _ident(value: str) -> str | None:
    """:func:`clean_identifier` of a stripped cell, without a call for the common shapes."""
    if len(value) <= _NULL_LENGTH and value.casefold() in _NULLS:
        return None
    if "." in value or "e" in value or "E" in value:
        return clean_identifier(value)
    return value


def _text(value: str) -> str | None:
    """A stripped free-text cell: None when blank, else at most 255 characters."""
    if len(value) <= _NULL_LENGTH and value.casefold() in _NULLS:
        return None
    return value[:255]


@dataclass(frozen=True, slots=True)
class RowContext:
    """What one file contributes to its rows: its name, time and header."""

    source_file: str
    as_of: datetime
    headers: Mapping[str, str]  # native field -> the header text in this file
    columns: Mapping[str, int]  # native field -> column position
    width: int  # cells in the header row


_VALUES = {stage: stage.value for stage in Stage}


def compile_rows(
    preset: Preset, settings: SchedulingSettings, keyer: PatientKeyer | None, ctx: RowContext
) -> ConvertRow:
    """The converter of one file's rows (see the module docstring); build one per file read.

    Its code is generated for the file's layout (:mod:`connectors.scheduling.rowcode`) and
    run over the names bound here: the caches of this read and the helpers of the cold path.
    """
    cols = Columns(ctx.columns, ctx.headers)
    present = ("appointment_at", *(f for f in TIME_COLUMNS if cols.has(f)))
    order = event_order(settings, present)
    layout = Layout(cols.at, present[1:], order, settings.phi_passthrough)
    stages, learn_stage, no_show = _stage_lookup(preset, cols)
    patients, patient_of = _patient_keys(keyer)
    clock = LocalClock(settings.timezone or "UTC")
    days, clocks, day_of, clock_of, other, zone = clock.parts()
    names: dict[str, Any] = {
        "WIDTH": ctx.width, "PAD": [""] * ctx.width, "SOURCE": f"csv:{preset.name}",
        "source_file": ctx.source_file, "FALLBACK": (ctx.as_of, ctx.as_of.isoformat()),
        "NULLS": _NULLS, "NULL_LENGTH": _NULL_LENGTH, "NEARBY_LIMIT": NEARBY_CACHE_LIMIT,
        "LOST": _LOST, "VALUES": _VALUES, "ORDERED": order, "stages": stages,
        "learn_stage": learn_stage, "no_show": no_show, "patients": patients,
        "patient_of": patient_of,
        "stamp": clock.column(0), "at_seen": {}, "days": days, "clocks": clocks,
        "day_of": day_of, "clock_of": clock_of, "other": other, "zone": zone,
        "appointment_parts": appointment_parts(settings, cols), "bad_date": bad_date,
        "cols": cols, "digests": {}, "sha256": hashlib.sha256, "datetime": datetime,
        "clean_identifier": clean_identifier, "no_match_key": _no_match_key,
        "is_valid_npi": is_valid_npi, "by_department": settings.service_line_by_department,
        "default_line": settings.default_service_line, "event_meta": event_meta,
        "native_record": native_record, "with_phi": _with_phi,
        "phi": _phi(cols) if settings.phi_passthrough else None,
        **{stage.name: stage for stage in Stage},
    }  # fmt: skip
    exec(compile(row_source(layout), f"<rows of {preset.name}>", "exec"), names)  # noqa: S102
    convert: ConvertRow = names["convert"]
    return convert


def _no_match_key() -> BadRow:
    return BadRow(
        "row has no referral number, authorization number or MRN to match on",
        field="referral_number",
        code="NO_MATCH_KEY",
    )


_StageLookup = tuple[
    dict[str, "Stage | None"], Callable[[str], "Stage | None"], Callable[[str], bool]
]


def _stage_lookup(preset: Preset, cols: Columns) -> _StageLookup:
    """The statuses seen so far (status -> stage; None: not a stage event), the function that
    learns a new one (BadRow when it is blank or unknown), and the no-show test of a
    cancellation's reason (remembered per reason)."""
    lookup = StatusLookup(preset.status_map, preset.no_show_reasons)
    seen: dict[str, Stage | None] = {}
    reasons: dict[str, bool] = {}

    def learn(status: str) -> Stage | None:
        if is_blank(status):
            raise BadRow(
                f"status column '{cols.header('status')}' is empty",
                field="status",
                code="MISSING_STATUS",
            )
        try:
            found = lookup.stage(status)
        except KeyError:
            raise BadRow(
                f"status in column '{cols.header('status')}' is not in the "
                f"{preset.name} vocabulary; add it to settings.status_map",
                field="status",
                code="UNKNOWN_STATUS",
            ) from None
        if len(seen) >= _LIMIT:
            seen.clear()
        seen[status] = found
        return found

    def no_show(reason: str) -> bool:
        if reason not in reasons:
            if len(reasons) >= _LIMIT:
                reasons.clear()
            reasons[reason] = lookup.is_no_show(reason)
        return reasons[reason]

    return seen, learn, no_show


def _patient_keys(
    keyer: PatientKeyer | None,
) -> tuple[dict[str, str | None], Callable[[str], str | None]]:
    """The patient keys of the MRN cells seen so far and the function that adds one (None:
    no MRN, or no keyer)."""
    seen: dict[str, str | None] = {}
    normal_key = None if keyer is None else keyer.normal_mrn_hasher()
    # Most MRNs of a file are distinct: a small cache holds the repeats on nearby rows.

    def learn(cell: str) -> str | None:
        key = None
        if keyer is None or normal_key is None:
            pass
        elif cell.isascii() and cell.isdigit():  # the common shape: normal but for its zeros
            key = normal_key(cell.lstrip("0") or "0")
        else:
            mrn = _ident(cell) or cell
            if not (len(mrn) <= _NULL_LENGTH and mrn.casefold() in _NULLS):
                key = keyer.for_mrn(mrn)
        if len(seen) >= NEARBY_CACHE_LIMIT:
            seen.clear()
        seen[cell] = key
        return key

    return seen, learn


def _phi(cols: Columns) -> Callable[[list[str]], dict[str, Any]]:
    """MRN, name and birth date (``phi_passthrough`` only); an unusable birth date is None."""
    i_mrn, i_name, i_birth = (cols.at[f] for f in ("mrn", "patient_name", "birth_date"))
    births: dict[str, date | None] = {}

    def phi(cells: list[str]) -> dict[str, Any]:
        raw = cells[i_mrn].strip()
        mrn = _ident(raw) or raw
        birth = cells[i_birth].strip()
        if birth not in births:
            if len(births) >= _LIMIT:
                births.clear()
            births[birth] = _birth_date(birth)
        return {
            "mrn": None if is_blank(mrn) else mrn,
            "patient_name": _text(cells[i_name].strip()),
            "birth_date": births[birth],
        }

    return phi


def _birth_date(cell: str) -> date | None:
    try:
        return None if is_blank(cell) else parse_date(cell)
    except ValueError:
        return None


def _with_phi(fields: dict[str, Any], phi: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with the PHI fields after the identity fields (their documented place)."""
    items = list(fields.items())
    return dict(items[:5] + list(phi.items()) + items[5:])
