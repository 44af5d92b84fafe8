"""Salesforce DX source for the custom objects and fields the default mapping needs.

:func:`write_sfdx_source` writes, under ``out_dir``::

    sfdx-project.json                       packageDirectories: objects, permissionsets
    package.xml                             manifest: CustomObject, CustomField, PermissionSet
    objects/<Object>/<Object>.object-meta.xml           (custom objects only)
    objects/<Object>/fields/<Field>.field-meta.xml
    permissionsets/Refsync_Integration.permissionset-meta.xml

An admin deploys it with the Salesforce CLI from ``out_dir``::

    sf project deploy start --manifest package.xml --target-org <alias>

then assigns the ``Refsync_Integration`` permission set to the integration user: fields
deployed through metadata are invisible to everyone until field-level security grants them,
and an invisible field is what makes a sync read silent NULLs.

Task and Event custom fields live on the shared ``Activity`` object, as Salesforce requires.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from xml.etree import ElementTree as ET

from connectors.salesforce.picklists import (
    CLINICIAN_ROLES,
    OUTREACH_KINDS,
    PARTNER_KINDS,
    RELATIONSHIP_STATUSES,
    STAGES,
)

__all__ = [
    "CUSTOM_FIELDS",
    "CUSTOM_OBJECTS",
    "CustomField",
    "SalesforceProvisionSource",
    "field_xml",
    "object_xml",
    "package_xml",
    "permission_set_xml",
    "write_sfdx_source",
]

_NS = "http://soap.sforce.com/2006/04/metadata"
_API_VERSION = "62.0"
_PERMISSION_SET = "Refsync_Integration"


@dataclass(frozen=True, slots=True)
class CustomField:
    """One custom field: ``kind`` is Text, LongTextArea, Number, Percent, DateTime, Picklist or
    Lookup (``scale``: decimal places of a Number or Percent)."""

    object: str
    name: str
    kind: str
    length: int | None = None
    external_id: bool = False
    unique: bool = False
    values: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: str | None = None
    relationship: str | None = None
    scale: int = 0

    @property
    def label(self) -> str:
        return self.name.removesuffix("__c").replace("_", " ")


def _text(obj: str, name: str, length: int) -> CustomField:
    return CustomField(obj, name, "Text", length)


def _ext(obj: str, name: str = "Refsync_Id__c", length: int = 64) -> CustomField:
    return CustomField(obj, name, "Text", length, external_id=True, unique=True)


def _pick(obj: str, name: str, values: Iterable[str], restricted: bool = False) -> CustomField:
    return CustomField(obj, name, "Picklist", values=tuple(values), restricted=restricted)


def _many(obj: str, kind: str, *names: str) -> list[CustomField]:
    return [CustomField(obj, n, kind) for n in names]


CUSTOM_OBJECTS: dict[str, str] = {
    "Referral__c": "Referral",
    "Referral_Definition__c": "Referral Definition",
}
"""Custom objects to create: API name -> label."""

CUSTOM_FIELDS: tuple[CustomField, ...] = (
    _ext("Account"),
    _text("Account", "NPI__c", 10),
    _pick("Account", "Partner_Kind__c", PARTNER_KINDS),
    _pick("Account", "Relationship_Status__c", RELATIONSHIP_STATUSES),
    _text("Account", "Tier__c", 40),
    _text("Account", "Service_Lines__c", 255),
    *_many(
        "Account", "Number", "Referrals_Total__c", "Referrals_Completed__c", "Referrals_Open__c"
    ),
    *_many("Account", "DateTime", "Last_Referral_At__c", "Last_Outreach_At__c"),
    _text("Account", "Last_Referral_Week__c", 8),
    *_many("Account", "Number", "Referrals_Recent__c", "Referrals_After_Outreach__c"),
    *(
        CustomField("Account", n, "Percent", scale=1)
        for n in ("Acceptance_Rate__c", "Leakage_Rate__c")
    ),
    CustomField("Account", "Median_Days_To_Schedule__c", "Number", scale=1),
    _text("Account", "Referral_Trend__c", 20),
    _pick("Account", "Derived_Status__c", RELATIONSHIP_STATUSES),
    _ext("Contact"),
    _text("Contact", "NPI__c", 10),
    _pick("Contact", "Clinician_Role__c", CLINICIAN_ROLES),
    _text("Contact", "Specialty__c", 80),
    _ext("Referral__c"),
    _ext("Referral__c", "Referral_Number__c", 40),
    _text("Referral__c", "Service_Line__c", 80),
    CustomField(
        "Referral__c", "Partner__c", "Lookup", reference_to="Account", relationship="Referrals"
    ),
    CustomField(
        "Referral__c", "Clinician__c", "Lookup", reference_to="Contact", relationship="Referrals"
    ),
    _pick("Referral__c", "Stage__c", STAGES, restricted=True),
    *_many(
        "Referral__c",
        "DateTime",
        "Stage_Entered_At__c",
        "Referred_At__c",
        "Accepted_At__c",
        "Scheduled_At__c",
        "Lost_At__c",
        "Received_At__c",
        "Appointment_At__c",
        "Completed_At__c",
        "Loop_Closed_At__c",
    ),
    _pick("Referral__c", "Urgency__c", ("Routine", "Urgent", "STAT")),
    _text("Referral__c", "Reason__c", 255),
    *_many("Referral__c", "LongTextArea", "Documents_Received__c", "Missing_Items__c"),
    _pick("Referral__c", "Qualification_Status__c", ("Qualified", "Incomplete", "Not Eligible")),
    _text("Referral__c", "Definition_Version__c", 20),
    _text("Referral__c", "Decline_Reason__c", 255),
    _text("Referral__c", "Cancel_Reason__c", 255),
    _text("Referral__c", "Patient_Ref__c", 64),
    # Derived for deidentified tiers: week/month (no day) and whole-day intervals.
    _text("Referral__c", "Received_Month__c", 7),
    _text("Referral__c", "Received_Week__c", 8),
    _text("Referral__c", "Stage_Entered_Week__c", 8),
    *_many(
        "Referral__c",
        "Number",
        "Days_To_Schedule__c",
        "Days_To_Complete__c",
        "Days_To_Close_Loop__c",
    ),
    _ext("Activity"),
    _pick("Activity", "Outreach_Kind__c", OUTREACH_KINDS),
    _text("Activity", "Campaign__c", 80),
    _text("Activity", "Service_Line__c", 80),
    _ext("Referral_Definition__c"),
    _text("Referral_Definition__c", "Service_Line__c", 80),
    _text("Referral_Definition__c", "Version__c", 20),
    *_many(
        "Referral_Definition__c",
        "LongTextArea",
        "Required_Documents__c",
        "Accepted_Reasons__c",
        "Rules_JSON__c",
    ),
    *_many(
        "Referral_Definition__c",
        "Number",
        "Respond_Within_Hours__c",
        "Schedule_Within_Days__c",
        "Close_Loop_Within_Days__c",
    ),
)
"""Every custom field the default mapping reads or writes."""


def _el(parent: ET.Element, tag: str, text: object | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = str(text).lower() if isinstance(text, bool) else str(text)
    return child


def _root(tag: str) -> ET.Element:
    return ET.Element(tag, xmlns=_NS)


def _write(root: ET.Element, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.indent(root, space="    ")
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)


def _picklist(root: ET.Element, spec: CustomField) -> None:
    value_set = _el(root, "valueSet")
    _el(value_set, "restricted", spec.restricted)
    definition = _el(value_set, "valueSetDefinition")
    _el(definition, "sorted", False)
    for value in spec.values:
        entry = _el(definition, "value")
        _el(entry, "fullName", value)
        _el(entry, "default", False)
        _el(entry, "label", value)


def field_xml(spec: CustomField) -> ET.Element:
    """The ``CustomField`` metadata element for one field."""
    root = _root("CustomField")
    _el(root, "fullName", spec.name)
    _el(root, "label", spec.label)
    if spec.kind == "Lookup":
        _el(root, "deleteConstraint", "SetNull")
        _el(root, "referenceTo", spec.reference_to)
        _el(root, "relationshipLabel", spec.relationship)
        _el(root, "relationshipName", spec.relationship)
    if spec.kind == "Text":
        _el(root, "length", spec.length)
        _el(root, "externalId", spec.external_id)
        _el(root, "unique", spec.unique)
        if spec.unique:
            _el(root, "caseSensitive", True)  # ids differing only in case are different ids
    if spec.kind == "LongTextArea":
        _el(root, "length", 131072)
        _el(root, "visibleLines", 5)
    if spec.kind in ("Number", "Percent"):
        _el(root, "precision", 18 if spec.kind == "Number" else 5)
        _el(root, "scale", spec.scale)
    if spec.kind == "Picklist":
        _picklist(root, spec)
    if spec.kind != "Picklist":
        _el(root, "required", False)
    _el(root, "trackHistory", False)
    _el(root, "type", spec.kind)
    return root


def object_xml(name: str, label: str) -> ET.Element:
    """The ``CustomObject`` metadata element (Text name field, read/write sharing)."""
    root = _root("CustomObject")
    _el(root, "deploymentStatus", "Deployed")
    _el(root, "enableActivities", name == "Referral__c")
    _el(root, "enableHistory", False)
    _el(root, "enableReports", True)
    _el(root, "label", label)
    name_field = _el(root, "nameField")
    _el(name_field, "label", f"{label} Name")
    _el(name_field, "type", "Text")
    _el(root, "pluralLabel", f"{label}s")
    _el(root, "sharingModel", "ReadWrite")
    return root


def permission_set_xml(fields: Iterable[CustomField]) -> ET.Element:
    """Read/edit on every field and full access to the custom objects, for the sync user."""
    root = _root("PermissionSet")
    _el(root, "description", "Field and object access refsync's integration user needs")
    for spec in fields:
        # Activity fields are granted per object that shows them (Task, Event).
        owners = ("Event", "Task") if spec.object == "Activity" else (spec.object,)
        for obj in owners:
            grant = _el(root, "fieldPermissions")
            _el(grant, "editable", True)
            _el(grant, "field", f"{obj}.{spec.name}")
            _el(grant, "readable", True)
    _el(root, "hasActivationRequired", False)
    _el(root, "label", "Refsync Integration")
    for name in CUSTOM_OBJECTS:
        perms = _el(root, "objectPermissions")
        for flag in ("allowCreate", "allowDelete", "allowEdit", "allowRead"):
            _el(perms, flag, True)
        _el(perms, "modifyAllRecords", False)
        _el(perms, "object", name)
        _el(perms, "viewAllRecords", True)
    return root


def package_xml(fields: Iterable[CustomField]) -> ET.Element:
    """The deployment manifest listing every object, field and the permission set."""
    root = _root("Package")
    members = {
        "CustomObject": sorted(CUSTOM_OBJECTS),
        "CustomField": sorted(f"{f.object}.{f.name}" for f in fields),
        "PermissionSet": [_PERMISSION_SET],
    }
    for type_name, names in members.items():
        block = _el(root, "types")
        for name in names:
            _el(block, "members", name)
        _el(block, "name", type_name)
    _el(root, "version", _API_VERSION)
    return root


def write_sfdx_source(out_dir: str | Path) -> list[Path]:
    """Write the DX source tree under ``out_dir``; return the files written (sorted)."""
    out = Path(out_dir)
    written: list[Path] = []
    for name, label in CUSTOM_OBJECTS.items():
        path = out / "objects" / name / f"{name}.object-meta.xml"
        _write(object_xml(name, label), path)
        written.append(path)
    for spec in CUSTOM_FIELDS:
        path = out / "objects" / spec.object / "fields" / f"{spec.name}.field-meta.xml"
        _write(field_xml(spec), path)
        written.append(path)
    perm = out / "permissionsets" / f"{_PERMISSION_SET}.permissionset-meta.xml"
    _write(permission_set_xml(CUSTOM_FIELDS), perm)
    _write(package_xml(CUSTOM_FIELDS), out / "package.xml")
    project = {
        "packageDirectories": [{"path": "objects", "default": True}, {"path": "permissionsets"}],
        "sourceApiVersion": _API_VERSION,
    }
    (out / "sfdx-project.json").write_text(json.dumps(project, indent=2) + "\n", encoding="utf-8")
    written += [perm, out / "package.xml", out / "sfdx-project.json"]
    return sorted(written)


class SalesforceProvisionSource:
    """The PROVISION_SOURCE hooks of :class:`~connectors.salesforce.SalesforceConnector`:
    Salesforce metadata is deployed by an admin with the Salesforce CLI, not by refsync."""

    provision_source_folder: ClassVar[str] = "sfdx"

    @classmethod
    def write_provision_source(cls, out_dir: Path) -> list[Path]:
        return write_sfdx_source(out_dir)

    @classmethod
    def deploy_command(cls, out_dir: Path) -> str:
        return f"sf project deploy start --source-dir {out_dir}"
