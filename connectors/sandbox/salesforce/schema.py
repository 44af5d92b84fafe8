"""The Salesforce sandbox's schema, as data: sObjects, their fields and field properties.

One :class:`ObjectDef` per sObject, one :class:`FieldDef` per field, with the properties a
describe call reports (type, length, externalId, unique, nillable, createable, updateable,
defaultedOnCreate, picklist values, restrictedPicklist, referenceTo, relationshipName).
:data:`DEFAULT_SCHEMA` is the preloaded schema of docs/contracts.md ("Default native schemas -
Salesforce"). System fields (Id, IsDeleted, CreatedDate, ...) are added by :func:`sobject`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from connectors.salesforce.picklists import (
    CLINICIAN_ROLES,
    OUTREACH_KINDS,
    PARTNER_KINDS,
    RELATIONSHIP_STATUSES,
    STAGES,
)

__all__ = [
    "DEFAULT_SCHEMA",
    "STAGES",
    "FieldDef",
    "ObjectDef",
    "default_schema",
    "sobject",
    "with_fields",
]

_NUMERIC = frozenset({"double", "currency", "percent", "int"})


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, with the properties describe reports."""

    name: str
    type: str  # id|string|textarea|picklist|multipicklist|reference|datetime|date|double|int|...
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    calculated: bool = False
    formula: str | None = None  # a formula field's cross-object path, e.g. "Partner__r.Name"

    @property
    def required_on_create(self) -> bool:
        """Salesforce's rule: not nillable, createable, not defaulted on create."""
        return not self.nillable and self.createable and not self.defaulted_on_create

    @property
    def is_numeric(self) -> bool:
        return self.type in _NUMERIC


