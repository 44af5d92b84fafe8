"""One CSV row -> one stage-event native record (or a skip, or a reject).

**The event clock.** The event time of a row is when its status became true: the first
column of :data:`EVENT_TIME_COLUMNS` (or the connection's ``event_time_columns``) that the
row has, per stage. Every stage falls back to the appointment's date and time (for an
outcome that is when it happened; for a booking without a made-at column the engine's fold
orders it before its own appointment's outcome). The file's modification time is used only
when the connection declares ``snapshot: true`` ("as of when the file was written, the status
was X"), and for a cancellation that carries no time at all.

Which columns each vendor's export has (see ``presets.py``): Epic Cadence ``APPT_MADE_DTTM``,
``APPT_CANC_DTTM``, ``CHECKIN_DTTM``/``CHECKOUT_DTTM``; athenahealth
``APPOINTMENTSCHEDULEDDATETIME``, ``APPOINTMENTCANCELLEDDATETIME``, check-in/out times
(no-shows are cancellations with a no-show reason); NextGen ``Created Date``, ``Cancel Date``,
``Checkin Time``/``Checkout Time``.

**Compiled once per file.** :func:`compile_rows` resolves everything that depends only on the
file's header and the connection (column positions, which time columns exist, the event
clock per stage) once, and returns a converter of raw ``csv.reader`` rows. Values that repeat
across rows (times, statuses, MRNs, birth dates) are parsed once per distinct cell; those
caches hold PHI, so they belong to the converter of one file's read and are bounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from connectors.base import EventMeta, NativeRecord
from connectors.scheduling.dates import (
    NULL_TOKENS,
    LocalClock,
    Stamp,
    is_blank,
    parse_date,
    parse_datetime_parts,
)
from connectors.scheduling.native import event_id_of_iso
from connectors.scheduling.patient import PatientKeyer
from connectors.scheduling.presets import CSV_FIELDS, Preset, StatusLookup
from connectors.scheduling.settings import SchedulingSettings
from mapping.model import Stage
from mapping.npi import is_valid_npi

__all__ = [
    "EVENT_TIME_COLUMNS",
    "BadRow",
    "ConvertRow",
    "RowContext",
    "clean_identifier",
    "compile_rows",
]

EVENT_TIME_COLUMNS: dict[Stage, tuple[str, ...]] = {
    Stage.SCHEDULED: ("made_at", "status_changed_at", "appointment_at"),
    Stage.COMPLETED: ("checkout_at", "status_changed_at", "checkin_at", "appointment_at"),
    Stage.CANCELLED: ("cancelled_at", "status_changed_at", "appointment_at"),
    Stage.NO_SHOW: ("status_changed_at", "cancelled_at", "appointment_at"),
}
"""The default event clock per stage: the first column present wins."""
_EXCEL_FLOAT = re.compile(r"\d+\.0+")
_EXCEL_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
_TIME_COLUMNS = ("made_at", "cancelled_at", "checkin_at", "checkout_at", "status_changed_at")
_LOST = (Stage.CANCELLED, Stage.NO_SHOW)
_NULLS = NULL_TOKENS
_NULL_LENGTH = max(map(len, NULL_TOKENS))
_ABSENT = -1
"""The position of a column the file lacks: every row gets a blank cell appended there."""
_LIMIT = 65_536
"""Entries per cache (cleared when full): memory stays flat on any file."""

ConvertRow = Callable[[list[str], int], "NativeRecord | None"]
"""``(csv.reader cells, start line)`` -> the row's record, or None (not a stage event);
raises :class:`BadRow`. Appends to (and may pad) ``cells``."""


class BadRow(Exception):
    """The row cannot be used; ``reason`` names the column and the fix, never the value."""

    def __init__(self, reason: str, *, field: str, code: str) -> None:
        super().__init__(reason)
        self.reason, self.field, self.code = reason, field, code


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


class _Columns:
    """Native field -> position in the row (:data:`_ABSENT` for columns the file lacks)."""

    def __init__(self, ctx: RowContext) -> None:
        self.at = {f: ctx.columns.get(f, _ABSENT) for f in CSV_FIELDS}
        self.headers = ctx.headers

    def header(self, field: str) -> str:
        return self.headers.get(field, field)

    def has(self, field: str) -> bool:
        return self.at[field] != _ABSENT


_VALUES = {stage: stage.value for stage in Stage}


def compile_rows(
    preset: Preset, settings: SchedulingSettings, keyer: PatientKeyer | None, ctx: RowContext
) -> ConvertRow:
    """The converter of one file's rows (see the module docstring); build one per file read."""
    cols = _Columns(ctx)
    stages, learn_stage, no_show = _stage_lookup(preset, cols)
    parse_at, appointment_parts, event_of, event_order = _event_clock(settings, cols, ctx)
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
    # mirrors a named helper of the cold path (_ident, _text, _appointment, _stage_lookup).
    def convert(cells: list[str], line: int) -> NativeRecord | None:
        if len(cells) < width:
            cells.extend(pad[len(cells) :])
        cells.append("")  # the cell of every column this file lacks (_ABSENT)
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
                raise _bad_date(cols, "appointment_at") from None
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
        meta = EventMeta(event_at, appointment_id, parent_id, status, f"{source_file}:{line}")
        record_id = event_id_of_iso("csv", where, value, event_iso)
        return NativeRecord(record_id, fields, False, event_at, meta)

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


