"""Describe bodies (global, per sObject, basic info) built from the schema data."""

from __future__ import annotations

from typing import Any

from connectors.sandbox.salesforce.schema import FieldDef, ObjectDef

__all__ = ["describe_global", "describe_sobject", "field_json", "sobject_info"]

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "boolean": "xsd:boolean",
}


def field_json(f: FieldDef) -> dict[str, Any]:
    """One entry of ``fields[]`` in an sObject describe."""
    text_like = f.type not in _SOAP_TYPES or f.type in ("id", "reference")
    return {
        "aggregatable": f.type != "textarea",
        "autoNumber": False,
        "byteLength": f.length * 3 if text_like else 0,
        "calculated": f.calculated,
        "calculatedFormula": f.formula,
        "caseSensitive": False,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": None,
        "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": False,
        "digits": f.precision if f.type == "int" else 0,
        "externalId": f.external_id,
        "filterable": f.type != "textarea" or f.length <= 255,
        "groupable": f.type not in ("textarea", "double", "currency", "percent", "datetime"),
        "idLookup": f.external_id or f.name in ("Id", "Name"),
        "label": f.label,
        "length": f.length if text_like else 0,
        "name": f.name,
        "nameField": f.name == "Name",
        "nillable": f.nillable,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in f.picklist
        ],
        "precision": f.precision if f.type in ("double", "currency", "percent") else 0,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "restrictedPicklist": f.restricted,
        "scale": f.scale,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": f.type != "textarea" or f.length <= 255,
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable,
    }


def _urls(obj: ObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def sobject_info(obj: ObjectDef, version: str) -> dict[str, Any]:
    """One entry of the global describe's ``sobjects[]``."""
    writable = obj.name != "User"
    return {
        "activateable": False,
        "createable": writable,
        "custom": obj.custom,
        "customSetting": False,
        "deletable": writable,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label + "s",
        "layoutable": True,
        "mergeable": obj.name in ("Account", "Contact"),
        "mruEnabled": True,
        "name": obj.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": writable,
        "updateable": writable,
        "urls": _urls(obj, version),
    }


def describe_global(objects: list[ObjectDef], version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [sobject_info(o, version) for o in sorted(objects, key=lambda o: o.name)],
    }


def describe_sobject(obj: ObjectDef, objects: list[ObjectDef], version: str) -> dict[str, Any]:
    children = [
        {
            "cascadeDelete": False,
            "childSObject": other.name,
            "deprecatedAndHidden": False,
            "field": f.name,
            "relationshipName": None,
        }
        for other in objects
        for f in other.fields
        if f.type == "reference" and obj.name in f.reference_to and f.createable
    ]
    return {
        **sobject_info(obj, version),
        "childRelationships": children,
        "fields": [field_json(f) for f in obj.fields],
        "recordTypeInfos": [],
    }
