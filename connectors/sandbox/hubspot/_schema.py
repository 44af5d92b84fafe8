"""The account's metadata: object types (standard and custom), properties and groups.

Thread-safe; every method takes the registry lock. Property definitions are kept as the
JSON HubSpot returns (``Property``), so the properties API serves them as they are.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from connectors.sandbox.hubspot._clock import iso_ms
from connectors.sandbox.hubspot._data import (
    CUSTOM_OBJECTS,
    MODIFIED_PROPERTY,
    PORTAL_ID,
    STANDARD_OBJECTS,
    default_groups,
    default_properties,
)
from connectors.sandbox.hubspot._errors import HubSpotError, error_body, validation_error

__all__ = ["SchemaRegistry"]

_PROPERTY_TYPES = {"bool", "date", "datetime", "enumeration", "number", "phone_number", "string"}


class SchemaRegistry:
    """Object types, their properties and property groups."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._aliases: dict[str, str] = {}
        self._type_ids: dict[str, str] = {}
        self._singular: dict[str, str] = {}
        self._properties: dict[str, dict[str, dict[str, Any]]] = {}
        self._groups: dict[str, dict[str, dict[str, Any]]] = {}
        self._custom: dict[str, dict[str, Any]] = {}
        self._next_custom = 9000001
        # every definition made through the API, so a data dir can replay them on restart
        self.journal: list[list[Any]] = []
        for name, (type_id, singular) in STANDARD_OBJECTS.items():
            self._register(name, type_id, singular, (singular, type_id))
        for name, egg in CUSTOM_OBJECTS.items():
            self.create_custom_object({"name": name, **egg, "properties": []}, 0, preload=True)

    # -- object types ---------------------------------------------------------------------

    def _register(self, name: str, type_id: str, singular: str, aliases: tuple[str, ...]) -> None:
        self._type_ids[name] = type_id
        self._singular[name] = singular
        for alias in (name, *aliases):
            self._aliases[alias.lower()] = name
        self._properties[name] = {p["name"]: p for p in default_properties(name)}
        self._groups[name] = {g["name"]: g for g in default_groups(name)}

    def resolve(self, object_type: str) -> str:
        """The canonical type name for a name, objectTypeId or fully qualified name."""
        with self._lock:
            name = self._aliases.get(object_type.lower())
        if name is None:
            raise validation_error(f"Unable to infer object type from: {object_type}")
        return name

    def type_id(self, name: str) -> str:
        return self._type_ids[name]

    def singular(self, name: str) -> str:
        return self._singular[name]

    def modified_property(self, name: str) -> str:
        return MODIFIED_PROPERTY.get(name, "hs_lastmodifieddate")

    def created_property(self, name: str) -> str:
        return "createdate" if name in ("contacts", "companies", "deals") else "hs_createdate"

    # -- properties -----------------------------------------------------------------------

    def properties(self, name: str) -> dict[str, dict[str, Any]]:
        """Property definitions by name (a copy of the mapping; definitions are shared)."""
        with self._lock:
            return dict(self._properties[name])

    def property(self, name: str, prop: str) -> dict[str, Any] | None:
        with self._lock:
            return self._properties[name].get(prop)

    def unique_properties(self, name: str) -> list[str]:
        with self._lock:
            return [p for p, d in self._properties[name].items() if d.get("hasUniqueValue")]

    def create_property(self, name: str, body: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """Add a property from a PropertyCreate body; 409 if the name is taken."""
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            raise validation_error(f"Missing required fields {missing} for property creation")
        if body["type"] not in _PROPERTY_TYPES:
            raise validation_error(f"Invalid property type {body['type']!r}")
        with self._lock:
            if body["name"] in self._properties[name]:
                raise HubSpotError(
                    409,
                    error_body(
                        f"A property named '{body['name']}' already exists.",
                        "OBJECT_ALREADY_EXISTS",
                    ),
                )
            if body["groupName"] not in self._groups[name]:
                raise validation_error(f"Property group '{body['groupName']}' does not exist")
            prop = self._property_from(body, now_ms, len(self._properties[name]))
            self._properties[name][prop["name"]] = prop
            self.journal.append(["create_property", name, body, now_ms])
            return copy.deepcopy(prop)

    @staticmethod
    def _property_from(body: dict[str, Any], now_ms: int, order: int) -> dict[str, Any]:
        options = [
            {
                "label": o["label"],
                "value": o["value"],
                "displayOrder": o.get("displayOrder", i),
                "hidden": bool(o.get("hidden", False)),
                **({"description": o["description"]} if o.get("description") else {}),
            }
            for i, o in enumerate(body.get("options") or [])
        ]
        return {
            "name": body["name"],
            "label": body["label"],
            "type": body["type"],
            "fieldType": body["fieldType"],
            "description": body.get("description", ""),
            "groupName": body["groupName"],
            "options": options,
            "displayOrder": body.get("displayOrder", order),
            "calculated": False,
            "externalOptions": bool(body.get("externalOptions", False)),
            "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
            "dataSensitivity": body.get("dataSensitivity") or "non_sensitive",
            **_categories(body),
            "hidden": bool(body.get("hidden", False)),
            "hubspotDefined": False,
            "formField": bool(body.get("formField", True)),
            "archived": False,
            "createdAt": iso_ms(now_ms),
            "updatedAt": iso_ms(now_ms),
            "modificationMetadata": {
                "archivable": True,
                "readOnlyDefinition": False,
                "readOnlyValue": False,
            },
        }

    def update_property(
        self, name: str, prop: str, body: dict[str, Any], now_ms: int
    ) -> dict[str, Any]:
        """Apply a PropertyUpdate (``hasUniqueValue`` and ``name`` cannot change)."""
        with self._lock:
            current = self._properties[name].get(prop)
            if current is None:
                raise _property_not_found(prop, name)
            if current["modificationMetadata"]["readOnlyDefinition"]:
                raise validation_error(f"Property '{prop}' is HubSpot-defined and read-only")
            merged = {**current, **{k: v for k, v in body.items() if k not in ("name",)}}
            updated = self._property_from(merged, now_ms, current["displayOrder"])
            updated["hasUniqueValue"] = current["hasUniqueValue"]
            updated["createdAt"] = current.get("createdAt", updated["createdAt"])
            self._properties[name][prop] = updated
            self.journal.append(["update_property", name, prop, body, now_ms])
            return copy.deepcopy(updated)

    # -- groups ---------------------------------------------------------------------------

    def groups(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._groups[name].values()))

    def group(self, name: str, group: str) -> dict[str, Any]:
        with self._lock:
            found = self._groups[name].get(group)
        if found is None:
            raise HubSpotError(
                404, error_body(f"Unable to find property group {group}", "OBJECT_NOT_FOUND")
            )
        return dict(found)

    def create_group(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("name") or not body.get("label"):
            raise validation_error("A property group needs 'name' and 'label'")
        with self._lock:
            if body["name"] in self._groups[name]:
                raise HubSpotError(
                    409,
                    error_body(f"A group named '{body['name']}' already exists.", "CONFLICT"),
                )
            group = {
                "name": body["name"],
                "label": body["label"],
                "displayOrder": body.get("displayOrder", -1),
                "archived": False,
            }
            self._groups[name][group["name"]] = group
            self.journal.append(["create_group", name, body])
            return dict(group)

    # -- custom objects -------------------------------------------------------------------

    def create_custom_object(
        self, egg: dict[str, Any], now_ms: int, *, preload: bool = False
    ) -> dict[str, Any]:
        """Define a custom object from an ObjectSchemaEgg; returns the ObjectSchema JSON."""
        name = egg.get("name")
        if not name or not egg.get("labels"):
            raise validation_error("An object schema needs 'name' and 'labels'")
        with self._lock:
            if name.lower() in self._aliases:
                raise HubSpotError(
                    409,
                    error_body(f"Object type with name '{name}' already exists", "CONFLICT"),
                )
            type_id = egg.get("objectTypeId") or f"2-{self._next_custom}"
            self._next_custom += 1
            fqn = f"p{PORTAL_ID}_{name}"
            singular = egg["labels"].get("singular") or name
            self._register(name, type_id, singular.lower(), (type_id, fqn, f"p_{name}"))
            group = f"{name.rstrip('s')}_information"
            self._groups[name].setdefault(
                group, {"name": group, "label": "Information", "displayOrder": 0, "archived": False}
            )
            for prop in egg.get("properties") or []:
                if prop["name"] not in self._properties[name]:
                    body = {"groupName": group, **prop}
                    self._properties[name][prop["name"]] = self._property_from(body, now_ms, 99)
            self._custom[name] = _schema_json(egg, type_id, fqn, now_ms)
            if not preload:
                self.journal.append(["create_custom_object", egg, now_ms])
            return self.custom_object(name)

    def custom_object(self, name: str) -> dict[str, Any]:
        with self._lock:
            schema = copy.deepcopy(self._custom[name])
            schema["properties"] = copy.deepcopy(list(self._properties[name].values()))
            return schema

    def custom_object_names(self) -> list[str]:
        with self._lock:
            return list(self._custom)

    def replay(self, journal: list[list[Any]]) -> None:
        """Redo the definitions of a saved :attr:`journal` (on a fresh registry)."""
        for op, *args in journal:
            getattr(self, op)(*args)


def _schema_json(egg: dict[str, Any], type_id: str, fqn: str, now_ms: int) -> dict[str, Any]:
    """ObjectSchema JSON (without properties) for a custom object made from ``egg``."""
    schema = {
        "id": type_id.split("-", 1)[1],
        "objectTypeId": type_id,
        "fullyQualifiedName": fqn,
        "name": egg["name"],
        "labels": egg["labels"],
        "requiredProperties": list(egg.get("requiredProperties") or []),
        "searchableProperties": list(egg.get("searchableProperties") or []),
        "secondaryDisplayProperties": list(egg.get("secondaryDisplayProperties") or []),
        "associations": [],
        "archived": False,
        "createdAt": iso_ms(now_ms),
        "updatedAt": iso_ms(now_ms),
    }
    if egg.get("primaryDisplayProperty"):
        schema["primaryDisplayProperty"] = egg["primaryDisplayProperty"]
    return schema


def _categories(body: dict[str, Any]) -> dict[str, Any]:
    """A sensitive property is classed HIPAA (the only category the sandbox knows)."""
    if (body.get("dataSensitivity") or "non_sensitive") == "non_sensitive":
        return {}
    return {"sensitiveDataCategories": list(body.get("sensitiveDataCategories") or ["HIPAA"])}


def _property_not_found(prop: str, name: str) -> HubSpotError:
    return HubSpotError(
        404,
        error_body(f"Unable to find property {prop} for object type {name}", "OBJECT_NOT_FOUND"),
    )
