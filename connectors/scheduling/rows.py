"""One CSV row -> one stage-event native record (or a skip, or a reject).

The row's times and its event clock are :mod:`connectors.scheduling.eventclock`'s.

**Compiled once per file.** :func:`compile_rows` resolves everything that depends only on the
file's header and the connection (column positions, which time columns exist, the event
clock per stage) once, and returns a converter of raw ``csv.reader`` rows. Values that repeat
across rows (times, statuses, MRNs, birth dates) are parsed once per distinct cell; those
caches hold PHI, so they belong to the converter of one file's read and are bounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from connectors.base import NativeRecord
from connectors.scheduling.dates import NULL_TOKENS, Stamp, is_blank, parse_date
from connectors.scheduling.eventclock import CACHE_LIMIT, Columns, bad_date, event_clock
from connectors.scheduling.native import event_id_of_iso
from connectors.scheduling.patient import PatientKeyer
from connectors.scheduling.presets import Preset, StatusLookup
from connectors.scheduling.records import event_meta, native_record
from connectors.scheduling.rejects import BadRow
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
raises :class:`BadRow`. Appends to (and may pad) ``cells``."""


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
    """The converter of one file's rows (see the module docstring); build one per file read."""
    cols = Columns(ctx.columns, ctx.headers)
    stages, learn_stage, no_show = _stage_lookup(preset, cols)
    parse_at, appointment_parts, event_of, event_order = event_clock(settings, cols, ctx.as_of)
    patients, patient_of = _patient_keys(keyer)
    phi = _phi(cols) if settings.phi_passthrough else None
    has = cols.has
    has_parent, has_auth, has_name, has_practice, has_line = map(has, (
        "parent_appointment_id", "authorization_number", "referring_name", "referring_practice",
        "service_line",
    ))  # fmt: skip
    i_status, i_reason, i_at, i_id, i_parent, i_referral, i_auth, i_mrn, i_visit, i_npi, \
        i_name, i_practice, i_department, i_line = map(cols.at.__getitem__, (
        "status", "cancel_reason", "appointment_at", "appointment_id", "parent_appointment_id",
        "referral_number", "authorization_number", "mrn", "visit_type", "referring_npi",
        "referring_name", "referring_practice", "department", "service_line",
    ))  # fmt: skip
    width, pad = ctx.width, [""] * ctx.width
    source, source_file = f"csv:{preset.name}", ctx.source_file
    by_department, default_line = settings.service_line_by_department, settings.default_service_line
    completed, cancelled, no_show_stage = Stage.COMPLETED, Stage.CANCELLED, Stage.NO_SHOW

    # The hot loop of every CSV read, written out once (no per-field dispatch): each step
    # mirrors a named helper of the cold path (_ident, _text, eventclock, _stage_lookup).
    def convert(cells: list[str], line: int) -> NativeRecord | None:
        if len(cells) < width:
            cells.extend(pad[len(cells) :])
        cells.append("")  # the cell of every column this file lacks (ABSENT)
        status = cells[i_status].strip()
        stage = stages[status] if status in stages else learn_stage(status)
        if stage is None:
            return None
        reason = cells[i_reason].strip()
        if stage is cancelled and reason and no_show(reason):
            stage = no_show_stage
        raw = cells[i_at].strip()
        if len(raw) > _NULL_LENGTH or raw.casefold() not in _NULLS:
            try:
                appointment: Stamp | None = parse_at(raw)
            except ValueError:
                raise bad_date(cols, "appointment_at") from None
        else:
            appointment = appointment_parts(cells, stage)
        event_at, event_iso = event_of(cells, appointment, event_order[stage])
        referral = _ident(cells[i_referral].strip())
        authorization = _ident(cells[i_auth].strip()) if has_auth else None
        raw = cells[i_mrn].strip()
        patient = patients[raw] if raw in patients else patient_of(raw)
        if not (referral or authorization or patient):
            raise _no_match_key()
        appointment_id = _ident(cells[i_id].strip())
        parent_id = _ident(cells[i_parent].strip()) if has_parent else None
        npi = cells[i_npi].strip()
        department = _text(cells[i_department].strip())
        service_line = _text(cells[i_line].strip()) if has_line else None
        if service_line is None and department is not None:
            service_line = by_department.get(department)
        value = _VALUES[stage]
        fields: dict[str, Any] = {
            "appointment_id": appointment_id, "parent_appointment_id": parent_id,
            "referral_number": referral, "authorization_number": authorization,
            "patient_key": patient, "source": source, "source_file": source_file,
            "source_line": line, "status_raw": status, "stage": value, "event_at": event_at,
            "appointment_at": None if appointment is None else appointment[0],
            "completed_at": event_at if stage is completed else None,
            "cancel_reason": _text(reason) if stage in _LOST else None,
            "visit_type": _text(cells[i_visit].strip()),
            "referring_npi": npi if is_valid_npi(npi) else None,
            "referring_name": _text(cells[i_name].strip()) if has_name else None,
            "referring_practice": _text(cells[i_practice].strip()) if has_practice else None,
            "department": department, "service_line": service_line or default_line,
        }  # fmt: skip
        if phi is not None:
            fields = _with_phi(fields, phi(cells))
        where = appointment_id or f"{source_file}#{line}"
        meta = event_meta(event_at, appointment_id, parent_id, status, f"{source_file}:{line}")
        record_id = event_id_of_iso("csv", where, value, event_iso)
        return native_record(record_id, fields, False, event_at, meta)

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

    def learn(cell: str) -> str | None:
        key = None
        if keyer is None:
            pass
        elif cell.isascii() and cell.isdigit():  # the common shape: normal but for its zeros
            key = keyer.for_normal_mrn(cell.lstrip("0") or "0")
        else:
            mrn = _ident(cell) or cell
            if not (len(mrn) <= _NULL_LENGTH and mrn.casefold() in _NULLS):
                key = keyer.for_mrn(mrn)
        if len(seen) >= _LIMIT:
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
