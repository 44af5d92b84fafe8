"""Privacy tiers and the data class of every canonical field (pure data and lookups).

A connection's **tier** says what it may hold:

- ``deidentified`` (the default): operational data and coarsened dates/intervals only;
- ``limited``: a HIPAA limited data set (45 CFR 164.514(e)): also dates tied to a
  patient's care, ages and ZIP codes, never a direct identifier; needs a data use agreement;
- ``full``: PHI under a business associate agreement.

Every canonical field has a **data class** (:data:`FIELD_CLASSES`), with the reason that
class was chosen, so ``refsync schema --fields`` and ``refsync privacy`` can show it and
:mod:`mapping.privacy_flow` can prove, per destination, that nothing leaves that its tier
may not hold. Native fields are classed by what their connector declares
(:data:`NativeClasses`, :class:`TypePrivacy`), else by names that say what they hold (MRN,
DOB, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel

from mapping.model import ENTITIES

__all__ = [
    "ANY_ENTITY",
    "FIELD_CLASSES",
    "TIER_ALLOWS",
    "DataClass",
    "FieldClass",
    "NativeClasses",
    "PrivacyTier",
    "TypePrivacy",
    "canonical_class",
    "field_table",
    "leaf_paths",
    "native_class",
]


class PrivacyTier(StrEnum):
    DEIDENTIFIED = "deidentified"
    LIMITED = "limited"
    FULL = "full"


class DataClass(StrEnum):
    DIRECT_IDENTIFIER = "direct_identifier"
    """Names, MRNs, phone numbers, keyed hashes of them: the Safe Harbor identifiers."""
    QUASI_IDENTIFIER = "quasi_identifier"
    """Dates tied to one patient's care, birth dates, ages, ZIP codes."""
    CLINICAL_TEXT = "clinical_text"
    """Free text about a patient (reason, diagnosis, cancel reasons): it leaks identifiers."""
    COARSENED = "coarsened"
    """Week or month without the day, or whole-day intervals, derived by refsync."""
    OPERATIONAL = "operational"
    """Stage, service line, partner, clinician, counts, surrogate keys: no patient data."""


TIER_ALLOWS: dict[PrivacyTier, frozenset[DataClass]] = {
    PrivacyTier.DEIDENTIFIED: frozenset({DataClass.OPERATIONAL, DataClass.COARSENED}),
    PrivacyTier.LIMITED: frozenset(
        {DataClass.OPERATIONAL, DataClass.COARSENED, DataClass.QUASI_IDENTIFIER}
    ),
    PrivacyTier.FULL: frozenset(DataClass),
}
"""Free text needs ``full``: a limited data set may hold no direct identifier, and free text
cannot be shown not to contain one."""


@dataclass(frozen=True, slots=True)
class FieldClass:
    data_class: DataClass
    why: str


_OP = DataClass.OPERATIONAL
_QI = DataClass.QUASI_IDENTIFIER
_DI = DataClass.DIRECT_IDENTIFIER
_TX = DataClass.CLINICAL_TEXT
_CO = DataClass.COARSENED

_PROVIDER = "about a referral source (organisation or clinician), not a patient"
_CARE_DATE = "a date tied to one patient's care (Safe Harbor: all date elements but the year)"
_FREE_TEXT = "free text about a patient's care; it can carry names, dates and diagnoses"
_COARSE = (
    "coarsened by refsync (no day of the month); Safe Harbor keeps only the year, so this "
    "relies on the program's expert determination: drop it where Safe Harbor is the method"
)
_INTERVAL = "whole days between two care events, derived by refsync; no date"
_DEFINITION = "program configuration, no patient data"


def _group(data_class: DataClass, why: str, *paths: str) -> dict[str, FieldClass]:
    return {p: FieldClass(data_class, why) for p in paths}


