"""What a fresh HubSpot sandbox account holds: object types, properties, groups, pipelines,
association types and the refsync custom object. Pure data (see docs/contracts.md,
"Default native schemas — HubSpot").

Enumeration options of refsync's own properties come from the canonical enums in
:mod:`mapping.model`, so the sandbox and the default mappings cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from mapping.model import (
    ClinicianRole,
    OutreachKind,
    PartnerKind,
    QualificationStatus,
    RelationshipStatus,
    Urgency,
)

__all__ = [
    "ASSOCIATION_TYPES",
    "CUSTOM_OBJECTS",
    "DEFAULT_PROPERTY_NAMES",
    "EXTERNAL_OPTIONS",
    "MODIFIED_PROPERTY",
    "PORTAL_ID",
    "SALES_PIPELINE",
    "STANDARD_OBJECTS",
    "default_groups",
    "default_properties",
    "default_read_properties",
]

PORTAL_ID = 12345678

# object type name -> (objectTypeId, singular name used in messages)
STANDARD_OBJECTS: dict[str, tuple[str, str]] = {
    "contacts": ("0-1", "contact"),
    "companies": ("0-2", "company"),
    "deals": ("0-3", "deal"),
    "tasks": ("0-27", "task"),
    "notes": ("0-46", "note"),
    "meetings": ("0-47", "meeting"),
    "calls": ("0-48", "call"),
}

# The server-maintained "last modified" property: contacts differ from everything else.
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate"}

# Properties returned when a read names none (HubSpot's per-object defaults).
DEFAULT_PROPERTY_NAMES: dict[str, tuple[str, ...]] = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
}
ENGAGEMENT_DEFAULTS = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")

# (from, to) -> [(typeId, label or None)]; HUBSPOT_DEFINED (hubspot/crm/association_type.py).
# Reverse directions are listed explicitly because HubSpot pairs them by id.
ASSOCIATION_TYPES: dict[tuple[str, str], list[tuple[int, str | None]]] = {
    ("contacts", "companies"): [(279, None), (1, "Primary")],
    ("companies", "contacts"): [(280, None), (2, "Primary")],
    ("deals", "contacts"): [(3, None)],
    ("contacts", "deals"): [(4, None)],
    ("deals", "companies"): [(341, None), (5, "Primary")],
    ("companies", "deals"): [(342, None), (6, "Primary")],
    ("companies", "calls"): [(181, None)],
    ("calls", "companies"): [(182, None)],
    ("companies", "meetings"): [(187, None)],
    ("meetings", "companies"): [(188, None)],
    ("companies", "notes"): [(189, None)],
    ("notes", "companies"): [(190, None)],
    ("companies", "tasks"): [(191, None)],
    ("tasks", "companies"): [(192, None)],
    ("contacts", "calls"): [(193, None)],
    ("calls", "contacts"): [(194, None)],
    ("contacts", "meetings"): [(199, None)],
    ("meetings", "contacts"): [(200, None)],
    ("contacts", "notes"): [(201, None)],
    ("notes", "contacts"): [(202, None)],
    ("contacts", "tasks"): [(203, None)],
    ("tasks", "contacts"): [(204, None)],
    ("deals", "calls"): [(205, None)],
    ("calls", "deals"): [(206, None)],
    ("deals", "meetings"): [(211, None)],
    ("meetings", "deals"): [(212, None)],
    ("deals", "notes"): [(213, None)],
    ("notes", "deals"): [(214, None)],
    ("deals", "tasks"): [(215, None)],
    ("tasks", "deals"): [(216, None)],
}

# The default deal pipeline ("default", stages with createdAt 0 as in HubSpot).
SALES_PIPELINE: dict[str, Any] = {
    "id": "default",
    "label": "Sales Pipeline",
    "displayOrder": 0,
    "stages": [
        ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
        ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
        ("presentationscheduled", "Presentation Scheduled", "0.6", False),
        ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
        ("contractsent", "Contract Sent", "0.9", False),
        ("closedwon", "Closed Won", "1.0", True),
        ("closedlost", "Closed Lost", "0.0", True),
    ],
}

# One property: (name, label, type, fieldType, group, unique, options)
_Prop = tuple[str, str, str, str, str, bool, tuple[tuple[str, str], ...]]


def _enum(values: type[StrEnum]) -> tuple[tuple[str, str], ...]:
    return tuple((v.value, v.value.replace("_", " ").capitalize()) for v in values)


_BOOL = (("true", "Yes"), ("false", "No"))


def _opts(*pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple((p, p.replace("_", " ").capitalize()) for p in pairs)


def _p(name: str, label: str, kind: str = "string", group: str = "", **kw: Any) -> _Prop:
    field_type = {
        "string": "text",
        "number": "number",
        "datetime": "date",
        "date": "date",
        "enumeration": "select",
        "bool": "booleancheckbox",
        "phone_number": "phonenumber",
    }[kind]
    unique = kw.get("unique", False)
    return (name, label, kind, kw.get("field", field_type), group, unique, kw.get("options", ()))


_DT = "datetime"
_NUM = "number"
_ENUM = "enumeration"


def _system(created: str = "createdate", modified: str = "hs_lastmodifieddate") -> list[_Prop]:
    return [
        _p("hs_object_id", "Record ID", _NUM),
        _p(created, "Create Date", _DT),
        _p(modified, "Last Modified Date", _DT),
        _p("hs_merged_object_ids", "Merged record IDs"),
    ]


def _refsync_common() -> list[_Prop]:
    return [_p("refsync_id", "refsync ID", "string", "refsync", unique=True)]


_READ_ONLY = frozenset(
    {"hs_object_id", "hs_lastmodifieddate", "lastmodifieddate", "hs_merged_object_ids"}
)
# enumerations whose values live elsewhere (pipelines API, owners): not checked as options
EXTERNAL_OPTIONS = frozenset({"pipeline", "dealstage", "hubspot_owner_id"})


def _companies() -> list[_Prop]:
    r = "refsync"
    return [
        *_system(),
        *(_p(n, n.capitalize()) for n in ("name", "domain", "address", "city", "state", "zip")),
        _p("country", "Country/Region"),
        _p("phone", "Phone Number", "phone_number"),
        _p("hubspot_owner_id", "Company owner", _ENUM, field="select"),
        *_refsync_common(),
        _p("refsync_npi", "Organisation NPI", "string", r),
        _p("refsync_partner_kind", "Partner kind", _ENUM, r, options=_enum(PartnerKind)),
        _p(
            "refsync_relationship_status",
            "Relationship status",
            _ENUM,
            r,
            options=_enum(RelationshipStatus),
        ),
        _p("refsync_tier", "Tier", "string", r),
        _p("refsync_service_lines", "Service lines", "string", r),
        _p("refsync_referrals_total", "Referrals (total)", _NUM, r),
        _p("refsync_referrals_completed", "Referrals (completed)", _NUM, r),
        _p("refsync_referrals_open", "Referrals (open)", _NUM, r),
        _p("refsync_last_referral_at", "Last referral at", _DT, r),
        _p("refsync_last_referral_week", "Last referral week", "string", r),
        _p("refsync_last_outreach_at", "Last outreach at", _DT, r),
        _p("refsync_referrals_recent", "Referrals (rollup window)", _NUM, r),
        _p("refsync_acceptance_rate", "Acceptance rate (%)", _NUM, r),
        _p("refsync_leakage_rate", "Leakage rate (%)", _NUM, r),
        _p("refsync_median_days_to_schedule", "Median days to schedule", _NUM, r),
        _p("refsync_referrals_after_outreach", "Referrals after outreach", _NUM, r),
        _p("refsync_referral_trend", "Referral trend", "string", r),
        _p(
            "refsync_derived_status",
            "Derived relationship status",
            _ENUM,
            r,
            options=_enum(RelationshipStatus),
        ),
    ]


def _contacts() -> list[_Prop]:
    r = "refsync"
    return [
        *_system(modified="lastmodifieddate"),
        _p("firstname", "First Name"),
        _p("lastname", "Last Name"),
        _p("email", "Email", unique=True),
        _p("phone", "Phone Number", "phone_number"),
        _p("jobtitle", "Job Title"),
        *_refsync_common(),
        _p("refsync_npi", "NPI", "string", r),
        _p("refsync_role", "Clinician role", _ENUM, r, options=_enum(ClinicianRole)),
        _p("refsync_specialty", "Specialty", "string", r),
        _p("refsync_prospect", "Prospect (created by refsync)", "bool", r, options=_BOOL),
    ]


def _deals() -> list[_Prop]:
    r = "refsync"
    dated = (
        "received_at", "stage_entered_at", "referred_at", "accepted_at", "scheduled_at",
        "lost_at", "appointment_at", "completed_at", "loop_closed_at",
    )  # fmt: skip
    texts = (
        "referral_number",
        "service_line",
        "missing_items",
        "definition_version",
        "decline_reason",
        "cancel_reason",
        "patient_ref",
        "received_month",
        "received_week",
        "stage_entered_week",
    )
    intervals = ("days_to_schedule", "days_to_complete", "days_to_close_loop")
    return [
        *_system(),
        _p("dealname", "Deal Name"),
        _p("amount", "Amount", _NUM),
        _p("closedate", "Close Date", _DT),
        # options of pipeline/dealstage live in the pipelines API (externalOptions)
        _p("pipeline", "Pipeline", _ENUM),
        _p("dealstage", "Deal Stage", _ENUM),
        *_refsync_common(),
        *(_p(f"refsync_{n}", n.replace("_", " ").capitalize(), "string", r) for n in texts),
        _p("refsync_urgency", "Urgency", _ENUM, r, options=_enum(Urgency)),
        _p(
            "refsync_qualification_status",
            "Qualification status",
            _ENUM,
            r,
            options=_enum(QualificationStatus),
        ),
        *(_p(f"refsync_{n}", n.replace("_", " ").capitalize(), _DT, r) for n in dated),
        *(_p(f"refsync_{n}", n.replace("_", " ").capitalize(), _NUM, r) for n in intervals),
    ]


def _engagement(kind: str) -> list[_Prop]:
    r = "refsync"
    own = {
        "meetings": [
            _p("hs_meeting_title", "Meeting name"),
            _p("hs_meeting_body", "Meeting description", field="textarea"),
            _p("hs_meeting_start_time", "Start Time", _DT),
            _p("hs_meeting_end_time", "End Time", _DT),
            _p(
                "hs_meeting_outcome",
                "Meeting outcome",
                _ENUM,
                options=_opts("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"),
            ),
        ],
        "calls": [
            _p("hs_call_title", "Call Title"),
            _p("hs_call_body", "Call notes", field="textarea"),
        ],
        "notes": [_p("hs_note_body", "Note body", field="textarea")],
        "tasks": [
            _p("hs_task_subject", "Task Title"),
            _p("hs_task_body", "Task notes", field="textarea"),
            _p(
                "hs_task_status",
                "Task Status",
                _ENUM,
                options=_opts("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
            ),
        ],
    }[kind]
    return [
        *_system(created="hs_createdate"),
        _p("hs_timestamp", "Activity date", _DT),
        _p("hubspot_owner_id", "Activity assigned to", _ENUM),
        *own,
        *_refsync_common(),
        _p("refsync_outreach_kind", "Outreach kind", _ENUM, r, options=_enum(OutreachKind)),
        _p("refsync_campaign", "Campaign", "string", r),
    ]


def _referral_definitions() -> list[_Prop]:
    g = "referral_definition_information"
    texts = ("service_line", "version", "required_documents", "accepted_reasons", "rules_json")
    nums = ("respond_within_hours", "schedule_within_days", "close_loop_within_days")
    return [
        *_system(created="hs_createdate"),
        _p("refsync_id", "refsync ID", "string", g, unique=True),
        *(_p(n, n.replace("_", " ").capitalize(), "string", g) for n in texts),
        *(_p(n, n.replace("_", " ").capitalize(), _NUM, g) for n in nums),
    ]


# Custom objects preloaded through the schemas API (name -> definition).
CUSTOM_OBJECTS: dict[str, dict[str, Any]] = {
    "referral_definitions": {
        "objectTypeId": "2-9000001",
        "labels": {"singular": "Referral definition", "plural": "Referral definitions"},
        "primaryDisplayProperty": "refsync_id",
        "requiredProperties": ["refsync_id"],
        "associatedObjects": [],
    }
}

_BUILDERS = {
    "companies": _companies,
    "contacts": _contacts,
    "deals": _deals,
    "meetings": lambda: _engagement("meetings"),
    "calls": lambda: _engagement("calls"),
    "notes": lambda: _engagement("notes"),
    "tasks": lambda: _engagement("tasks"),
    "referral_definitions": _referral_definitions,
}


def _property_json(prop: _Prop, object_type: str, order: int) -> dict[str, Any]:
    name, label, kind, field_type, group, unique, options = prop
    read_only = name in _READ_ONLY
    return {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field_type,
        "description": "",
        "groupName": group or f"{object_type.rstrip('s')}information",
        "options": [
            {"label": lab, "value": val, "displayOrder": i, "hidden": False}
            for i, (val, lab) in enumerate(options)
        ],
        "displayOrder": order,
        "calculated": False,
        "externalOptions": name in EXTERNAL_OPTIONS,
        "hasUniqueValue": unique,
        "dataSensitivity": "non_sensitive",
        "hidden": False,
        "hubspotDefined": not name.startswith("refsync_") and group != "refsync",
        "formField": not read_only,
        "archived": False,
        "modificationMetadata": {
            "archivable": not read_only and name != "hs_object_id",
            "readOnlyDefinition": not name.startswith("refsync"),
            "readOnlyValue": read_only,
        },
    }


def default_properties(object_type: str) -> list[dict[str, Any]]:
    """Property definitions (Property JSON) preloaded for ``object_type``."""
    builder = _BUILDERS.get(object_type)
    if builder is None:
        return [_property_json(p, object_type, i) for i, p in enumerate(_system("hs_createdate"))]
    return [_property_json(p, object_type, i) for i, p in enumerate(builder())]


def default_groups(object_type: str) -> list[dict[str, Any]]:
    """Property groups preloaded for ``object_type`` (every group its properties use)."""
    names = sorted({p["groupName"] for p in default_properties(object_type)})
    return [
        {"name": n, "label": n.replace("_", " ").capitalize(), "displayOrder": i, "archived": False}
        for i, n in enumerate(names)
    ]


def default_read_properties(object_type: str) -> tuple[str, ...]:
    """Properties a read returns when it names none."""
    return DEFAULT_PROPERTY_NAMES.get(object_type, ENGAGEMENT_DEFAULTS)
