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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.scheduling.dates import is_blank, parse_date, parse_datetime, parse_datetime_parts
from connectors.scheduling.native import event_record_id
from connectors.scheduling.patient import PatientKeyer
from connectors.scheduling.presets import Preset, StatusLookup
from connectors.scheduling.settings import SchedulingSettings
from mapping.model import Stage
from mapping.npi import is_valid_npi

__all__ = ["EVENT_TIME_COLUMNS", "BadRow", "RowConverter", "clean_identifier"]

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


@dataclass(frozen=True, slots=True)
class RowContext:
    source_file: str
    as_of: datetime
    headers: Mapping[str, str]  # native field -> the header text in this file


class RowConverter:
    """Turns raw row values into the connector's normalised native fields."""

    def __init__(
        self, preset: Preset, settings: SchedulingSettings, keyer: PatientKeyer | None
    ) -> None:
        self._preset = preset
        self._status = StatusLookup(preset.status_map, preset.no_show_reasons)
        self._settings = settings
        self._tz = settings.timezone or "UTC"
        self._keyer = keyer
        self._headers: Mapping[str, str] = {}

    def convert(
        self, values: Mapping[str, str], line: int, ctx: RowContext
    ) -> tuple[str, dict[str, Any]] | None:
        """``(record id, fields)``, or None for a row that is not a stage event."""
        self._headers = ctx.headers
        stage = self._stage(values)
        if stage is None:
            return None
        appointment_at = self._appointment_at(values, stage)
        times = {c: self._time(values, c) for c in _TIME_COLUMNS}
        times["appointment_at"] = appointment_at
        event_at = self._event_at(stage, times, ctx.as_of)
        fields = self._identity(values)
        fields.update(
            source=f"csv:{self._preset.name}",
            source_file=ctx.source_file,
            source_line=line,
            status_raw=values.get("status", "").strip(),
            stage=stage.value,
            event_at=event_at,
            appointment_at=appointment_at,
            completed_at=event_at if stage is Stage.COMPLETED else None,
            cancel_reason=self._text(values, "cancel_reason") if stage in _LOST else None,
            visit_type=self._text(values, "visit_type"),
        )
        fields.update(self._place(values))
        appt = fields["appointment_id"] or f"{ctx.source_file}#{line}"
        return event_record_id("csv", appt, stage.value, event_at), fields

    def _event_at(
        self, stage: Stage, times: Mapping[str, datetime | None], as_of: datetime
    ) -> datetime:
        columns: list[str] = list(
            self._settings.event_time_columns.get(stage) or EVENT_TIME_COLUMNS[stage]
        )
        if self._settings.snapshot:  # a snapshot's own time beats the appointment fallback
            columns = [c for c in columns if c != "appointment_at"]
        found = next((t for c in columns if (t := times.get(c)) is not None), None)
        return found if found is not None else as_of

    def _column(self, field: str) -> str:
        return self._headers.get(field, field)

    def _stage(self, values: Mapping[str, str]) -> Stage | None:
        raw = values.get("status", "")
        if is_blank(raw):
            raise BadRow(
                f"status column '{self._column('status')}' is empty",
                field="status",
                code="MISSING_STATUS",
            )
        try:
            return self._status.stage(raw, values.get("cancel_reason"))
        except KeyError:
            raise BadRow(
                f"status in column '{self._column('status')}' is not in the "
                f"{self._preset.name} vocabulary; add it to settings.status_map",
                field="status",
                code="UNKNOWN_STATUS",
            ) from None

    def _time(self, values: Mapping[str, str], field: str) -> datetime | None:
        raw = values.get(field)
        if is_blank(raw):
            return None
        assert raw is not None
        try:
            return parse_datetime(raw, self._tz)
        except ValueError:
            raise BadRow(
                f"column '{self._column(field)}' is not a recognised date/time "
                "(US, ISO or Excel serial)",
                field=field,
                code="BAD_DATE",
            ) from None

    def _appointment_at(self, values: Mapping[str, str], stage: Stage) -> datetime | None:
        when = self._time(values, "appointment_at")
        if when is None and not is_blank(values.get("appointment_date")):
            try:
                when = parse_datetime_parts(
                    values["appointment_date"], values.get("appointment_time"), self._tz
                )
            except ValueError:
                raise BadRow(
                    f"columns '{self._column('appointment_date')}'/"
                    f"'{self._column('appointment_time')}' are not a recognised date/time",
                    field="appointment_date",
                    code="BAD_DATE",
                ) from None
        if when is None and stage not in _LOST:  # FHIR app-3: only cancelled may lack a time
            raise BadRow(
                "appointment date/time is empty (allowed only for cancellations)",
                field="appointment_at",
                code="MISSING_DATE",
            )
        return when

    def _identity(self, values: Mapping[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "appointment_id": clean_identifier(values.get("appointment_id")),
            "parent_appointment_id": clean_identifier(values.get("parent_appointment_id")),
            "referral_number": clean_identifier(values.get("referral_number")),
            "authorization_number": clean_identifier(values.get("authorization_number")),
            "patient_key": None,
        }
        mrn = clean_identifier(values.get("mrn")) or values.get("mrn")
        if self._keyer is not None and not is_blank(mrn):
            out["patient_key"] = self._keyer.for_mrn(mrn)
        if not (out["referral_number"] or out["authorization_number"] or out["patient_key"]):
            raise BadRow(
                "row has no referral number, authorization number or MRN to match on",
                field="referral_number",
                code="NO_MATCH_KEY",
            )
        if self._settings.phi_passthrough:
            out.update(self._phi(values, mrn))
        return out

    def _phi(self, values: Mapping[str, str], mrn: str | None) -> dict[str, Any]:
        birth = values.get("birth_date")
        try:
            birth_date = None if is_blank(birth) else parse_date(birth or "")
        except ValueError:
            birth_date = None
        return {
            "mrn": None if is_blank(mrn) else (mrn or "").strip(),
            "patient_name": self._text(values, "patient_name"),
            "birth_date": birth_date,
        }

    def _place(self, values: Mapping[str, str]) -> dict[str, Any]:
        npi = (values.get("referring_npi") or "").strip()
        department = self._text(values, "department")
        line = self._text(values, "service_line")
        if line is None and department is not None:
            line = self._settings.service_line_by_department.get(department)
        return {
            "referring_npi": npi if is_valid_npi(npi) else None,
            "referring_name": self._text(values, "referring_name"),
            "referring_practice": self._text(values, "referring_practice"),
            "department": department,
            "service_line": line or self._settings.default_service_line,
        }

    @staticmethod
    def _text(values: Mapping[str, str], field: str) -> str | None:
        raw = values.get(field)
        return None if is_blank(raw) else (raw or "").strip()[:255]
