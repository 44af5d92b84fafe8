"""Column layouts and status vocabularies of the scheduling exports refsync knows.

A :class:`Preset` says which header names carry each *native field* (matched after
case-folding and dropping everything but letters and digits, so ``Appt Date/Time``,
``APPT DATE TIME`` and ``appt_date_time`` are the same header) and how the export's status
values map to canonical stages (``None``: the row is not a stage event, e.g. athenahealth's
open slots or NextGen's "Rescheduled", whose replacement appointment is its own row).

Status values are looked up whole, then by the code before ``" - "`` and the name after it,
so ``"x - Cancelled"``, ``"x"`` and ``"Cancelled"`` all resolve. Unknown values are rejected
(never defaulted) so that an admin adds them to ``settings.status_map``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mapping.model import Stage

__all__ = [
    "CSV_FIELDS",
    "PRESETS",
    "Preset",
    "StatusLookup",
    "normalise_header",
    "resolve_preset",
]

S = Stage

CSV_FIELDS = (
    "appointment_id",
    "parent_appointment_id",
    "referral_number",
    "authorization_number",
    "mrn",
    "patient_name",
    "birth_date",
    "status",
    "appointment_at",
    "appointment_date",
    "appointment_time",
    "made_at",
    "cancelled_at",
    "checkin_at",
    "checkout_at",
    "status_changed_at",
    "cancel_reason",
    "referring_npi",
    "referring_name",
    "referring_practice",
    "department",
    "service_line",
    "visit_type",
)
"""Native fields a CSV column may feed (the keys of ``Preset.columns``)."""

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_header(name: str) -> str:
    """``"Appt Date/Time"`` -> ``"apptdatetime"``: the form headers are compared in."""
    return _NON_ALNUM.sub("", name.replace("\ufeff", "").casefold())


@dataclass(frozen=True)
class Preset:
    """One export layout: header aliases per native field, status vocabulary, no-show reasons."""

    name: str
    columns: Mapping[str, tuple[str, ...]]
    status_map: Mapping[str, Stage | None]
    no_show_reasons: tuple[str, ...] = ()
    required: tuple[str, ...] = ("status",)
    header_aliases: Mapping[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.columns) - set(CSV_FIELDS)
        if unknown:
            raise ValueError(f"unknown native fields in preset {self.name}: {sorted(unknown)}")
        aliases: dict[str, str] = {}
        for native, names in self.columns.items():
            for name in names:
                aliases.setdefault(normalise_header(name), native)
        object.__setattr__(self, "header_aliases", aliases)


class StatusLookup:
    """Maps raw status values (and cancel reasons) of one preset to canonical stages."""

    _MISSING = object()

    def __init__(self, status_map: Mapping[str, Stage | None], no_show_reasons: tuple[str, ...]):
        self._map = {_status_key(k): v for k, v in status_map.items()}
        self._no_show = tuple(_NON_ALNUM.sub("", r.casefold()) for r in no_show_reasons)

    def known(self, raw: str) -> bool:
        return self._find(raw) is not self._MISSING

    def stage(self, raw: str, cancel_reason: str | None = None) -> Stage | None:
        """The stage of ``raw``; KeyError when the value is not in the vocabulary."""
        found = self._find(raw)
        if found is self._MISSING:
            raise KeyError("status")
        stage: Stage | None = found  # type: ignore[assignment]
        if stage is Stage.CANCELLED and cancel_reason and self.is_no_show(cancel_reason):
            return Stage.NO_SHOW
        return stage

    def is_no_show(self, reason: str) -> bool:
        """Whether a cancellation with this reason is a no-show (the preset's markers)."""
        flat = _NON_ALNUM.sub("", reason.casefold())
        return any(marker in flat for marker in self._no_show)

    def _find(self, raw: str) -> object:
        key = _status_key(raw)
        candidates = [key]
        if " - " in raw:
            code, _, name = raw.partition(" - ")
            candidates += [_status_key(code), _status_key(name)]
        for candidate in candidates:
            if candidate in self._map:
                return self._map[candidate]
        return self._MISSING


def _status_key(value: str) -> str:
    return " ".join(value.casefold().split())


_EPIC = Preset(
    name="epic_cadence",
    columns={
        "appointment_id": ("PAT_ENC_CSN_ID", "CSN", "Appt ID", "Appointment ID"),
        "mrn": ("PAT_MRN_ID", "MRN", "IDENTITY_ID"),
        "patient_name": ("PAT_NAME", "Patient Name", "Patient"),
        "birth_date": ("BIRTH_DATE", "DOB", "Birth Date"),
        "status": ("APPT_STATUS_C", "APPT_STATUS_NAME", "Appt Status", "Status"),
        "appointment_at": ("APPT_DTTM", "Appt Date/Time", "Appointment Date/Time"),
        "appointment_date": ("APPT_DATE", "Appt Date", "CONTACT_DATE"),
        "appointment_time": ("APPT_TIME", "Appt Time"),
        "made_at": ("APPT_MADE_DTTM", "APPT_MADE_DATE", "Appt Made Date"),
        "cancelled_at": ("APPT_CANC_DTTM", "APPT_CANC_DATE", "Cancel Date"),
        "checkin_at": ("CHECKIN_DTTM", "Check In Time"),
        "checkout_at": ("CHECKOUT_DTTM", "Check Out Time"),
        "status_changed_at": ("APPT_STATUS_CHANGE_DTTM", "Status Changed", "Status Change Time"),
        "cancel_reason": ("CANCEL_REASON_NAME", "Cancel Reason"),
        "referral_number": ("REFERRAL_ID", "RFL_ID", "Referral ID", "Referral #"),
        "authorization_number": ("AUTH_NUM", "AUTHORIZATION_NUM", "Auth #"),
        "referring_npi": ("REFERRING_PROV_NPI", "REFERRING_NPI", "Referring Provider NPI"),
        "referring_name": ("REFERRING_PROV_NAME", "Referring Provider"),
        "referring_practice": ("REFERRING_LOC_NAME", "Referring Practice"),
        "department": ("DEPARTMENT_NAME", "Department"),
        "service_line": ("SERVICE_LINE", "Service Line"),
        "visit_type": ("PRC_NAME", "Visit Type"),
    },
    status_map={
        "1": S.SCHEDULED, "scheduled": S.SCHEDULED,
        "2": S.COMPLETED, "completed": S.COMPLETED,
        "3": S.CANCELLED, "canceled": S.CANCELLED, "cancelled": S.CANCELLED,
        "4": S.NO_SHOW, "no show": S.NO_SHOW,
        "5": S.NO_SHOW, "left without seen": S.NO_SHOW,
        "6": S.SCHEDULED, "arrived": S.SCHEDULED,
    },
)  # fmt: skip

_ATHENA = Preset(
    name="athenahealth",
    columns={
        "appointment_id": ("APPOINTMENTID", "Appt ID"),
        "parent_appointment_id": ("PARENTAPPOINTMENTID", "Parent Appt ID"),
        "mrn": ("MRN", "ENTERPRISEID", "PATIENTID", "Patient ID"),
        "patient_name": ("PATIENTNAME", "Patient Name"),
        "birth_date": ("PATIENTDOB", "DOB"),
        "status": ("APPOINTMENTSTATUS", "APPTSTATUS", "Appt Status"),
        "appointment_date": ("APPOINTMENTDATE", "Appt Date"),
        "appointment_time": ("APPOINTMENTSTARTTIME", "APPTSTARTTIME", "Appt Time"),
        "made_at": ("APPOINTMENTSCHEDULEDDATETIME", "APPOINTMENTCREATEDDATETIME"),
        "cancelled_at": ("APPOINTMENTCANCELLEDDATETIME", "APPTCANCELLEDDATETIME"),
        "checkin_at": ("APPOINTMENTCHECKINDATETIME", "APPTCHECKINTIME"),
        "checkout_at": ("APPOINTMENTCHECKOUTDATETIME", "APPTCHECKOUTTIME"),
        "status_changed_at": ("APPOINTMENTSTATUSCHANGEDDATETIME", "LASTMODIFIED"),
        "cancel_reason": ("APPOINTMENTCANCELREASON", "APPTCANCELREASON", "Cancel Reason"),
        # athenaOne's referral is an authorization record: REFERRALAUTHID is the id of the
        # referral the appointment was booked against, so it matches referrals by default
        # (after an explicit referral-number column) and is kept as the authorization too.
        "referral_number": ("REFERRALNUMBER", "Referral Number", "Referral #", "REFERRALAUTHID"),
        "authorization_number": ("REFERRALAUTHID", "AUTHORIZATIONNUMBER", "Auth #"),
        "referring_npi": ("REFERRINGPROVIDERNPI", "Referring Provider NPI"),
        "referring_name": ("REFERRINGPROVIDERNAME", "Referring Provider"),
        "referring_practice": ("REFERRINGPROVIDERPRACTICE", "Referring Practice"),
        "department": ("DEPARTMENTNAME", "DEPARTMENT", "DEPARTMENTID"),
        "service_line": ("SERVICELINE", "Service Line"),
        "visit_type": ("APPOINTMENTTYPENAME", "APPOINTMENTTYPE"),
    },
    status_map={
        "f": S.SCHEDULED, "filled": S.SCHEDULED,
        "o": None, "open slot": None,
        "2": S.SCHEDULED, "checked in": S.SCHEDULED,
        "3": S.COMPLETED, "checked out": S.COMPLETED,
        "4": S.COMPLETED, "charge entered": S.COMPLETED,
        "x": S.CANCELLED, "cancelled": S.CANCELLED,
    },
    no_show_reasons=("no show", "no-show", "noshow"),
)  # fmt: skip

_NEXTGEN = Preset(
    name="nextgen",
    columns={
        "appointment_id": ("Appt ID", "Appointment ID", "appt_id"),
        "mrn": ("Med Rec Nbr", "MRN", "Person Nbr"),
        "patient_name": ("Patient Name", "Person Name"),
        "birth_date": ("DOB", "Date of Birth"),
        "status": ("Appt Status", "Appointment Status", "Status"),
        "appointment_date": ("Appt Date", "Appointment Date"),
        "appointment_time": ("Begin Time", "Appt Time"),
        "made_at": ("Created Date", "Create Timestamp"),
        "cancelled_at": ("Cancel Date", "Cancelled Date"),
        "checkin_at": ("Checkin Time", "Arrival Time"),
        "checkout_at": ("Checkout Time",),
        "cancel_reason": ("Cancel Reason", "Cancel Reason Desc"),
        "referral_number": ("Referral Nbr", "Referral Number", "Referral #"),
        "authorization_number": ("Auth Nbr", "Authorization Nbr", "Auth #"),
        "referring_npi": ("Referring Provider NPI", "Ref Prov NPI"),
        "referring_name": ("Referring Provider", "Ref Prov Name"),
        "referring_practice": ("Referring Practice", "Ref Prov Practice"),
        "department": ("Location", "Location Name"),
        "service_line": ("Service Line",),
        "visit_type": ("Event", "Event Name"),
    },
    status_map={
        "expected": S.SCHEDULED, "checked in": S.SCHEDULED,
        "kept": S.COMPLETED, "checked out": S.COMPLETED,
        "cancelled": S.CANCELLED, "canceled": S.CANCELLED,
        "noshow": S.NO_SHOW, "no show": S.NO_SHOW,
        "rescheduled": None,
    },
)  # fmt: skip

_GENERIC = Preset(
    name="generic",
    columns={
        "appointment_id": ("Appointment ID", "Appt ID", "Appointment Number", "Visit ID"),
        "mrn": ("MRN", "Patient ID", "Chart Number", "Account Number"),
        "patient_name": ("Patient Name", "Patient"),
        "birth_date": ("DOB", "Date of Birth", "Birth Date"),
        "status": ("Status", "Appt Status", "Appointment Status"),
        "appointment_at": ("Appointment Date/Time", "Appt Date/Time", "Start"),
        "appointment_date": ("Appt Date", "Appointment Date", "Date"),
        "appointment_time": ("Start Time", "Appt Time", "Time"),
        "made_at": ("Created Date", "Date Scheduled", "Booked On"),
        "cancelled_at": ("Cancel Date", "Cancelled Date", "Canceled Date"),
        "checkin_at": ("Check In Time", "Checked In"),
        "checkout_at": ("Check Out Time", "Checked Out"),
        "status_changed_at": ("Status Changed", "Status Date", "Last Status Change"),
        "parent_appointment_id": ("Parent Appointment ID", "Rescheduled From"),
        "cancel_reason": ("Cancel Reason", "Cancellation Reason"),
        "referral_number": ("Referral #", "Referral ID", "Referral Number"),
        "authorization_number": ("Auth #", "Authorization Number", "Prior Auth"),
        "referring_npi": ("Referring Physician NPI", "Referring Provider NPI", "Referring NPI"),
        "referring_name": ("Referring Physician", "Referring Provider"),
        "referring_practice": ("Referring Practice", "Referring Organization"),
        "department": ("Facility", "Location", "Department"),
        "service_line": ("Service Line", "Specialty"),
        "visit_type": ("Appt Type", "Visit Type", "Appointment Type"),
    },
    status_map={
        "scheduled": S.SCHEDULED, "confirmed": S.SCHEDULED, "pending": S.SCHEDULED,
        "checked in": S.SCHEDULED, "in room": S.SCHEDULED, "with doctor": S.SCHEDULED,
        "arrived": S.SCHEDULED,
        "checked out": S.COMPLETED, "completed": S.COMPLETED, "seen": S.COMPLETED,
        "billed": S.COMPLETED, "kept": S.COMPLETED,
        "canceled": S.CANCELLED, "cancelled": S.CANCELLED,
        "no show": S.NO_SHOW, "noshow": S.NO_SHOW, "not seen": S.NO_SHOW,
        "rescheduled": None, "left message": None,
    },
    no_show_reasons=("no show", "no-show", "noshow"),
)  # fmt: skip

PRESETS: dict[str, Preset] = {p.name: p for p in (_EPIC, _ATHENA, _NEXTGEN, _GENERIC)}


def resolve_preset(
    name: str,
    columns: Mapping[str, list[str]] | None = None,
    status_map: Mapping[str, Stage | None] | None = None,
    no_show_reasons: list[str] | None = None,
) -> Preset:
    """The preset ``name`` with the connection's overrides applied (``custom``: only them).

    A ``columns`` entry replaces that field's aliases; ``status_map`` entries are added to
    (and win over) the preset's vocabulary.
    """
    base = PRESETS.get(name) or Preset(name="custom", columns={}, status_map={})
    merged_columns = dict(base.columns)
    merged_columns.update({k: tuple(v) for k, v in (columns or {}).items()})
    merged_status = dict(base.status_map)
    merged_status.update(status_map or {})
    reasons = tuple(no_show_reasons) if no_show_reasons else base.no_show_reasons
    return Preset(
        name=base.name if name in PRESETS else "custom",
        columns=merged_columns,
        status_map=merged_status,
        no_show_reasons=reasons,
    )
