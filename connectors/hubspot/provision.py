"""``refsync provision hubspot [--apply]``: create what the default mapping needs.

:func:`plan_provision` reads the account (property groups, properties, deal pipelines,
custom-object schemas) and returns the actions still needed, each printable; nothing is
changed. :func:`apply_provision` carries a plan out. Running both twice is harmless: the
second plan is empty.

- property group ``refsync`` and every ``refsync_*`` property (with enumeration options;
  missing options of an existing enumeration are added);
- the deal pipeline "Referrals" with one stage per canonical stage (missing stages added);
- the custom object ``referral_definitions`` where the account has custom objects (a 403
  from the schemas API means it has none: reported, not an error).

Properties that exist with another type are reported as conflicts and left alone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from connectors.base import ProvisionAction
from connectors.hubspot.provision_spec import (
    DEFINITION_PROPERTIES,
    DEFINITIONS_OBJECT,
    GROUP,
    PIPELINE_LABEL,
    PROPERTIES,
    STAGE_LABELS,
    PropertySpec,
)
from connectors.hubspot.sensitive import list_properties
from mapping.errors import ConfigurationError, PermissionDenied, SchemaMismatch

if TYPE_CHECKING:
    from connectors.hubspot.connector import HubSpotConnector

__all__ = ["ProvisionAction", "apply_provision", "plan_provision"]

_STAGE_PROBABILITY = {"Completed": "1.0", "Declined": "0.0", "Cancelled": "0.0", "No Show": "0.0"}


_VERBS = {
    "create_group": "create property group",
    "create_property": "create property",
    "add_options": "add options to",
    "create_pipeline": "create pipeline",
    "add_stage": "add stage",
    "create_custom_object": "create custom object",
}


def _action(
    kind: str,
    object_type: str,
    name: str,
    detail: str = "",
    body: Mapping[str, object] | None = None,
    *,
    blocks_phi: bool = False,
) -> ProvisionAction:
    verb = _VERBS.get(kind, "")
    return ProvisionAction(kind, object_type, name, detail, body or {}, verb, blocks_phi)


def plan_provision(
    connector: HubSpotConnector, sensitive: Mapping[str, Collection[str]] | None = None
) -> list[ProvisionAction]:
    """The actions the account still needs (reads only).

    ``sensitive``: object type -> the properties that will hold PHI (a ``privacy: full``
    connection's mapping says which); they are planned as sensitive-data properties at the
    connection's ``sensitive_data`` level, created as plain text when refsync's own list
    does not have them. An existing one that is not sensitive is a conflict: HubSpot keeps
    PHI only in sensitive-data properties and cannot change a property's sensitivity.
    """
    plan: list[ProvisionAction] = []
    sensitive = sensitive or {}
    level = connector.settings.sensitive_data
    if any(sensitive.values()) and level is None:
        raise ConfigurationError(
            "these HubSpot properties would hold PHI but the connection has no "
            "sensitive_data setting: "
            + ", ".join(f"{t}.{p}" for t, names in sorted(sensitive.items()) for p in names)
            + "; set settings.sensitive_data: sensitive (HIPAA setting on, under HubSpot's BAA)"
        )
    for object_type in sorted({*PROPERTIES, *(t for t, n in sensitive.items() if n)}):
        specs = _with_sensitive(PROPERTIES.get(object_type, []), sensitive.get(object_type), level)
        plan += _plan_properties(connector, object_type, specs)
    plan += _plan_pipeline(connector)
    plan += _plan_custom_object(connector)
    return plan


def apply_provision(connector: HubSpotConnector, plan: Sequence[ProvisionAction]) -> int:
    """Carry out ``plan`` (in order); returns the number of changes made."""
    transport = connector.transport
    done = 0
    pipeline_id: str | None = None
    for action in plan:
        if not action.applies:
            continue
        what = f"provision {action.object_type} {action.name}"
        if action.kind == "create_group":
            transport.call("property_groups", "create", action.object_type, action.body, what=what)
        elif action.kind == "create_property":
            transport.call("properties", "create", action.object_type, action.body, what=what)
        elif action.kind == "add_options":
            transport.call(
                "properties", "update", action.object_type, action.name, action.body, what=what
            )
        elif action.kind == "create_pipeline":
            transport.call("pipelines", "create", action.object_type, action.body, what=what)
        elif action.kind == "add_stage":
            pipeline_id = pipeline_id or connector.pipelines.pipeline(PIPELINE_LABEL).id
            transport.call(
                "pipeline_stages", "create", action.object_type, pipeline_id, action.body, what=what
            )
        elif action.kind == "create_custom_object":
            transport.call("schemas", "create", action.body, what=what)
        else:  # a plan from elsewhere: never count a change that was not made
            raise ConfigurationError(f"{what}: no HubSpot change is called {action.kind!r}")
        done += 1
    connector.forget_schemas()
    return done


def _with_sensitive(
    specs: Sequence[PropertySpec], names: Collection[str] | None, level: str | None
) -> list[PropertySpec]:
    """``specs`` with the properties in ``names`` made sensitive (and added if missing)."""
    if not names:
        return list(specs)
    out = [replace(s, sensitivity=level) if s.name in names else s for s in specs]
    known = {s.name for s in specs}
    out += [
        PropertySpec(n, n.replace("_", " ").capitalize(), sensitivity=level)
        for n in sorted(names)
        if n not in known
    ]
    return out


def _plan_properties(
    connector: HubSpotConnector, object_type: str, specs: Sequence[PropertySpec]
) -> list[ProvisionAction]:
    transport = connector.transport
    groups = transport.call(
        "property_groups", "get_all", object_type, what=f"{object_type} property groups"
    )
    plan: list[ProvisionAction] = []
    if GROUP not in {g.get("name") for g in (groups.data or {}).get("results", [])}:
        body = {"name": GROUP, "label": "refsync", "displayOrder": -1}
        plan.append(_action("create_group", object_type, GROUP, body=body))
    existing = list_properties(transport, object_type, connector.settings.sensitive_data)
    have = {p["name"]: p for p in existing if not p.get("archived")}
    for spec in specs:
        plan += _plan_property(object_type, spec, have.get(spec.name))
    return plan


def _plan_property(
    object_type: str, spec: PropertySpec, current: dict[str, Any] | None
) -> list[ProvisionAction]:
    if current is None:
        detail = spec.type + (", unique" if spec.unique else "")
        detail += f", {spec.sensitivity} data" if spec.sensitivity else ""
        return [_action("create_property", object_type, spec.name, detail, spec.create_body())]
    if current.get("type") != spec.type or bool(current.get("hasUniqueValue")) != spec.unique:
        detail = f"exists as {current.get('type')}, unique={bool(current.get('hasUniqueValue'))}; "
        detail += f"refsync needs {spec.type}, unique={spec.unique}: fix it by hand"
        return [_action("conflict", object_type, spec.name, detail)]
    level = current.get("dataSensitivity") or "non_sensitive"
    if level != (spec.sensitivity or "non_sensitive"):
        detail = (
            f"exists as {level} data; refsync needs {spec.sensitivity or 'non_sensitive'} "
            "(PHI may rest only in a sensitive-data property under HubSpot's BAA, and "
            "HubSpot cannot change a property's sensitivity): map another property, or "
            "archive this one and provision again"
        )
        return [_action("conflict", object_type, spec.name, detail, blocks_phi=True)]
    have = {str(o.get("value")) for o in current.get("options") or ()}
    missing = [v for v in spec.options if v not in have]
    if not missing:
        return []
    options = list(current.get("options") or ()) + [
        o for o in spec.option_bodies() if o["value"] in missing
    ]
    return [
        _action("add_options", object_type, spec.name, ", ".join(missing), {"options": options})
    ]


def _plan_pipeline(connector: HubSpotConnector) -> list[ProvisionAction]:
    found = connector.pipelines.find(PIPELINE_LABEL)
    stages = [
        {
            "label": label,
            "displayOrder": order,
            "metadata": {"probability": _STAGE_PROBABILITY.get(label, "0.5")},
        }
        for order, label in enumerate(STAGE_LABELS.values())
    ]
    if found is None:
        body = {"label": PIPELINE_LABEL, "displayOrder": 1, "stages": stages}
        detail = f"{len(stages)} stages: " + ", ".join(s["label"] for s in stages)  # type: ignore[misc]
        return [_action("create_pipeline", "deals", PIPELINE_LABEL, detail, body)]
    return [
        _action("add_stage", "deals", str(stage["label"]), f"in {PIPELINE_LABEL}", stage)
        for stage in stages
        if stage["label"] not in found.stages
    ]


def _plan_custom_object(connector: HubSpotConnector) -> list[ProvisionAction]:
    try:
        response = connector.transport.call("schemas", "get_all", what="custom object schemas")
    except (PermissionDenied, SchemaMismatch):
        return [
            _action(
                "skip",
                DEFINITIONS_OBJECT,
                DEFINITIONS_OBJECT,
                "this account has no custom objects (Enterprise only); definitions stay local",
            )
        ]
    names = {s.get("name") for s in (response.data or {}).get("results", [])}
    if DEFINITIONS_OBJECT in names:
        return []
    body = {
        "name": DEFINITIONS_OBJECT,
        "labels": {"singular": "Referral definition", "plural": "Referral definitions"},
        "primaryDisplayProperty": "refsync_id",
        "requiredProperties": ["refsync_id"],
        "searchableProperties": ["refsync_id", "service_line"],
        "secondaryDisplayProperties": ["service_line"],
        "associatedObjects": [],
        "properties": [
            {k: v for k, v in p.create_body().items() if k != "groupName"}
            for p in DEFINITION_PROPERTIES
        ],
    }
    detail = f"{len(DEFINITION_PROPERTIES)} properties, refsync_id unique"
    return [_action("create_custom_object", DEFINITIONS_OBJECT, DEFINITIONS_OBJECT, detail, body)]
