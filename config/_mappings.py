"""Mapping files: shape validation, then the canonical cross-checks on what is usable.

The cross-checks run even when the shape check failed, on a lenient reading that keeps
every field mapping which validates on its own, so a misspelt key in one field does not
hide a PHI leak in another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from config.problems import Loc, Problems, YamlFile, plain
from mapping.privacy import NativeClasses, PrivacyTier
from mapping.privacy_flow import check_flows
from mapping.spec import EntityMapping, FieldMapping, MappingSpec, StageMap
from mapping.spec_check import SpecProblem, check_mapping, check_ownership, check_refs

__all__ = ["LoadedMapping", "check_mappings", "read_mapping"]


@dataclass(slots=True)
class LoadedMapping:
    """One connection's mapping file: the strict spec (None if invalid) and a lenient one."""

    connection: str
    file: YamlFile
    spec: MappingSpec | None
    lenient: MappingSpec | None
    field_index: dict[str, list[int]] = field(default_factory=dict)

    def file_loc(self, loc: Loc) -> Loc:
        """Map a location in the lenient spec back to the file (dropped fields shift)."""
        if len(loc) >= 4 and loc[0] == "entities" and loc[2] == "fields":
            index = self.field_index.get(str(loc[1]), [])
            i = loc[3]
            if isinstance(i, int) and i < len(index):
                return (*loc[:3], index[i], *loc[4:])
        return loc


def read_mapping(connection: str, file: YamlFile, problems: Problems) -> LoadedMapping:
    """Shape-check ``file``; keep a lenient spec for the cross-checks in any case."""
    data = plain(file.doc) if file.doc is not None else None
    spec: MappingSpec | None = None
    if data is not None:
        try:
            spec = MappingSpec.model_validate(data)
        except ValidationError as exc:
            problems.add_validation(file, exc, MappingSpec)
    loaded = LoadedMapping(connection, file, spec, spec)
    if spec is None and isinstance(data, Mapping):
        loaded.lenient = _lenient_spec(data, loaded)
    elif spec is not None:
        loaded.field_index = {e: list(range(len(em.fields))) for e, em in spec.entities.items()}
    return loaded


def check_mappings(
    mappings: Mapping[str, LoadedMapping],
    *,
    tiers: Mapping[str, PrivacyTier],
    destinations: set[str],
    problems: Problems,
    native: Mapping[str, NativeClasses] | None = None,
) -> None:
    """Cross-check every mapping, field ownership across all of them, and the data flow
    from every source field to every destination field against the destination's tier
    (``native``: per connection, what its connector declares its native fields hold)."""
    lenient: dict[str, MappingSpec] = {}
    for name, loaded in mappings.items():
        if loaded.lenient is None:
            continue
        lenient[name] = loaded.lenient
        # PHI is checked by data flow below (per tier), not by the canonical-name rule.
        found = check_mapping(
            loaded.lenient, connection=name, phi_allowed=True, writes=name in destinations
        )
        _report(loaded, found, problems)
    for name, problem in [*check_ownership(lenient), *check_refs(lenient)]:
        _report(mappings[name], [problem], problems)
    for name, problem in check_flows(lenient, tiers, _origin_places(mappings), native):
        _report(mappings[name], [problem], problems)


def _origin_places(mappings: Mapping[str, LoadedMapping]) -> dict[str, str]:
    """``conn|entity|i`` -> ``file:line`` of every read field, for flow messages."""
    places: dict[str, str] = {}
    for name, loaded in mappings.items():
        if loaded.lenient is None:
            continue
        for entity, em in loaded.lenient.entities.items():
            for i in range(len(em.fields)):
                loc = loaded.file_loc(("entities", entity, "fields", i, "native"))
                line, _ = loaded.file.position(loc)
                places[f"{name}|{entity}|{i}"] = f"{loaded.file.display}:{line}"
    return places


def _report(loaded: LoadedMapping, found: list[SpecProblem], problems: Problems) -> None:
    for p in found:
        problems.add(loaded.file, loaded.file_loc(p.loc), p.message)


def _lenient_spec(data: Mapping[str, Any], loaded: LoadedMapping) -> MappingSpec | None:
    entities: dict[str, EntityMapping] = {}
    raw_entities = data.get("entities")
    if not isinstance(raw_entities, Mapping):
        return None
    for name, raw in raw_entities.items():
        em = _lenient_entity(str(name), raw, loaded)
        if em is not None:
            entities[str(name)] = em
    try:
        return MappingSpec.model_validate(
            {"system": data.get("system") or "?", "entities": entities}
        )
    except ValidationError:
        return None


def _lenient_entity(name: str, raw: Any, loaded: LoadedMapping) -> EntityMapping | None:
    if not isinstance(raw, Mapping):
        return None
    fields: list[FieldMapping] = []
    index: list[int] = []
    raw_fields = raw.get("fields")
    for i, raw_field in enumerate(raw_fields if isinstance(raw_fields, list) else []):
        fm = _lenient_field(raw_field)
        if fm is not None:
            fields.append(fm)
            index.append(i)
    stage: StageMap | None = None
    if raw.get("stage") is not None:
        try:
            stage = StageMap.model_validate(raw["stage"])
        except ValidationError:
            stage = None
    try:
        em = EntityMapping(
            object=str(raw.get("object") or "?"),
            key=str(raw.get("key") or "?"),
            fields=fields,
            stage=stage,
        ).for_entity(name)
    except (ValidationError, KeyError):
        return None
    loaded.field_index[name] = index
    return em


def _lenient_field(raw: Any) -> FieldMapping | None:
    if not isinstance(raw, Mapping):
        return None
    try:
        return FieldMapping.model_validate(raw)
    except ValidationError:
        pass
    known = {k: v for k, v in raw.items() if k in FieldMapping.model_fields and k != "transforms"}
    try:
        return FieldMapping.model_validate(known)
    except ValidationError:
        return None
