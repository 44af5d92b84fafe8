"""The connector's native objects and their normalised fields (what ``describe`` returns)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from mapping.schema import FieldSchema, ObjectSchema

__all__ = [
    "KEY_FIELD",
    "OBJECTS",
    "PHI_FIELDS",
    "event_id_of_iso",
    "event_record_id",
    "object_schema",
]

PHI_FIELDS = ("mrn", "patient_name", "birth_date")
"""Present on stage events only when ``settings.phi_passthrough`` is true."""

_STAGES = (
    "contacted", "referred", "intake_received", "accepted", "scheduled", "completed",
    "declined", "cancelled", "no_show",
)  # fmt: skip

_STAGE_EVENT: dict[str, str] = {
    "source": "string",  # csv:<preset> | fhir:<ResourceType>
    "source_file": "string",
    "source_line": "integer",
    "source_pointer": "string",  # FHIR Bundle entry (entry[i])
    "fhir_ref": "string",
    "service_request_ref": "string",
    "appointment_id": "string",
    "parent_appointment_id": "string",
    "referral_number": "string",
    "authorization_number": "string",
    "patient_key": "string",  # v1:<hmac-sha256>; for matching only, never a destination
    "status_raw": "string",
    "stage": "picklist",
    "event_at": "datetime",
    "appointment_at": "datetime",
    "completed_at": "datetime",
    "cancel_reason": "string",
    "referring_npi": "string",
    "referring_name": "string",
    "referring_practice": "string",
    "department": "string",
    "service_line": "string",
    "visit_type": "string",
    "mrn": "string",
    "patient_name": "string",
    "birth_date": "date",
}
_PRACTITIONER = {
    "fhir_ref": "string", "npi": "string", "first_name": "string", "last_name": "string",
    "prefix": "string", "active": "boolean", "source_file": "string",
}  # fmt: skip
_PRACTITIONER_ROLE = {
    "fhir_ref": "string", "practitioner_ref": "string", "organization_ref": "string",
    "npi": "string", "specialty_code": "string", "specialty": "string", "active": "boolean",
    "source_file": "string",
}  # fmt: skip
_ORGANIZATION = {
    "fhir_ref": "string", "npi": "string", "name": "string", "phone": "string",
    "line1": "string", "city": "string", "state": "string", "postal_code": "string",
    "active": "boolean", "source_file": "string",
}  # fmt: skip

OBJECTS: dict[str, dict[str, str]] = {
    "stage_event": _STAGE_EVENT,
    "practitioner": _PRACTITIONER,
    "practitioner_role": _PRACTITIONER_ROLE,
    "organization": _ORGANIZATION,
}


KEY_FIELD = "refsync_id"
"""The match-key field mappings name: exports never carry refsync ids, so it is always
empty and the engine matches referrals by their natural key (referral_number)."""


def object_schema(name: str, *, phi_passthrough: bool) -> ObjectSchema:
    """The schema of ``name``; PHI fields only when the connection passes them through."""
    fields = {KEY_FIELD: FieldSchema(name=KEY_FIELD, type="string", external_id=True, unique=True)}
    fields |= {
        f: FieldSchema(
            name=f,
            type=t,
            createable=False,
            updateable=False,
            picklist_values=_STAGES if f == "stage" else (),
            restricted_picklist=f == "stage",
        )
        for f, t in OBJECTS[name].items()
        if phi_passthrough or f not in PHI_FIELDS
    }
    return ObjectSchema(name=name, fields=fields)


def event_record_id(source: str, where: str, stage: str, event_at: datetime) -> str:
    """Deterministic id of one stage event: replaying a file yields the same ids.

    The event time enters only as a short hash: record ids end up in error tables and
    reports, and dates of service are PHI.
    """
    return event_id_of_iso(source, where, stage, event_at.isoformat())


def event_id_of_iso(source: str, where: str, stage: str, event_at_iso: str) -> str:
    """:func:`event_record_id` from the event time's ``isoformat()`` (already at hand)."""
    digest = hashlib.sha256(event_at_iso.encode()).hexdigest()[:12]
    return f"{source}:{where}:{stage}:{digest}"
