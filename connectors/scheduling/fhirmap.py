"""Validated FHIR R4 resources -> the connector's native records.

Stage tables (reference: scheduling-fhir-hipaa.md §3.6). ``None``: the status says nothing
about the referral's stage (proposed, waitlist, on-hold, entered-in-error, ...) and yields no
event. A status outside the R4 value set is rejected (fhir.resources does not enforce enums).
A Task's BSeR ``businessStatus`` code, when present, wins over its ``status``.

Which resources say something about a referral: every Appointment with a stage (it is a
scheduling event even without ``basedOn``: the patient key can still match it); a Task or
Encounter only when it points at a ServiceRequest (or, for an Encounter, an Appointment); a
ServiceRequest only when it is a referral (category or code SNOMED 3457005 / 103696004 /
306206005, or a category or code whose text says "referral"; a placer number alone does not
make an order a referral). A Task counts when its focus/basedOn references a ServiceRequest,
its focus is a ServiceRequest identifier, or it carries a placer (PLAC) referral number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from connectors.scheduling.dates import parse_datetime
from connectors.scheduling.fhirproviders import (
    organization_record,
    practitioner_record,
    practitioner_role_record,
)
from connectors.scheduling.fhirrefs import (
    codes,
    local_ref,
    npi_of,
    text_of,
    typed_refs,
)
from connectors.scheduling.fhirsource import FhirItem, pick_referral_number
from connectors.scheduling.native import event_record_id
from connectors.scheduling.patient import PatientKeyer
from connectors.scheduling.settings import SchedulingSettings
from mapping.model import Stage

__all__ = [
    "APPOINTMENT_STAGES",
    "BSER_STAGES",
    "ENCOUNTER_STAGES",
    "SERVICE_REQUEST_STAGES",
    "TASK_STAGES",
    "BadResource",
    "FhirMapper",
    "FileContext",
]

S = Stage
APPOINTMENT_STAGES: dict[str, Stage | None] = {
    "proposed": None, "pending": S.SCHEDULED, "booked": S.SCHEDULED, "arrived": S.SCHEDULED,
    "checked-in": S.SCHEDULED, "fulfilled": S.COMPLETED, "cancelled": S.CANCELLED,
    "noshow": S.NO_SHOW, "entered-in-error": None, "waitlist": None,
}  # fmt: skip
TASK_STAGES: dict[str, Stage | None] = {
    "draft": None, "requested": S.REFERRED, "received": S.INTAKE_RECEIVED,
    "accepted": S.ACCEPTED, "rejected": S.DECLINED, "ready": S.ACCEPTED,
    "cancelled": S.CANCELLED, "in-progress": S.SCHEDULED, "on-hold": None,
    "failed": S.CANCELLED, "completed": S.COMPLETED, "entered-in-error": None,
}  # fmt: skip
BSER_STAGES: dict[str, Stage | None] = {
    "2.0": S.REFERRED, "3.0": S.ACCEPTED, "4.0": S.DECLINED, "5.1.1": S.SCHEDULED,
    "5.1.2": S.NO_SHOW, "5.1.3": S.CANCELLED, "5.1.4": S.COMPLETED, "5.2": None,
    "6.0": S.CANCELLED, "7.0": S.COMPLETED,
}  # fmt: skip
SERVICE_REQUEST_STAGES: dict[str, Stage | None] = {
    "draft": None, "active": S.REFERRED, "on-hold": None, "revoked": S.CANCELLED,
    "completed": S.COMPLETED, "entered-in-error": None, "unknown": None,
}  # fmt: skip
ENCOUNTER_STAGES: dict[str, Stage | None] = {
    "planned": S.SCHEDULED, "arrived": S.SCHEDULED, "triaged": S.SCHEDULED,
    "in-progress": S.SCHEDULED, "onleave": S.SCHEDULED, "finished": S.COMPLETED,
    "cancelled": S.CANCELLED, "entered-in-error": None, "unknown": None,
}  # fmt: skip
_PROVIDERS = {
    "Practitioner": practitioner_record,
    "PractitionerRole": practitioner_role_record,
    "Organization": organization_record,
}
_REFERRAL_CODES = {"3457005", "103696004", "306206005"}
_BSER_SYSTEM_HINT = "taskbusinessstatus"


class BadResource(Exception):
    def __init__(self, reason: str, *, field: str, code: str) -> None:
        super().__init__(reason)
        self.reason, self.field, self.code = reason, field, code


@dataclass(frozen=True, slots=True)
class FileContext:
    source_file: str
    as_of: datetime
    referral_numbers: Mapping[str, str]  # ServiceRequest ref -> referral number (this file)


Record = tuple[str, str, dict[str, Any]]  # (object name, record id, fields)


class FhirMapper:
    """Maps one validated resource to zero or one native record."""

    def __init__(self, settings: SchedulingSettings, keyer: PatientKeyer | None) -> None:
        self._settings = settings
        self._keyer = keyer
        self._tz = settings.timezone or "UTC"

    def record(self, item: FhirItem, ctx: FileContext) -> Record | None:
        """``(object, id, fields)`` for the resource, or None when it carries nothing."""
        provider = _PROVIDERS.get(item.resource_type or "")
        if provider is not None:
            return provider(item.resource, ctx.source_file)
        handlers = {
            "Appointment": self._appointment,
            "Encounter": self._encounter,
            "Task": self._task,
            "ServiceRequest": self._servicerequest,
        }
        handler = handlers.get(item.resource_type or "")
        return None if handler is None else handler(item, ctx)

    # -- stage events -------------------------------------------------------------------

    def _appointment(self, item: FhirItem, ctx: FileContext) -> Record | None:
        r = item.resource
        stage = _lookup(APPOINTMENT_STAGES, r.status, "Appointment.status")
        if stage is None:
            return None
        sr_refs = typed_refs(r.basedOn, "ServiceRequest")
        by_stage = {S.SCHEDULED: r.created, S.COMPLETED: r.start, S.NO_SHOW: r.start}
        fields = self._event(item, ctx, stage, r.status, [_last_updated(r), by_stage.get(stage)])
        fields.update(
            appointment_id=r.id or _first_identifier(r),
            appointment_at=self._when(r.start),
            cancel_reason=text_of(r.cancelationReason),
            department=text_of((r.specialty or [None])[0]) or text_of((r.serviceType or [None])[0]),
            visit_type=text_of(r.appointmentType),
        )
        self._link(fields, ctx, sr_refs, [ref.identifier for ref in r.basedOn or []])
        actors = [p.actor for p in r.participant or [] if p.actor]
        self._patient(fields, next((a for a in actors if _is_patient(a)), None))
        return self._finish(item, ctx, fields)

    def _encounter(self, item: FhirItem, ctx: FileContext) -> Record | None:
        r = item.resource
        sr_refs = typed_refs(r.basedOn, "ServiceRequest")
        appt_refs = typed_refs(r.appointment, "Appointment")
        stage = _lookup(ENCOUNTER_STAGES, r.status, "Encounter.status")
        if stage is None or not (sr_refs or appt_refs):
            return None
        period = r.period
        start, end = (period.start, period.end) if period else (None, None)
        times = [end if stage is S.COMPLETED else None, start, _last_updated(r)]
        fields = self._event(item, ctx, stage, r.status, times)
        fields.update(
            appointment_id=appt_refs[0].split("/", 1)[1] if appt_refs else None,
            appointment_at=self._when(start),
            department=text_of(r.serviceType),
        )
        self._link(fields, ctx, sr_refs, [])
        self._patient(fields, r.subject)
        return self._finish(item, ctx, fields)

    def _task(self, item: FhirItem, ctx: FileContext) -> Record | None:
        r = item.resource
        sr_refs = typed_refs([r.focus, *(r.basedOn or [])], "ServiceRequest")
        placer = _placer_number(r.identifier)
        focus_ident = r.focus.identifier if r.focus and r.focus.type == "ServiceRequest" else None
        if not (sr_refs or placer or focus_ident):
            return None  # a task about something else (a claim, a medication, ...)
        stage, raw = self._task_stage(r)
        if stage is None:
            return None
        times = [r.lastModified, _last_updated(r), r.authoredOn]
        fields = self._event(item, ctx, stage, raw, times)
        self._link(fields, ctx, sr_refs, [focus_ident])
        fields["referral_number"] = placer or fields["referral_number"]
        self._patient(fields, r.for_fhir)
        return self._finish(item, ctx, fields)

    def _task_stage(self, task: Any) -> tuple[Stage | None, str]:
        for coding in (task.businessStatus.coding or []) if task.businessStatus else []:
            system = (coding.system or "").casefold()
            if coding.code in BSER_STAGES and (not system or _BSER_SYSTEM_HINT in system):
                return BSER_STAGES[coding.code], f"{task.status}/{coding.code}"
        return _lookup(TASK_STAGES, task.status, "Task.status"), task.status

    def _servicerequest(self, item: FhirItem, ctx: FileContext) -> Record | None:
        r = item.resource
        number = pick_referral_number(r.identifier or [])
        if not _is_referral(r):
            return None
        stage = _lookup(SERVICE_REQUEST_STAGES, r.status, "ServiceRequest.status")
        if stage is None:
            return None
        fields = self._event(item, ctx, stage, r.status, [_last_updated(r), r.authoredOn])
        fields.update(
            referral_number=number,
            service_request_ref=f"ServiceRequest/{r.id}" if r.id else None,
            referring_npi=npi_of(r.requester),
            referring_name=getattr(r.requester, "display", None),
            department=text_of(r.performerType),
        )
        self._patient(fields, r.subject)
        return self._finish(item, ctx, fields)

    # -- shared pieces ------------------------------------------------------------------

    def _when(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else parse_datetime(value.isoformat(), self._tz)
        if isinstance(value, date):
            return parse_datetime(datetime.combine(value, time()).isoformat(), self._tz)
        return parse_datetime(str(value), self._tz)

    def _event(
        self, item: FhirItem, ctx: FileContext, stage: Stage, raw: str, times: list[Any]
    ) -> dict[str, Any]:
        event_at = next((self._when(t) for t in times if t is not None), None) or ctx.as_of
        rtype = item.resource_type
        rid = item.resource.id
        return {
            "source": f"fhir:{rtype}",
            "source_file": ctx.source_file,
            "source_line": item.line,
            "source_pointer": item.pointer,
            "fhir_ref": f"{rtype}/{rid}" if rid else None,
            "service_request_ref": None,
            "appointment_id": None,
            "referral_number": None,
            "authorization_number": None,
            "patient_key": None,
            "status_raw": raw,
            "stage": stage.value,
            "event_at": event_at,
            "appointment_at": None,
            "completed_at": event_at if stage is S.COMPLETED else None,
            "cancel_reason": None,
            "referring_npi": None,
            "referring_name": None,
            "referring_practice": None,
            "department": None,
            "service_line": None,
            "visit_type": None,
        }

    def _link(
        self, fields: dict[str, Any], ctx: FileContext, sr_refs: list[str], idents: list[Any]
    ) -> None:
        fields["service_request_ref"] = sr_refs[0] if sr_refs else None
        number = next((i.value for i in idents if i is not None and i.value), None)
        if number is None:
            number = next(
                (ctx.referral_numbers[s] for s in sr_refs if s in ctx.referral_numbers), None
            )
        fields["referral_number"] = number

    def _patient(self, fields: dict[str, Any], reference: Any) -> None:
        ref = local_ref(reference.reference) if reference and reference.reference else None
        if ref and self._keyer is not None:
            fields["patient_key"] = self._keyer.for_reference(reference.reference)
        if self._settings.phi_passthrough:
            mrn = reference.identifier.value if reference and reference.identifier else None
            fields.update(mrn=mrn, patient_name=reference.display if reference else None)
            fields["birth_date"] = None

    def _finish(self, item: FhirItem, ctx: FileContext, fields: dict[str, Any]) -> Record:
        department = fields.get("department")
        line = self._settings.service_line_by_department.get(department or "")
        fields["service_line"] = line or self._settings.default_service_line
        where = fields["fhir_ref"] or f"{ctx.source_file}#{item.line or item.pointer or 0}"
        record_id = event_record_id("fhir", where, fields["stage"], fields["event_at"])
        return "stage_event", record_id, fields


def _lookup(table: Mapping[str, Stage | None], status: str | None, element: str) -> Stage | None:
    if status is None or status not in table:
        raise BadResource(
            f"{element} is not in the R4 value set; fix the export (or entered-in-error it)",
            field=element,
            code="UNKNOWN_STATUS",
        )
    return table[status]


def _last_updated(resource: Any) -> Any:
    return resource.meta.lastUpdated if resource.meta else None


def _first_identifier(resource: Any) -> str | None:
    return next((i.value for i in resource.identifier or [] if i.value), None)


def _is_patient(reference: Any) -> bool:
    ref = local_ref(reference.reference) if reference.reference else None
    return bool(ref and ref.startswith("Patient/")) or reference.type == "Patient"


def _is_referral(request: Any) -> bool:
    concepts = [*(request.category or []), request.code]
    if codes(concepts) & _REFERRAL_CODES:
        return True
    return any("referral" in (text_of(c) or "").casefold() for c in concepts if c is not None)


def _placer_number(identifiers: list[Any] | None) -> str | None:
    for ident in identifiers or []:
        if ident.value and ident.type is not None and "PLAC" in codes([ident.type]):
            return str(ident.value)
    return None