FIELD_CLASSES: dict[str, dict[str, FieldClass]] = {
    "partner": {
        **_group(_OP, _PROVIDER, "id", "name", "kind", "npi", "address", "address.line1",
                 "address.line2", "address.city", "address.state", "address.postal_code",
                 "address.country", "phone", "owner", "relationship_status", "tier",
                 "service_lines"),
        **_group(_OP, "a count over all of a partner's referrals", "referrals_total",
                 "referrals_completed", "referrals_open"),
        **_group(_OP, "an aggregate over a partner's referrals in the rollup window",
                 "referrals_recent", "acceptance_rate", "leakage_rate",
                 "median_days_to_schedule", "referrals_after_outreach", "referral_trend",
                 "derived_status"),
        "last_referral_at": FieldClass(
            _QI, "the receipt date of the partner's latest referral: one patient's care date"
        ),
        "last_referral_week": FieldClass(_CO, _COARSE),
        "last_outreach_at": FieldClass(_OP, "date of a liaison's visit to the partner"),
    },
    "clinician": _group(_OP, _PROVIDER, "id", "first_name", "last_name", "role", "npi",
                        "partner_id", "specialty", "email", "phone", "prospect"),
    "referral": {
        **_group(_OP, "refsync's own record id, random", "id"),
        **_group(_OP, "the program's referral record number, not a medical record or account "
                 "number; reclassify if yours come from the EHR", "referral_number"),
        **_group(_OP, "what the program tracks per referral, no patient data", "service_line",
                 "partner_id", "clinician_id", "stage", "urgency", "documents_received"),
        **_group(_OP, "refsync's qualification result: codes and definition version",
                 "qualification", "qualification.status", "qualification.missing",
                 "qualification.failed_rules", "qualification.definition_version"),
        **_group(_OP, "random surrogate key, not derived from PHI (164.514(c))",
                 "patient_ref"),
        **_group(_QI, _CARE_DATE, "received_at", "appointment_at", "completed_at",
                 "loop_closed_at", "qualification.evaluated_at", "stage_history",
                 "referred_at", "accepted_at", "scheduled_at", "stage_entered_at", "lost_at"),
        "events": FieldClass(
            _QI, "the event log: when each status became true (care dates) and the systems' "
            "statuses; cancel reasons inside it are clinical text, sealed with it"
        ),
        "referring_npi": FieldClass(_OP, _PROVIDER),
        "referring_name": FieldClass(_OP, _PROVIDER),
        "referring_practice": FieldClass(_OP, _PROVIDER),
        **_group(_TX, _FREE_TEXT, "reason", "decline_reason", "cancel_reason"),
        **_group(_CO, _COARSE, "received_month", "received_week", "stage_entered_week"),
        **_group(_CO, _INTERVAL, "days_to_schedule", "days_to_complete", "days_to_close_loop"),
        **_group(_DI, "the patient's identity", "patient", "patient.name", "patient.mrn",
                 "patient.phone"),
        "patient.key": FieldClass(
            _DI, "keyed hash of the MRN: derived from it, so an identifier (164.514(b)(2)(R))"
        ),
        "patient.birth_date": FieldClass(_QI, "birth date (a limited data set may hold it)"),
        "patient.payer": FieldClass(_QI, "the patient's health plan (no member id)"),
        "patient.diagnosis": FieldClass(_TX, "clinical free text: the patient's diagnosis"),
    },
    "outreach": _group(_OP, "a liaison's activity with a referral source; notes are non-PHI "
                       "by policy", "id", "kind", "partner_id", "clinician_ids", "occurred_at",
                       "owner", "subject", "notes", "service_line", "attendance", "campaign"),
    "definition": _group(_OP, _DEFINITION, *ENTITIES["definition"].model_fields,
                         "targets.respond_within_hours", "targets.schedule_within_days",
                         "targets.close_loop_within_days"),
}  # fmt: skip

NativeClasses = Mapping[str, Mapping[str, FieldClass]]
"""What a connector declares its native fields hold: entity (or :data:`ANY_ENTITY`) ->
native field -> class (``Connector.native_field_classes``)."""

ANY_ENTITY = "*"
"""The entity key of a :data:`NativeClasses` table that applies to every entity."""


@dataclass(frozen=True, slots=True)
class TypePrivacy:
    """What a connection type declares about privacy, handed to the loader by the caller
    (the registry), so the core names no connector type.

    ``phi_zone``: the system sits inside the covered entity's PHI zone (its own scheduling
    system), so a connection that names no tier is ``full``. ``native_classes``: the classes
    its native fields carry whatever a mapping reads them into.
    """

    phi_zone: bool = False
    native_classes: NativeClasses = field(default_factory=dict)


_NATIVE_NAMES: list[tuple[re.Pattern[str], FieldClass]] = [
    (re.compile(p, re.I), fc)
    for p, fc in [
        (r"mrn|medical_?record|patient_?name|ssn|member_?id",
         FieldClass(_DI, "named as an identifier")),
        (r"phone|mobile|e_?mail|street|address|fax",
         FieldClass(_DI, "named as a patient's contact detail (a referral has no provider "
                         "contact fields)")),
        (r"zip|postal", FieldClass(_QI, "named as a ZIP code")),
        (r"birth|dob(?![a-z])", FieldClass(_QI, "named as a birth date")),
        (r"diagnos|icd", FieldClass(_TX, "named as a diagnosis")),
    ]
]  # fmt: skip


def canonical_class(entity: str, path: str) -> FieldClass:
    """The class of canonical ``path`` (a path inside a classified block takes its class)."""
    table = FIELD_CLASSES.get(entity, {})
    probe = path
    while probe:
        if probe in table:
            return table[probe]
        probe = probe.rpartition(".")[0]
    return FieldClass(_DI, "not classified: treated as an identifier until it is")


def native_class(declared: NativeClasses, entity: str, native: str) -> FieldClass | None:
    """The class of ``native`` of ``entity``: what its connector ``declared``, else what a
    referral field's name says, else None."""
    known = declared.get(entity, {}).get(native) or declared.get(ANY_ENTITY, {}).get(native)
    if known is not None or entity != "referral":
        return known
    for pattern, fc in _NATIVE_NAMES:
        if pattern.search(native):
            return fc
    return None


def leaf_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every dotted field path of ``model``, nested models included (lists not walked)."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path
        for arg in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from leaf_paths(arg, f"{path}.")
                break


def field_table() -> list[dict[str, str]]:
    """Every canonical field with its class and the reason: what ``refsync schema`` lists."""
    rows = []
    for entity, model in ENTITIES.items():
        for path in leaf_paths(model):
            fc = canonical_class(entity, path)
            rows.append(
                {"entity": entity, "field": path, "class": fc.data_class.value, "why": fc.why}
            )
    return rows