def _stage_lookup(preset: Preset, cols: _Columns) -> _StageLookup:
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


def _bad_date(cols: _Columns, field: str) -> BadRow:
    return BadRow(
        f"column '{cols.header(field)}' is not a recognised date/time (US, ISO or Excel serial)",
        field=field,
        code="BAD_DATE",
    )


def _event_order(
    settings: SchedulingSettings, present: tuple[str, ...]
) -> dict[Stage, tuple[int, ...]]:
    """Per stage, the event-clock columns this file has, in priority order, as positions in
    ``present`` (the appointment time first, then the file's other time columns)."""
    order: dict[Stage, tuple[int, ...]] = {}
    for stage in Stage:
        chosen = settings.event_time_columns.get(stage)
        columns: Sequence[str] | None = chosen or EVENT_TIME_COLUMNS.get(stage)
        if columns is None:
            continue  # a stage without an event clock (as before: a KeyError if it occurs)
        if settings.snapshot:  # a snapshot's own time beats the appointment fallback
            columns = [c for c in columns if c != "appointment_at"]
        order[stage] = tuple(present.index(c) for c in columns if c in present)
    return order


_Clocks = tuple[
    Callable[[str], Stamp],
    Callable[[list[str], Stage], "Stamp | None"],
    Callable[[list[str], "Stamp | None", tuple[int, ...]], Stamp],
    dict[Stage, tuple[int, ...]],
]


def _event_clock(settings: SchedulingSettings, cols: _Columns, ctx: RowContext) -> _Clocks:
    """The parser of the appointment date/time column, the appointment time of a row whose
    column is blank (:func:`_appointment_parts`), the event time of a row given its
    appointment time and its stage's clock (:func:`_event_order`), and those clocks."""
    clock = LocalClock(settings.timezone or "UTC")
    # Made/cancelled/check-in times are mostly distinct: only their date and time-of-day
    # parts are remembered; appointment slots repeat, so whole cells are.
    others = tuple((f, cols.at[f], clock.column(0)) for f in _TIME_COLUMNS if cols.has(f))
    present = ("appointment_at", *(f for f, _, _ in others))
    as_of = (ctx.as_of, ctx.as_of.isoformat())

    def event(cells: list[str], appointment: Stamp | None, order: tuple[int, ...]) -> Stamp:
        # Every time column is read (a bad one rejects the row), then the clock picks.
        found = [appointment]
        for field, i, parse in others:
            raw = cells[i].strip()
            if len(raw) <= _NULL_LENGTH and raw.casefold() in _NULLS:
                found.append(None)
                continue
            try:
                found.append(parse(raw))
            except ValueError:
                raise _bad_date(cols, field) from None
        for position in order:
            hit = found[position]
            if hit is not None:
                return hit
        return as_of

    parts = _appointment_parts(settings, cols)
    return clock.column(_LIMIT), parts, event, _event_order(settings, present)


def _appointment_parts(
    settings: SchedulingSettings, cols: _Columns
) -> Callable[[list[str], Stage], Stamp | None]:
    """The appointment time of a row without one in the date/time column: from its date and
    time columns, else None for a cancellation, else BadRow."""
    i_day, i_time = cols.at["appointment_date"], cols.at["appointment_time"]
    seen: dict[tuple[str, str], Stamp] = {}
    tz = settings.timezone or "UTC"

    def appointment(cells: list[str], stage: Stage) -> Stamp | None:
        day = cells[i_day].strip()
        if not is_blank(day):
            key = (day, cells[i_time].strip())
            if key not in seen:
                try:
                    when = parse_datetime_parts(*key, tz)
                except ValueError:
                    raise BadRow(
                        f"columns '{cols.header('appointment_date')}'/"
                        f"'{cols.header('appointment_time')}' are not a recognised date/time",
                        field="appointment_date",
                        code="BAD_DATE",
                    ) from None
                if len(seen) >= _LIMIT:
                    seen.clear()
                seen[key] = (when, when.isoformat())
            return seen[key]
        if stage not in _LOST:  # FHIR app-3: only cancelled may lack a time
            raise BadRow(
                "appointment date/time is empty (allowed only for cancellations)",
                field="appointment_at",
                code="MISSING_DATE",
            )
        return None

    return appointment


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


def _phi(cols: _Columns) -> Callable[[list[str]], dict[str, Any]]:
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