@dataclass(frozen=True)
class ObjectDef:
    """One sObject: name, key prefix, label and its fields (system fields included)."""

    name: str
    key_prefix: str
    label: str
    fields: tuple[FieldDef, ...]
    custom: bool = False
    _by_lower: dict[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldDef | None:
        """The field named ``name`` (case-insensitive, as Salesforce matches names)."""
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The lookup field whose relationship name is ``name`` (e.g. ``Partner__r``)."""
        lowered = name.lower()
        for f in self.fields:
            if f.relationship_name and f.relationship_name.lower() == lowered:
                return f
        return None

    @property
    def external_id_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields if f.external_id)


def _f(name: str, type_: str, **kw: object) -> FieldDef:
    label = kw.pop("label", None) or name.removesuffix("__c").replace("_", " ")
    return FieldDef(name=name, type=type_, label=str(label), custom=name.endswith("__c"), **kw)  # type: ignore[arg-type]


def _text(name: str, length: int = 255, **kw: object) -> FieldDef:
    return _f(name, "string", length=length, **kw)


def _long(name: str, length: int = 131072) -> FieldDef:
    return _f(name, "textarea", length=length)


def _ext(name: str, length: int = 64, unique: bool = True) -> FieldDef:
    return _f(name, "string", length=length, external_id=True, unique=unique)


def _pick(name: str, values: Iterable[str], *, restricted: bool = False, **kw: object) -> FieldDef:
    return _f(name, "picklist", length=255, picklist=tuple(values), restricted=restricted, **kw)


def _ref(name: str, to: Iterable[str], relationship: str, **kw: object) -> FieldDef:
    return _f(
        name, "reference", length=18, reference_to=tuple(to), relationship_name=relationship, **kw
    )


def _num(name: str, precision: int = 18, scale: int = 0) -> FieldDef:
    return _f(name, "double", precision=precision, scale=scale)


def _dt(name: str) -> FieldDef:
    return _f(name, "datetime")


def _system_fields(owner: bool) -> list[FieldDef]:
    ro = {"createable": False, "updateable": False, "nillable": False, "defaulted_on_create": True}
    fields = [
        _f("Id", "id", length=18, **ro),
        _f("IsDeleted", "boolean", **ro),
        _f("CreatedDate", "datetime", **ro),
        _ref("CreatedById", ["User"], "CreatedBy", **ro),
        _f("LastModifiedDate", "datetime", **ro),
        _ref("LastModifiedById", ["User"], "LastModifiedBy", **ro),
        _f("SystemModstamp", "datetime", **ro),
    ]
    if owner:
        fields.append(_ref("OwnerId", ["User"], "Owner", nillable=False, defaulted_on_create=True))
    return fields


def sobject(
    name: str, key_prefix: str, fields: Iterable[FieldDef], *, label: str = "", owner: bool = True
) -> ObjectDef:
    """Build an :class:`ObjectDef` with the system fields every sObject has."""
    own = list(fields)
    names = {f.name for f in own}
    system = [f for f in _system_fields(owner) if f.name not in names]
    return ObjectDef(
        name=name,
        key_prefix=key_prefix,
        label=label or name.removesuffix("__c").replace("_", " "),
        fields=tuple(system + own),
        custom=name.endswith("__c"),
    )


def _custom_name() -> FieldDef:
    # Custom objects: a Name left out of an API create defaults to the record Id.
    return _text("Name", 80, nillable=False, defaulted_on_create=True)


_WHAT = ("Account", "Opportunity", "Referral__c")


def _user() -> ObjectDef:
    return sobject(
        "User",
        "005",
        [
            _text("Username", 80, nillable=False),
            _text("LastName", 80, nillable=False),
            _text("FirstName", 40),
            _f("Name", "string", length=121, createable=False, updateable=False, calculated=True),
            _f("Email", "email", length=80, nillable=False),
            _f("IsActive", "boolean", nillable=False, defaulted_on_create=True),
        ],
        owner=False,
    )


def _account() -> ObjectDef:
    return sobject(
        "Account",
        "001",
        [
            _text("Name", 255, nillable=False),
            _f("Phone", "phone", length=40),
            _f("BillingStreet", "textarea", length=255),
            _text("BillingCity", 40),
            _text("BillingState", 80),
            _text("BillingPostalCode", 20),
            _text("BillingCountry", 80),
            _pick(
                "Type", ["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"]
            ),
            _ext("Refsync_Id__c"),
            _text("NPI__c", 10),
            _pick("Partner_Kind__c", PARTNER_KINDS),
            _pick("Relationship_Status__c", RELATIONSHIP_STATUSES),
            _text("Tier__c", 40),
            _text("Service_Lines__c", 255),
            _num("Referrals_Total__c"),
            _num("Referrals_Completed__c"),
            _num("Referrals_Open__c"),
            _dt("Last_Referral_At__c"),
            _text("Last_Referral_Week__c", 8),
            _dt("Last_Outreach_At__c"),
            _num("Referrals_Recent__c"),
            _f("Acceptance_Rate__c", "percent", precision=5, scale=1),
            _f("Leakage_Rate__c", "percent", precision=5, scale=1),
            _num("Median_Days_To_Schedule__c", 18, 1),
            _num("Referrals_After_Outreach__c"),
            _text("Referral_Trend__c", 20),
            _pick("Derived_Status__c", RELATIONSHIP_STATUSES),
        ],
    )


def _contact() -> ObjectDef:
    return sobject(
        "Contact",
        "003",
        [
            _text("FirstName", 40),
            _text("LastName", 80, nillable=False),
            _f("Name", "string", length=121, createable=False, updateable=False, calculated=True),
            _f("Email", "email", length=80),
            _f("Phone", "phone", length=40),
            _text("Title", 128),
            _ref("AccountId", ["Account"], "Account"),
            _ext("Refsync_Id__c"),
            _text("NPI__c", 10),
            _pick("Clinician_Role__c", CLINICIAN_ROLES),
            _text("Specialty__c", 80),
        ],
    )


def _referral() -> ObjectDef:
    return sobject(
        "Referral__c",
        "a01",
        [
            _custom_name(),
            _ext("Refsync_Id__c"),
            _ext("Referral_Number__c", 40),
            _text("Service_Line__c", 80),
            _ref("Partner__c", ["Account"], "Partner__r"),
            _ref("Clinician__c", ["Contact"], "Clinician__r"),
            _pick("Stage__c", STAGES, restricted=True),
            _dt("Stage_Entered_At__c"),
            _dt("Referred_At__c"),
            _dt("Accepted_At__c"),
            _dt("Scheduled_At__c"),
            _dt("Lost_At__c"),
            _dt("Received_At__c"),
            _dt("Appointment_At__c"),
            _dt("Completed_At__c"),
            _dt("Loop_Closed_At__c"),
            _pick("Urgency__c", ["Routine", "Urgent", "STAT"]),
            _text("Reason__c", 255),
            _long("Documents_Received__c"),
            _pick("Qualification_Status__c", ["Qualified", "Incomplete", "Not Eligible"]),
            _long("Missing_Items__c"),
            _text("Definition_Version__c", 20),
            _text("Decline_Reason__c", 255),
            _text("Cancel_Reason__c", 255),
            _text("Patient_Ref__c", 64),
            # Derived for deidentified tiers: week/month (no day) and whole-day intervals.
            _text("Received_Month__c", 7),
            _text("Received_Week__c", 8),
            _text("Stage_Entered_Week__c", 8),
            _num("Days_To_Schedule__c"),
            _num("Days_To_Complete__c"),
            _num("Days_To_Close_Loop__c"),
        ],
        label="Referral",
    )


_DERIVED = {"createable": False, "updateable": False}
_CREATE_ONLY = {"updateable": False, "defaulted_on_create": True}


def _activity_fields() -> list[FieldDef]:
    # AccountId is derived by Salesforce (the What's account, else the Who contact's) and
    # read-only; Type is the user-editable activity type, *Subtype the create-only one.
    return [
        _f("Subject", "combobox", length=255),
        _f("Description", "textarea", length=32000),
        _ref("WhatId", _WHAT, "What"),
        _ref("WhoId", ["Contact"], "Who"),
        _ref("AccountId", ["Account"], "Account", **_DERIVED),
        _f("ActivityDate", "date"),
        _pick("Type", ["Call", "Email", "Meeting", "Other"]),
        _ext("Refsync_Id__c"),
        _pick("Outreach_Kind__c", OUTREACH_KINDS),
        _text("Campaign__c", 80),
        _text("Service_Line__c", 80),
    ]


def _task() -> ObjectDef:
    return sobject(
        "Task",
        "00T",
        [
            *_activity_fields(),
            _pick(
                "TaskSubtype",
                ["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"],
                restricted=True,
                **_CREATE_ONLY,
            ),
            _pick(
                "Status",
                ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"],
                nillable=False,
                defaulted_on_create=True,
            ),
            _pick("Priority", ["High", "Normal", "Low"], nillable=False, defaulted_on_create=True),
        ],
    )


def _event() -> ObjectDef:
    return sobject(
        "Event",
        "00U",
        [
            *_activity_fields(),
            _pick("EventSubtype", ["Event"], restricted=True, **_CREATE_ONLY),
            _f("IsAllDayEvent", "boolean", nillable=False, defaulted_on_create=True),
            _dt("StartDateTime"),
            _dt("EndDateTime"),
            _f("DurationInMinutes", "int", precision=8),
            _dt("ActivityDateTime"),
            _text("Location", 255),
        ],
    )


def _definition() -> ObjectDef:
    return sobject(
        "Referral_Definition__c",
        "a02",
        [
            _custom_name(),
            _ext("Refsync_Id__c"),
            _text("Service_Line__c", 80),
            _text("Version__c", 20),
            _long("Required_Documents__c"),
            _long("Accepted_Reasons__c"),
            _long("Rules_JSON__c"),
            _num("Respond_Within_Hours__c"),
            _num("Schedule_Within_Days__c"),
            _num("Close_Loop_Within_Days__c"),
        ],
        label="Referral Definition",
    )


def _opportunity() -> ObjectDef:
    return sobject(
        "Opportunity",
        "006",
        [
            _text("Name", 120, nillable=False),
            _ref("AccountId", ["Account"], "Account"),
            _pick(
                "StageName",
                ["Prospecting", "Qualification", "Proposal", "Closed Won", "Closed Lost"],
                nillable=False,
            ),
            _f("CloseDate", "date", nillable=False),
            _f("Amount", "currency", precision=18, scale=2),
            _f("Probability", "percent", precision=3),
            _pick("Type", ["New Customer", "Existing Customer - Upgrade"]),
            _pick("LeadSource", ["Web", "Phone Inquiry", "Partner Referral", "Other"]),
            _f("Description", "textarea", length=32000),
        ],
    )


def default_schema() -> dict[str, ObjectDef]:
    """A fresh copy of the preloaded schema, keyed by sObject name."""
    objects = [
        _user(),
        _account(),
        _contact(),
        _referral(),
        _task(),
        _event(),
        _definition(),
        _opportunity(),
    ]
    return {o.name: o for o in objects}


DEFAULT_SCHEMA = default_schema()


def with_fields(obj: ObjectDef, *extra: FieldDef) -> ObjectDef:
    """``obj`` with extra (or replaced) fields: how tests and admins extend the schema."""
    names = {f.name for f in extra}
    kept = tuple(f for f in obj.fields if f.name not in names)
    return replace(obj, fields=kept + tuple(extra), _by_lower={})
