"""The mapping spec: what admins write in ``mappings/<connection>.yaml``.

A :class:`MappingSpec` says, per canonical entity, which native object carries it, which
native field is its match key, how each canonical field maps to a native field (direction,
chain of named transforms, ownership) and how stages translate (:class:`StageMap`). The
YAML shape is fixed in ``docs/contracts.md``.

The models only check shape. The cross-checks that need the canonical model (paths exist,
PHI may not leave for a non-PHI destination, stages have targets, ...) live in
:mod:`mapping.spec_check` and return problems with their location, so that the config
loader can report every one of them with its file, line and column.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    model_validator,
)
from pydantic.fields import FieldInfo

from mapping.model import EntityName, Stage, entity_model
from mapping.transforms import TRANSFORM_NAMES, TransformStep, parse_step

__all__ = [
    "Direction",
    "EntityMapping",
    "FieldMapping",
    "MappingSpec",
    "StageMap",
    "resolve_path",
]

Direction = Literal["in", "out", "both"]
"""``in``: native -> canonical; ``out``: canonical -> native; ``both``: either way."""


def _parse_step(raw: Any) -> Any:
    if isinstance(raw, TransformStep):
        return raw
    if not isinstance(raw, str | Mapping):
        raise ValueError(
            "a transform step is a name (strip) or a one-key mapping ({truncate: 255})"
        )
    return parse_step(raw)


def _none_as_empty(raw: Any) -> Any:
    return [] if raw is None else raw


def _steps_json_schema() -> dict[str, Any]:
    names = sorted(TRANSFORM_NAMES)
    return {
        "type": "array",
        "description": "Named transforms, applied in order outbound and inverted inbound.",
        "items": {
            "anyOf": [
                {"type": "string", "enum": names},
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "propertyNames": {"enum": names},
                },
            ]
        },
    }


TransformChain = Annotated[
    list[Annotated[TransformStep, BeforeValidator(_parse_step)]],
    BeforeValidator(_none_as_empty),
    WithJsonSchema(_steps_json_schema()),
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMapping(_Spec):
    """One canonical field <-> one native field."""

    canonical: str = Field(min_length=1, description="Dotted canonical path, e.g. address.city")
    native: str = Field(
        min_length=1, description="Native field; dotted for relations (Partner__r.Refsync_Id__c)"
    )
    direction: Direction = "both"
    transforms: TransformChain = Field(default_factory=list)
    owned: bool = Field(
        default=False, description="This connection owns the canonical field (one owner at most)"
    )

    @property
    def reads(self) -> bool:
        """True when the field is read in (native -> canonical)."""
        return self.direction in ("in", "both")

    @property
    def writes(self) -> bool:
        """True when the field is sent out (canonical -> native)."""
        return self.direction in ("out", "both")


class StageMap(_Spec):
    """Canonical stage <-> native value; ``inbound`` adds extra native values (many-to-one).

    Ownership is per stage: ``owns`` lists the stages this connection owns (a scheduling
    system the appointment outcomes, a CRM the intake stages); ``owned: true`` owns every
    stage. Each stage has at most one owner across the program.
    """

    native: str = Field(min_length=1)
    owned: bool = Field(default=False, description="Own every stage (prefer owns: [...])")
    owns: list[Stage] = Field(
        default_factory=list,
        description="The stages this connection owns, e.g. [scheduled, completed, cancelled]",
    )
    map: dict[Stage, str | None] = Field(default_factory=dict)
    inbound: dict[str, Stage] = Field(default_factory=dict)

    @property
    def owned_stages(self) -> tuple[Stage, ...]:
        """The stages this connection owns, in stage order."""
        if self.owns:
            return tuple(s for s in Stage if s in self.owns)
        return tuple(Stage) if self.owned else ()

    def native_value(self, stage: Stage) -> str | None:
        """The native value for ``stage``, or None when it has no target."""
        return self.map.get(stage)

    def canonical_stage(self, value: str) -> Stage | None:
        """The canonical stage for a native value (``inbound`` first), None if unknown."""
        if value in self.inbound:
            return self.inbound[value]
        for stage, target in self.map.items():
            if target == value:
                return stage
        return None


class EntityMapping(_Spec):
    """How one canonical entity maps onto one native object."""

    object: str = Field(min_length=1, description="Native object: sObject, HubSpot type, ...")
    key: str = Field(min_length=1, description="Native external-id field carrying the id")
    fields: list[FieldMapping] = Field(default_factory=list)
    stage: StageMap | None = None
    _entity: str = PrivateAttr(default="")

    @property
    def entity(self) -> str:
        """The canonical entity name (set by :class:`MappingSpec`, or :meth:`for_entity`)."""
        return self._entity

    def for_entity(self, entity: str) -> EntityMapping:
        """Bind this mapping to a canonical entity (done for you by :class:`MappingSpec`)."""
        entity_model(entity)  # KeyError naming the known entities
        self._entity = entity
        return self


class MappingSpec(_Spec):
    """A whole mapping file: one connection's view of the canonical entities."""

    system: str = Field(min_length=1)
    entities: dict[EntityName, EntityMapping]

    @model_validator(mode="after")
    def _bind_entities(self) -> MappingSpec:
        for name, em in self.entities.items():
            em.for_entity(name)
        return self


def resolve_path(entity: str, path: str) -> FieldInfo:
    """The model field at dotted canonical ``path`` of ``entity``.

    Walks nested models (``address.city``, ``patient.mrn``, ``qualification.status``).
    Raises ``KeyError`` with a message naming the unknown part and the closest match.
    """
    model: type[BaseModel] | None = entity_model(entity)
    info: FieldInfo | None = None
    done: list[str] = []
    for part in path.split("."):
        if model is None:
            raise KeyError(f"{entity}.{'.'.join(done)} has no sub-fields (asked for {part!r})")
        info = model.model_fields.get(part)
        if info is None:
            raise KeyError(_unknown_field(entity, done, part, model.model_fields))
        done.append(part)
        model = _submodel(info.annotation)
    assert info is not None  # path.split always yields at least one part
    return info


def _unknown_field(entity: str, done: list[str], part: str, known: Mapping[str, Any]) -> str:
    where = ".".join([entity, *done])
    hint = difflib.get_close_matches(part, list(known), n=1)
    suggestion = f" (did you mean {'.'.join([*done, hint[0]])!r}?)" if hint else ""
    return f"unknown canonical field {'.'.join([*done, part])!r} on {where}{suggestion}"


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The model class behind ``Model`` or ``Model | None`` (lists are not walked into)."""
    if typing.get_origin(annotation) in (list, set, tuple, dict):
        return None
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
