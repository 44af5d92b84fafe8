"""Live schema from the properties API: what ``refsync validate --online`` compares against.

Each HubSpot property becomes a :class:`~mapping.schema.FieldSchema`: ``type`` is HubSpot's
(``string``, ``number``, ``datetime``, ``enumeration``...), enumeration options become
picklist values (restricted only when the list is non-empty: pipeline stages and owners use
"external options" with an empty list), ``hasUniqueValue`` marks match keys, and
``modificationMetadata.readOnlyValue`` marks fields refsync may not write. For deals,
``dealstage`` lists the stage labels of the configured pipeline; association pseudo-fields
``associations.<type>`` are listed too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.hubspot.associations import ASSOCIATION_PREFIX
from connectors.hubspot.pipelines import PipelineCatalog
from connectors.hubspot.sensitive import LEVELS, SensitiveLevel, list_properties
from connectors.hubspot.transport import Transport
from mapping.schema import Dialect, FieldSchema, ObjectSchema

HUBSPOT_DIALECT = Dialect(
    name="hubspot",
    kinds={
        **dict.fromkeys(["enumeration", "phone_number"], "string"),
        **dict.fromkeys(["bool", "booleancheckbox", "checkbox"], "boolean"),
        **dict.fromkeys(["date_time", "datetimeinstant"], "datetime"),
    },
    flat_prefixes=(ASSOCIATION_PREFIX,),  # associations.contact: resolved by the connector
)
"""How HubSpot spells property types and associations."""

__all__ = ["ASSOCIABLE", "HUBSPOT_DIALECT", "describe_object", "field_schema"]

ASSOCIABLE: Mapping[str, tuple[str, ...]] = {
    "companies": ("contacts", "deals"),
    "contacts": ("companies", "deals"),
    "deals": ("companies", "contacts"),
    "meetings": ("companies", "contacts", "deals"),
    "calls": ("companies", "contacts", "deals"),
    "notes": ("companies", "contacts", "deals"),
    "tasks": ("companies", "contacts", "deals"),
}


def field_schema(prop: Mapping[str, Any]) -> FieldSchema:
    """One property JSON (``/crm/v3/properties/{type}``) as a FieldSchema."""
    meta = prop.get("modificationMetadata") or {}
    read_only = bool(meta.get("readOnlyValue", False)) or bool(prop.get("calculated", False))
    options = tuple(
        str(o.get("value")) for o in prop.get("options") or () if not o.get("hidden", False)
    )
    unique = bool(prop.get("hasUniqueValue", False))
    return FieldSchema(
        name=str(prop["name"]),
        type=str(prop.get("type") or "string"),
        label=prop.get("label"),
        createable=not read_only,
        updateable=not read_only,
        unique=unique,
        external_id=unique,
        picklist_values=options,
        restricted_picklist=prop.get("type") == "enumeration" and bool(options),
    )


def describe_object(
    transport: Transport,
    object_type: str,
    *,
    pipelines: PipelineCatalog | None = None,
    pipeline_name: str | None = None,
    associable: Sequence[str] | None = None,
    sensitivity: SensitiveLevel | None = None,
    sensitive_found: set[str] | None = None,
) -> ObjectSchema:
    """The ObjectSchema of ``object_type`` (1 call, 2 with ``sensitivity``: the properties
    HubSpot lists only when asked; plus 1 for deal pipelines). ``sensitive_found`` receives
    the names of its sensitive-data properties."""
    listed = [p for p in list_properties(transport, object_type, sensitivity)
              if not p.get("archived", False)]  # fmt: skip
    fields = {str(p["name"]): field_schema(p) for p in listed}
    if sensitive_found is not None:
        sensitive_found.update(str(p["name"]) for p in listed if p.get("dataSensitivity") in LEVELS)
    if pipelines is not None and pipeline_name and "dealstage" in fields:
        found = pipelines.find(pipeline_name)
        if found is not None:
            stage = fields["dealstage"]
            fields["dealstage"] = FieldSchema(
                name=stage.name,
                type=stage.type,
                label=stage.label,
                picklist_values=tuple(found.stages),
                restricted_picklist=True,
            )
    for to_type in associable if associable is not None else ASSOCIABLE.get(object_type, ()):
        name = ASSOCIATION_PREFIX + to_type
        fields[name] = FieldSchema(name=name, type="association", reference_to=(to_type,))
    return ObjectSchema(name=object_type, fields=fields, dialect=HUBSPOT_DIALECT)
