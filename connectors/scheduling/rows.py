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
from collections.abc import Callable, Mapping
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
_Times = Callable[[list[str], Stage], tuple[Stamp | None, Stamp]]
_Identity = tuple[str | None, str | None, str | None, str | None, str | None]
_Place = tuple[str | None, str | None, str | None, str | None, str | None]


def compile_rows(
    preset: Preset, settings: SchedulingSettings, keyer: PatientKeyer | None, ctx: RowContext
) -> ConvertRow:
    """The converter of one file's rows (see the module docstring); build one per file read."""
    cols = _Columns(ctx)
    stage_of = _stage_lookup(preset, cols)
    times = _event_clock(settings, cols, ctx)
    identify = _identify(cols, keyer)
    place = _place(settings, cols)
    phi = _phi(cols, keyer) if settings.phi_passthrough else None
    i_status, i_reason, i_visit = (cols.at[f] for f in ("status", "cancel_reason", "visit_type"))
    width, pad = ctx.width, [""] * ctx.width
    source, source_file = f"csv:{preset.name}", ctx.source_file
    completed = Stage.COMPLETED

    def convert(cells: list[str], line: int) -> NativeRecord | None:
        if len(cells) < width:
            cells.extend(pad[len(cells) :])
        cells.append("")  # the cell of every column this file lacks (_ABSENT)
        status = cells[i_status].strip()
        reason = cells[i_reason].strip()
        stage = stage_of(status, reason)
        if stage is None:
            return None
        appointment, (event_at, event_iso) = times(cells, stage)
        appointment_id, parent_id, referral, authorization, patient = identify(cells)
        npi, referring_name, referring_practice, department, service_line = place(cells)
        value = _VALUES[stage]
        fields: dict[str, Any] = {
            "appointment_id": appointment_id, "parent_appointment_id": parent_id,
            "referral_number": referral, "authorization_number": authorization,
            "patient_key": patient, "source": source, "source_file": source_file,
            "source_line": line, "status_raw": status, "stage": value, "event_at": event_at,
            "appointment_at": None if appointment is None else appointment[0],
            "completed_at": event_at if stage is completed else None,
            "cancel_reason": _text(reason) if stage in _LOST else None,
            "visit_type": _text(cells[i_visit].strip()), "referring_npi": npi,
            "referring_name": referring_name, "referring_practice": referring_practice,
            "department": department, "service_line": service_line,
        }  # fmt: skip
        if phi is not None:
            fields = _with_phi(fields, phi(cells))
        where = appointment_id or f"{source_file}#{line}"
        meta = EventMeta(event_at, appointment_id, parent_id, status, f"{source_file}:{line}")
        record_id = event_id_of_iso("csv", where, value, event_iso)
        return NativeRecord(record_id, fields, modified_at=event_at, event=meta)

    return convert


def _stage_lookup(preset: Preset, cols: _Columns) -> Callable[[str, str], Stage | None]:
    """``(status, cancel reason)`` -> stage (None: not a stage event), learnt once per pair."""
    lookup = StatusLookup(preset.status_map, preset.no_show_reasons)
    seen: dict[tuple[str, str], Stage | None] = {}

    def stage_of(status: str, reason: str) -> Stage | None:
        key = (status, reason)
        if key in seen:
            return seen[key]
        if is_blank(status):
            raise BadRow(
                f"status column '{cols.header('status')}' is empty",
                field="status",
                code="MISSING_STATUS",
            )
        try:
            found = lookup.stage(status, reason or None)
        except KeyError:
            raise BadRow(
                f"status in column '{cols.header('status')}' is not in the "
                f"{preset.name} vocabulary; add it to settings.status_map",
                field="status",
                code="UNKNOWN_STATUS",
            ) from None
        if len(seen) >= _LIMIT:
            seen.clear()
        seen[key] = found
        return found

    return stage_of


def _bad_date(cols: _Columns, field: str) -> BadRow:
    return BadRow(
        f"column '{cols.header(field)}' is not a recognised date/time (US, ISO or Excel serial)",
        field=field,
        code="BAD_DATE",
    )


def _event_order(settings: SchedulingSettings, cols: _Columns) -> dict[Stage, tuple[str, ...]]:
    """Per stage, the event-clock columns this file has, in priority order."""
    order: dict[Stage, tuple[str, ...]] = {}
    for stage in Stage:
        columns = settings.event_time_columns.get(stage) or EVENT_TIME_COLUMNS.get(stage)
        if columns is None:
            continue  # a stage without an event clock (as before: a KeyError if it occurs)
        if settings.snapshot:  # a snapshot's own time beats the appointment fallback
            columns = [c for c in columns if c != "appointment_at"]
        order[stage] = tuple(c for c in columns if c == "appointment_at" or cols.has(c))
    return order


