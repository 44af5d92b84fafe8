"""Native schema description: what a connector's ``describe`` returns.

Pure data, so that mapping validation (``--online``) can compare a mapping to a live schema
without importing any connector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mapping.errors import SchemaMismatch

__all__ = ["GENERIC", "GENERIC_KINDS", "Dialect", "FieldSchema", "Kind", "ObjectSchema"]

Kind = Literal["string", "number", "boolean", "datetime", "date", "list"]
"""The coarse kind of a native type, what mapping validation compares."""

GENERIC_KINDS: Mapping[str, Kind] = {
    "string": "string",
    "text": "string",
    "number": "number",
    "integer": "number",
    "boolean": "boolean",
    "datetime": "datetime",
    "date": "date",
    "list": "list",
}
"""Type names every dialect understands (a connector adds its own)."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one system spells what the vendor-free core handles; the connector supplies it
    (``Connector.dialect``, and on every :class:`ObjectSchema` its ``describe`` returns).

    - ``kinds``: the system's own type names -> :data:`Kind` (on top of
      :data:`GENERIC_KINDS`); a type named in neither is not compared;
    - ``flat_prefixes``: native paths that are one flat key although dotted (a HubSpot
      ``associations.contact``), where other dotted paths nest as relations
      (``Partner__r.Refsync_Id__c`` -> ``{"Partner__r": {"Refsync_Id__c": ...}}``);
    - ``lookup_rules``: how the relation of a dotted path names the field holding the link,
      as ``(suffix, replacement)`` tried in order (the first whose suffix ends the relation
      wins; ``("", "")`` means the relation *is* the field);
    - ``envelope_keys``: keys the system adds to every record (and nested relation) that are
      not fields (Salesforce's ``attributes``): ignored when comparing records.
    """

    name: str = "generic"
    kinds: Mapping[str, Kind] = field(default_factory=dict)
    flat_prefixes: tuple[str, ...] = ()
    lookup_rules: tuple[tuple[str, str], ...] = (("", ""),)
    envelope_keys: frozenset[str] = frozenset()

    def kind(self, type_name: str) -> Kind | None:
        """The coarse kind of native ``type_name``, None if this dialect does not know it."""
        lowered = type_name.lower()
        return self.kinds.get(lowered) or GENERIC_KINDS.get(lowered)

    def is_flat(self, path: str) -> bool:
        """Whether dotted native ``path`` is one flat key (no relation to nest)."""
        return path.startswith(self.flat_prefixes) if self.flat_prefixes else False

    def lookup_field(self, relation: str) -> str:
        """The field that holds the link a relation name follows."""
        for suffix, replacement in self.lookup_rules:
            if relation.endswith(suffix):
                return relation[: len(relation) - len(suffix)] + replacement
        return relation


GENERIC = Dialect()
"""Plain names: dotted paths nest, a relation is its own lookup field, no envelope."""


@dataclass(frozen=True, slots=True)
class FieldSchema:
    name: str
    type: str  # the system's own type name: string, picklist, datetime, enumeration, ...
    label: str | None = None
    length: int | None = None
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    required: bool = False
    external_id: bool = False
    unique: bool = False
    picklist_values: tuple[str, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    calculated: bool = False  # a formula/roll-up the system computes: never written


@dataclass(frozen=True, slots=True)
class ObjectSchema:
    name: str
    fields: Mapping[str, FieldSchema] = field(default_factory=dict)
    dialect: Dialect = GENERIC

    def field(self, name: str) -> FieldSchema:
        try:
            return self.fields[name]
        except KeyError:
            raise SchemaMismatch(
                f"{self.name} has no field {name!r} visible to the integration user; "
                "create it, grant field-level access, or fix the mapping"
            ) from None
