"""``describe`` results as :class:`mapping.schema.ObjectSchema`, cached per connector.

Relationship paths used by mappings (``Partner__r.Refsync_Id__c``: a lookup set or read
through the parent's external id) are described too, as entries named ``<relationship>.<field>``
for every external-id field of every object the lookup can point at. A field the integration
user cannot see is missing from describe: :meth:`SchemaCache.require` reports it as a
:class:`SchemaMismatch` naming object, field and fix, so it is never read as silently empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from mapping.errors import ConnectorError, SchemaMismatch
from mapping.schema import Dialect, FieldSchema, ObjectSchema

SALESFORCE_DIALECT = Dialect(
    name="salesforce",
    kinds={
        **dict.fromkeys(
            ["textarea", "email", "phone", "url", "id", "combobox", "encryptedstring"],
            "string",
        ),
        **dict.fromkeys(["picklist", "reference"], "string"),
        **dict.fromkeys(["int", "long", "double", "currency", "percent"], "number"),
        "multipicklist": "list",
    },
    lookup_rules=(("__r", "__c"), ("", "Id")),  # Partner__r -> Partner__c, Account -> AccountId
    envelope_keys=frozenset({"attributes"}),
)
"""How Salesforce spells types, relations (``Partner__r.Refsync_Id__c``) and records."""

__all__ = ["SALESFORCE_DIALECT", "SchemaCache", "field_schema"]

Describe = Callable[[str], dict[str, Any]]
_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")


def field_schema(raw: dict[str, Any]) -> FieldSchema:
    """One describe field entry as a FieldSchema."""
    nillable = bool(raw.get("nillable", True))
    createable = bool(raw.get("createable", False))
    return FieldSchema(
        name=raw["name"],
        type=raw.get("type", "string"),
        label=raw.get("label"),
        length=raw.get("length") or None,
        createable=createable,
        updateable=bool(raw.get("updateable", False)),
        nillable=nillable,
        required=not nillable and createable and not raw.get("defaultedOnCreate", False),
        external_id=bool(raw.get("externalId", False)),
        unique=bool(raw.get("unique", False)),
        picklist_values=tuple(
            str(p["value"]) for p in raw.get("picklistValues") or () if p.get("active", True)
        ),
        restricted_picklist=bool(raw.get("restrictedPicklist", False)),
        reference_to=tuple(raw.get("referenceTo") or ()),
        calculated=bool(raw.get("calculated", False)),
    )


class SchemaCache:
    """Describes objects once per connector; resolves plain and relationship fields."""

    def __init__(self, describe: Describe) -> None:
        self._describe = describe
        self._raw: dict[str, dict[str, Any]] = {}
        self._schemas: dict[str, ObjectSchema] = {}

    def base(self, object_name: str) -> ObjectSchema:
        """The object's own fields (one describe call, then cached)."""
        if not _API_NAME.fullmatch(object_name):
            # Object names go into URL paths and SOQL: only API names get that far.
            raise SchemaMismatch(
                f"{object_name!r} is not a Salesforce object API name; fix the mapping's object"
            )
        if object_name not in self._schemas:
            raw = self._describe(object_name)
            self._raw[object_name] = raw
            fields = {f["name"]: field_schema(f) for f in raw.get("fields", ())}
            self._schemas[object_name] = ObjectSchema(
                name=object_name, fields=fields, dialect=SALESFORCE_DIALECT
            )
        return self._schemas[object_name]

    def relationships(self, object_name: str) -> dict[str, FieldSchema]:
        """Lookup fields by relationship name (``Partner__r`` -> the ``Partner__c`` field)."""
        self.base(object_name)
        out = {}
        for raw in self._raw[object_name].get("fields", ()):
            rel = raw.get("relationshipName")
            if rel and raw.get("referenceTo"):
                out[rel] = field_schema(raw)
        return out

    def full(self, object_name: str) -> ObjectSchema:
        """Own fields plus ``<relationship>.<external id>`` entries for writable lookups."""
        base = self.base(object_name)
        fields = dict(base.fields)
        for rel, lookup in self.relationships(object_name).items():
            if lookup.createable or lookup.updateable:
                fields.update(self._relation_entries(rel, lookup))
        return ObjectSchema(name=object_name, fields=fields, dialect=SALESFORCE_DIALECT)

    def read_paths(self, object_name: str) -> dict[str, FieldSchema]:
        """``<relationship>.<external id>`` entries of every lookup, read-only ones too
        (``Account.Refsync_Id__c`` through an activity's derived ``AccountId``)."""
        out: dict[str, FieldSchema] = {}
        for rel, lookup in self.relationships(object_name).items():
            out.update(self._relation_entries(rel, lookup))
        return out

    def visible(self, object_name: str, name: str) -> bool:
        """Whether the integration user can read ``name`` (a field or lookup path)."""
        return self._visible(object_name, self.base(object_name), name)

    def _relation_entries(self, rel: str, lookup: FieldSchema) -> dict[str, FieldSchema]:
        out = {}
        for target in lookup.reference_to:
            try:
                target_schema = self.base(target)
            except (SchemaMismatch, ConnectorError):
                continue  # a target the user cannot describe offers no external ids
            for name, fs in target_schema.fields.items():
                if fs.external_id:
                    out[f"{rel}.{name}"] = FieldSchema(
                        name=f"{rel}.{name}",
                        type="reference",
                        label=lookup.label,
                        length=fs.length,
                        createable=lookup.createable,
                        updateable=lookup.updateable,
                        external_id=True,
                        reference_to=(target,),
                    )
        return out

    def require(self, object_name: str, names: Iterable[str]) -> None:
        """SchemaMismatch naming every field of ``names`` the integration user cannot see."""
        base = self.base(object_name)
        missing = [n for n in names if not self._visible(object_name, base, n)]
        if missing:
            raise SchemaMismatch(
                f"Salesforce {object_name} has no field {', '.join(missing)} visible to the "
                "integration user; create it (refsync provision salesforce), grant "
                "field-level security to the integration user, or fix the mapping"
            )

    def _visible(self, object_name: str, base: ObjectSchema, name: str) -> bool:
        if "." not in name:
            return name in base.fields
        rel, _, target_field = name.partition(".")
        lookup = self.relationships(object_name).get(rel)
        if lookup is None or not _API_NAME.fullmatch(target_field):
            return False
        cached = [self._schemas[t] for t in lookup.reference_to if t in self._schemas]
        if not cached:
            # Not worth a describe call per parent object on every run: Salesforce itself
            # rejects an unknown far-side field (INVALID_FIELD -> SchemaMismatch).
            return True
        return any(target_field in schema.fields for schema in cached)