def _event_clock(settings: SchedulingSettings, cols: _Columns, ctx: RowContext) -> _Times:
    """``(cells, stage)`` -> (appointment time, event time); BadRow for an unusable time."""
    clock = LocalClock(settings.timezone or "UTC", _LIMIT // 4)
    appointment_of = _appointment(settings, cols, clock)
    others = tuple((f, cols.at[f], clock.column()) for f in _TIME_COLUMNS if cols.has(f))
    order = _event_order(settings, cols)
    as_of = (ctx.as_of, ctx.as_of.isoformat())

    def times(cells: list[str], stage: Stage) -> tuple[Stamp | None, Stamp]:
        appointment = appointment_of(cells, stage)
        found = {"appointment_at": appointment}
        for field, i, parse in others:
            raw = cells[i].strip()
            if len(raw) > _NULL_LENGTH or raw.casefold() not in _NULLS:
                try:
                    found[field] = parse(raw)
                except ValueError:
                    raise _bad_date(cols, field) from None
        for field in order[stage]:
            hit = found.get(field)
            if hit is not None:
                return appointment, hit
        return appointment, as_of

    return times


def _appointment(
    settings: SchedulingSettings, cols: _Columns, clock: LocalClock
) -> Callable[[list[str], Stage], Stamp | None]:
    """The appointment's time: its date/time column, else its date and time columns."""
    parse, parts = clock.column(), _parts(settings.timezone or "UTC")
    i_at, i_day, i_time = (
        cols.at[f] for f in ("appointment_at", "appointment_date", "appointment_time")
    )

    def appointment(cells: list[str], stage: Stage) -> Stamp | None:
        raw = cells[i_at].strip()
        if len(raw) > _NULL_LENGTH or raw.casefold() not in _NULLS:
            try:
                return parse(raw)
            except ValueError:
                raise _bad_date(cols, "appointment_at") from None
        day = cells[i_day].strip()
        if not is_blank(day):
            try:
                return parts(day, cells[i_time].strip())
            except ValueError:
                raise BadRow(
                    f"columns '{cols.header('appointment_date')}'/"
                    f"'{cols.header('appointment_time')}' are not a recognised date/time",
                    field="appointment_date",
                    code="BAD_DATE",
                ) from None
        if stage not in _LOST:  # FHIR app-3: only cancelled may lack a time
            raise BadRow(
                "appointment date/time is empty (allowed only for cancellations)",
                field="appointment_at",
                code="MISSING_DATE",
            )
        return None

    return appointment


def _parts(tz: str) -> Callable[[str, str], Stamp]:
    """:func:`parse_datetime_parts` remembering each (date, time) pair (bounded)."""
    seen: dict[tuple[str, str], Stamp] = {}

    def parse(day: str, clock: str) -> Stamp:
        key = (day, clock)
        hit = seen.get(key)
        if hit is None:
            when = parse_datetime_parts(day, clock, tz)
            if len(seen) >= _LIMIT:
                seen.clear()
            hit = seen[key] = (when, when.isoformat())
        return hit

    return parse


def _identify(cols: _Columns, keyer: PatientKeyer | None) -> Callable[[list[str]], _Identity]:
    """Appointment, parent, referral and authorization ids and the patient key; BadRow when
    the row has nothing to match a referral on."""
    i_id, i_parent, i_referral, i_auth, i_mrn = (cols.at[f] for f in (
        "appointment_id", "parent_appointment_id", "referral_number", "authorization_number",
        "mrn",
    ))  # fmt: skip
    key_of = None if keyer is None else keyer.cached(_LIMIT)

    def identify(cells: list[str]) -> _Identity:
        referral = _ident(cells[i_referral].strip())
        authorization = _ident(cells[i_auth].strip())
        patient = None
        if key_of is not None:
            raw = cells[i_mrn].strip()
            mrn = _ident(raw) or raw
            if len(mrn) > _NULL_LENGTH or mrn.casefold() not in _NULLS:
                patient = key_of(mrn)
        if not (referral or authorization or patient):
            raise BadRow(
                "row has no referral number, authorization number or MRN to match on",
                field="referral_number",
                code="NO_MATCH_KEY",
            )
        appointment_id = _ident(cells[i_id].strip())
        return appointment_id, _ident(cells[i_parent].strip()), referral, authorization, patient

    return identify


def _place(settings: SchedulingSettings, cols: _Columns) -> Callable[[list[str]], _Place]:
    """Referring NPI (only when its check digit holds), name, practice, department, line."""
    i_npi, i_name, i_practice, i_department, i_line = (cols.at[f] for f in (
        "referring_npi", "referring_name", "referring_practice", "department", "service_line",
    ))  # fmt: skip
    by_department, default = settings.service_line_by_department, settings.default_service_line

    def place(cells: list[str]) -> _Place:
        npi = cells[i_npi].strip()
        department = _text(cells[i_department].strip())
        line = _text(cells[i_line].strip())
        if line is None and department is not None:
            line = by_department.get(department)
        return (
            npi if is_valid_npi(npi) else None,
            _text(cells[i_name].strip()),
            _text(cells[i_practice].strip()),
            department,
            line or default,
        )

    return place


def _phi(cols: _Columns, keyer: PatientKeyer | None) -> Callable[[list[str]], dict[str, Any]]:
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
