"""What the default mapping needs in a HubSpot account (docs/contracts.md, "HubSpot").

Only refsync's own properties (group ``refsync``) are listed: standard properties (name,
phone, firstname, dealstage...) exist in every account.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mapping.model import (
    ClinicianRole,
    OutreachKind,
    PartnerKind,
    QualificationStatus,
    RelationshipStatus,
    Stage,
    Urgency,
)

__all__ = [
    "DEFINITIONS_OBJECT",
    "DEFINITION_PROPERTIES",
    "GROUP",
    "PIPELINE_LABEL",
    "PROPERTIES",
    "STAGE_LABELS",
    "PropertySpec",
]

GROUP = "refsync"
PIPELINE_LABEL = "Referrals"
DEFINITIONS_OBJECT = "referral_definitions"
STAGE_LABELS: dict[Stage, str] = {
    Stage.CONTACTED: "Contacted",
    Stage.REFERRED: "Referred",
    Stage.INTAKE_RECEIVED: "Intake Received",
    Stage.ACCEPTED: "Accepted",
    Stage.SCHEDULED: "Scheduled",
    Stage.COMPLETED: "Completed",
    Stage.DECLINED: "Declined",
    Stage.CANCELLED: "Cancelled",
    Stage.NO_SHOW: "No Show",
}
_BOOL_LABELS = {"true": "Yes", "false": "No"}
_FIELD_TYPES = {
    "string": "text",
    "number": "number",
    "datetime": "date",
    "enumeration": "select",
    "bool": "booleancheckbox",
}


@dataclass(frozen=True)
class PropertySpec:
    name: str
    label: str
    type: str = "string"
    options: tuple[str, ...] = ()
    unique: bool = False
    group: str = GROUP
    sensitivity: str | None = None
    """``sensitive`` / ``highly_sensitive``: a HubSpot sensitive-data property (PHI under
    HubSpot's BAA); None: an ordinary one."""

    def option_bodies(self) -> list[dict[str, object]]:
        return [
            {"label": _BOOL_LABELS.get(v) or v.replace("_", " ").capitalize(), "value": v,
             "displayOrder": i}
            for i, v in enumerate(self.options)
        ]  # fmt: skip

    def create_body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "name": self.name,
            "label": self.label,
            "groupName": self.group,
            "type": self.type,
            "fieldType": _FIELD_TYPES[self.type],
            "hasUniqueValue": self.unique,
        }
        if self.options:
            body["options"] = self.option_bodies()
        if self.sensitivity:
            body["dataSensitivity"] = self.sensitivity
        return body


_ROLLUP_NUMBERS = (
    "referrals_recent",
    "acceptance_rate",
    "leakage_rate",
    "median_days_to_schedule",
    "referrals_after_outreach",
)


def _enum(values: type[StrEnum]) -> tuple[str, ...]:
    return tuple(v.value for v in values)


def _p(name: str, kind: str = "string", **kw: object) -> PropertySpec:
    label = name.removeprefix("refsync_").replace("_", " ").capitalize()
    return PropertySpec(name, label, kind, **kw)  # type: ignore[arg-type]


_KEY = PropertySpec("refsync_id", "refsync ID", unique=True)
_ENGAGEMENT = [
    _KEY,
    _p("refsync_outreach_kind", "enumeration", options=_enum(OutreachKind)),
    _p("refsync_campaign"),
]

PROPERTIES: dict[str, list[PropertySpec]] = {
    "companies": [
        _KEY,
        _p("refsync_npi"),
        _p("refsync_partner_kind", "enumeration", options=_enum(PartnerKind)),
        _p("refsync_relationship_status", "enumeration", options=_enum(RelationshipStatus)),
        _p("refsync_tier"),
        _p("refsync_service_lines"),
        *(_p(f"refsync_referrals_{n}", "number") for n in ("total", "completed", "open")),
        _p("refsync_last_referral_at", "datetime"),
        _p("refsync_last_referral_week"),
        _p("refsync_last_outreach_at", "datetime"),
        *(_p(f"refsync_{n}", "number") for n in _ROLLUP_NUMBERS),
        _p("refsync_referral_trend"),
        _p("refsync_derived_status", "enumeration", options=_enum(RelationshipStatus)),
    ],
    "contacts": [
        _KEY,
        _p("refsync_npi"),
        _p("refsync_role", "enumeration", options=_enum(ClinicianRole)),
        _p("refsync_specialty"),
        _p("refsync_prospect", "bool", options=("true", "false")),
    ],
    "deals": [
        _KEY,
        *(
            _p(f"refsync_{n}")
            for n in (
                "referral_number",
                "service_line",
                "missing_items",
                "definition_version",
                "decline_reason",
                "cancel_reason",
                "patient_ref",
                # Derived for deidentified tiers: week/month, no day.
                "received_month",
                "received_week",
                "stage_entered_week",
            )
        ),
        *(
            _p(f"refsync_{n}", "number")
            for n in ("days_to_schedule", "days_to_complete", "days_to_close_loop")
        ),
        _p("refsync_urgency", "enumeration", options=_enum(Urgency)),
        _p("refsync_qualification_status", "enumeration", options=_enum(QualificationStatus)),
        *(
            _p(f"refsync_{n}", "datetime")
            for n in (
                "received_at",
                "stage_entered_at",
                "referred_at",
                "accepted_at",
                "scheduled_at",
                "lost_at",
                "appointment_at",
                "completed_at",
                "loop_closed_at",
            )
        ),
    ],
    "meetings": _ENGAGEMENT,
    "calls": _ENGAGEMENT,
    "notes": _ENGAGEMENT,
    "tasks": _ENGAGEMENT,
}

DEFINITION_PROPERTIES: list[PropertySpec] = [
    _KEY,  # first: the primary display property
    *(
        _p(n)
        for n in ("service_line", "version", "required_documents", "accepted_reasons", "rules_json")
    ),
    *(
        _p(n, "number")
        for n in ("respond_within_hours", "schedule_within_days", "close_loop_within_days")
    ),
]
