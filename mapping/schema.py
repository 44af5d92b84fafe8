"""Native schema description: what a connector's ``describe`` returns.

Pure data, so that mapping validation (``--online``) can compare a mapping to a live schema
without importing any connector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mapping.errors import SchemaMismatch

__all__ = ["FieldSchema", "ObjectSchema"]


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

    def field(self, name: str) -> FieldSchema:
        try:
            return self.fields[name]
        except KeyError:
            raise SchemaMismatch(
                f"{self.name} has no field {name!r} visible to the integration user; "
                "create it, grant field-level access, or fix the mapping"
            ) from None
