"""The canonical model: the hub every system maps onto.

Entities: :class:`Partner`, :class:`Clinician`, :class:`Referral`, :class:`OutreachActivity`,
:class:`QualifiedReferralDefinition`. Every entity has a stable canonical ``id`` (a string
refsync assigns, never PHI); destinations carry it in their external-id / unique property so
that upserts match across runs.

PHI is marked in the model itself: a field declared with :func:`phi_field` carries
``json_schema_extra={"phi": True}``; :func:`phi_paths` lists the dotted paths of every PHI
field of an entity, so mapping validation and redaction can ask the model, not a list.

All timestamps are timezone-aware (naive datetimes are refused).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from mapping.npi import validate_npi

__all__ = [
    "ENTITIES",
    "Attendance",
    "CanonicalRecord",
    "Clinician",
    "ClinicianRole",
    "DefinitionRule",
    "Npi",
    "OutreachActivity",
    "OutreachKind",
    "Partner",
    "PartnerKind",
    "PatientPHI",
    "QualificationResult",
    "QualificationStatus",
    "QualifiedReferralDefinition",
    "Referral",
    "ReferralEvent",
    "RelationshipStatus",
    "ServiceTargets",
    "Stage",
    "StageEvent",
    "Urgency",
    "entity_model",
    "is_phi_path",
    "phi_field",
    "phi_paths",
]

Npi = Annotated[str, AfterValidator(validate_npi)]


def phi_field(default: Any = None, **kwargs: Any) -> Any:
    """A model field that holds protected health information."""
    return Field(default, json_schema_extra={"phi": True}, **kwargs)


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False)


class Stage(StrEnum):
    CONTACTED = "contacted"
    REFERRED = "referred"
    INTAKE_RECEIVED = "intake_received"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class PartnerKind(StrEnum):
    PCP_PRACTICE = "pcp_practice"
    SPECIALTY_PRACTICE = "specialty_practice"
    HOSPITAL = "hospital"
    HEALTH_SYSTEM = "health_system"
    COMMUNITY_ORGANIZATION = "community_organization"
    EMPLOYER = "employer"
    PAYER = "payer"
    OTHER = "other"


class RelationshipStatus(StrEnum):
    PROSPECT = "prospect"
    CONTACTED = "contacted"
    ENGAGED = "engaged"
    ACTIVE = "active"
    DORMANT = "dormant"


class ClinicianRole(StrEnum):
    PHYSICIAN = "physician"
    NURSE_PRACTITIONER = "nurse_practitioner"
    PHYSICIAN_ASSISTANT = "physician_assistant"
    CARE_COORDINATOR = "care_coordinator"
    CASE_MANAGER = "case_manager"
    COMMUNITY_HEALTH_WORKER = "community_health_worker"
    OTHER = "other"


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    STAT = "stat"


class QualificationStatus(StrEnum):
    QUALIFIED = "qualified"
    INCOMPLETE = "incomplete"
    NOT_ELIGIBLE = "not_eligible"


class OutreachKind(StrEnum):
    VISIT = "visit"
    CALL = "call"
    EMAIL = "email"
    SEMINAR = "seminar"
    TRAINING = "training"
    LUNCH_AND_LEARN = "lunch_and_learn"
    NEWSLETTER = "newsletter"
    EVENT = "event"


class Attendance(StrEnum):
    PLANNED = "planned"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class Address(_Base):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = "US"


class Partner(_Base):
    """A referral source organisation."""

    id: str
    name: str = Field(min_length=1, max_length=255)
    kind: PartnerKind = PartnerKind.OTHER
    npi: Npi | None = None
    address: Address = Field(default_factory=Address)
    phone: str | None = None
    owner: str | None = None
    relationship_status: RelationshipStatus = RelationshipStatus.PROSPECT
    tier: str | None = None
    service_lines: list[str] = Field(default_factory=list)
    # Rollups, computed by sync/ and written out to CRMs; never read back as truth.
    referrals_total: int | None = None
    referrals_completed: int | None = None
    referrals_open: int | None = None
    last_referral_at: AwareDatetime | None = None
    last_outreach_at: AwareDatetime | None = None
    last_referral_week: str | None = None  # ISO week of last_referral_at (2026-W07)
    # Measures over the program's rollup window (measures.rollup_days, default 90 days; see
    # mapping.measures): rates in percent, days as decimals, None when nothing to measure.
    referrals_recent: int | None = None
    acceptance_rate: float | None = None
    leakage_rate: float | None = None
    median_days_to_schedule: float | None = None
    referrals_after_outreach: int | None = None
    referral_trend: str | None = None  # none, new, growing, steady, declining, lapsed
    derived_status: RelationshipStatus | None = None  # from referrals and outreach


class Clinician(_Base):
    """A referring individual."""

    id: str
    first_name: str | None = None
    last_name: str = Field(min_length=1)
    role: ClinicianRole = ClinicianRole.PHYSICIAN
    npi: Npi | None = None
    partner_id: str | None = None
    specialty: str | None = None
    email: str | None = None
    phone: str | None = None
    prospect: bool = False
    """Created by refsync from referrals naming an NPI no connected system knows
    (``referrers.create_prospects``); cleared when a system supplies the clinician."""


class StageEvent(_Base):
    """A stage the referral entered: when it became true and which system said so."""

    stage: Stage
    entered_at: AwareDatetime
    system: str


class ReferralEvent(_Base):
    """One thing a system said about a referral's stage: an entry of its event log.

    The log keeps every event as it arrived (applied, refused, superseded or in conflict);
    the referral's stage, :attr:`Referral.stage_history` and the stage-derived fields are a
    pure fold of it (:func:`mapping.history.fold_events`). ``id`` is deterministic per source
    record, so reading the same export again adds nothing.
    """

    id: str = Field(min_length=1)
    system: str
    stage: Stage
    at: AwareDatetime  # when the status became true (the event time)
    status: str | None = None  # the system's own status value, as read
    appointment_id: str | None = None
    parent_appointment_id: str | None = None  # the appointment this one replaces
    appointment_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    cancel_reason: str | None = None
    source: str | None = None  # file:line or resource pointer, never a value
    received_at: AwareDatetime | None = None  # when the hub first read it


class QualificationResult(_Base):
    status: QualificationStatus
    missing: list[str] = Field(default_factory=list)
    failed_rules: list[str] = Field(default_factory=list)
    definition_version: str | None = None
    evaluated_at: AwareDatetime | None = None


class PatientPHI(_Base):
    """The optional PHI block of a referral: every field here is PHI."""

    name: str | None = phi_field()
    birth_date: date | None = phi_field()
    mrn: str | None = phi_field()
    phone: str | None = phi_field()
    diagnosis: str | None = phi_field()
    payer: str | None = phi_field()
    key: str | None = phi_field()  # keyed hash of the MRN, for matching exports without a number


class Referral(_Base):
    id: str
    referral_number: str = Field(min_length=1)
    service_line: str | None = None
    partner_id: str | None = None
    clinician_id: str | None = None
    referring_npi: str | None = None  # who sent it, as the source said (resolved by the hub)
    # The referring provider's name and practice as the export spells them: only to suggest a
    # clinician for an NPI nobody knows (new-referrers.csv), never to link one.
    referring_name: str | None = None
    referring_practice: str | None = None
    stage: Stage = Stage.REFERRED
    stage_history: list[StageEvent] = Field(default_factory=list)
    events: list[ReferralEvent] = Field(default_factory=list)  # the log stage is folded from
    received_at: AwareDatetime | None = None
    urgency: Urgency = Urgency.ROUTINE
    reason: str | None = None
    documents_received: list[str] = Field(default_factory=list)
    qualification: QualificationResult | None = None
    decline_reason: str | None = None
    cancel_reason: str | None = None
    appointment_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    loop_closed_at: AwareDatetime | None = None
    # Stage timings, folded from the event log: when the referral first entered each stage
    # (time to accept, time to schedule), when it entered its current stage, and when it
    # was lost (declined, cancelled, no-show) if it is.
    referred_at: AwareDatetime | None = None
    accepted_at: AwareDatetime | None = None
    scheduled_at: AwareDatetime | None = None
    stage_entered_at: AwareDatetime | None = None
    lost_at: AwareDatetime | None = None
    patient_ref: str | None = None  # random surrogate key, never derived from PHI
    patient: PatientPHI | None = phi_field()
    # Derived by refsync from the dates above, for destinations that may not hold dates
    # (privacy tier deidentified): ISO week / month in the program's time zone, whole days.
    received_month: str | None = None
    received_week: str | None = None
    stage_entered_week: str | None = None
    days_to_schedule: int | None = None
    days_to_complete: int | None = None
    days_to_close_loop: int | None = None


class OutreachActivity(_Base):
    id: str
    kind: OutreachKind
    partner_id: str | None = None
    clinician_ids: list[str] = Field(default_factory=list)
    occurred_at: AwareDatetime
    owner: str | None = None
    subject: str = Field(min_length=1, max_length=255)
    notes: str | None = None  # non-PHI by policy; sending PHI here is an admin error
    service_line: str | None = None
    attendance: Attendance | None = None
    campaign: str | None = None


class DefinitionRule(_Base):
    """One eligibility rule from the closed registry in :mod:`mapping.qualification`."""

    type: str
    field: str | None = None
    values: list[str] = Field(default_factory=list)
    value: Any = None
    description: str | None = None


class ServiceTargets(_Base):
    respond_within_hours: int | None = Field(default=None, ge=0)
    schedule_within_days: int | None = Field(default=None, ge=0)
    close_loop_within_days: int | None = Field(default=None, ge=0)


class QualifiedReferralDefinition(_Base):
    id: str
    service_line: str = Field(min_length=1)
    version: str = Field(min_length=1)
    name: str | None = None
    required_documents: list[str] = Field(default_factory=list)
    accepted_reasons: list[str] = Field(default_factory=list)
    rules: list[DefinitionRule] = Field(default_factory=list)
    targets: ServiceTargets = Field(default_factory=ServiceTargets)
    effective_from: date | None = None


CanonicalRecord = Partner | Clinician | Referral | OutreachActivity | QualifiedReferralDefinition

EntityName = Literal["partner", "clinician", "referral", "outreach", "definition"]

ENTITIES: dict[str, type[_Base]] = {
    "partner": Partner,
    "clinician": Clinician,
    "referral": Referral,
    "outreach": OutreachActivity,
    "definition": QualifiedReferralDefinition,
}


def entity_model(entity: str) -> type[_Base]:
    """The model class for a canonical entity name (``partner``, ``referral``, ...)."""
    try:
        return ENTITIES[entity]
    except KeyError:
        known = ", ".join(sorted(ENTITIES))
        raise KeyError(f"unknown canonical entity {entity!r}; known: {known}") from None


def _is_phi(info: Any) -> bool:
    extra = getattr(info, "json_schema_extra", None)
    return isinstance(extra, dict) and bool(extra.get("phi"))


def phi_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted paths of every PHI field of ``model`` (a PHI block and all fields inside it)."""
    paths: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        if _is_phi(info):
            paths.add(path)
        sub = _submodel(info.annotation)
        if sub is not None:
            inner = phi_paths(sub, prefix=f"{path}.")
            if _is_phi(info):
                inner |= {f"{path}.{n}" for n in sub.model_fields}
            paths |= inner
    return paths


def is_phi_path(entity: str, path: str) -> bool:
    """True when the canonical ``path`` of ``entity`` is PHI (or lies inside a PHI block)."""
    paths = phi_paths(entity_model(entity))
    return path in paths or any(path.startswith(p + ".") for p in paths)


def _submodel(annotation: Any) -> type[BaseModel] | None:
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
