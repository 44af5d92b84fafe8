"""Cross-checks of a mapping against the canonical model (pure).

Shape is checked by the pydantic models in :mod:`mapping.spec`; these checks need the
canonical model: canonical paths exist, PHI is not sent to a connection that may not hold
it, every stage a destination may be sent has a native target, no native field is mapped
twice in one direction, and at most one connection owns each canonical field.

Every check returns :class:`SpecProblem` values whose ``loc`` is a path inside the mapping
file (``("entities", "referral", "fields", 3, "canonical")``), so the config loader can turn
it into ``file:line:col``. Nothing here raises on a bad mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mapping.model import Stage, is_phi_path
from mapping.spec import EntityMapping, FieldMapping, MappingSpec, resolve_path

__all__ = [
    "Loc",
    "SpecProblem",
    "check_entity",
    "check_mapping",
    "check_ownership",
    "check_refs",
]

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """One problem in a mapping file; ``loc`` is the path of the offending YAML node."""

    loc: Loc
    message: str


def check_mapping(
    spec: MappingSpec, *, connection: str, phi_allowed: bool, writes: bool
) -> list[SpecProblem]:
    """Every cross-check problem of one mapping file (locations from the file's root).

    ``writes`` says whether any job sends records to this connection (then every
    canonical stage needs a native target).
    """
    problems: list[SpecProblem] = []
    for entity, em in spec.entities.items():
        for p in check_entity(
            entity, em, connection=connection, phi_allowed=phi_allowed, writes=writes
        ):
            problems.append(SpecProblem(("entities", entity, *p.loc), p.message))
    return problems


def check_entity(
    entity: str,
    em: EntityMapping,
    *,
    connection: str,
    phi_allowed: bool,
    writes: bool,
) -> list[SpecProblem]:
    """Cross-check one entity mapping (locations relative to the entity's node)."""
    problems: list[SpecProblem] = []
    for i, fm in enumerate(em.fields):
        problems += _check_field(entity, em, i, fm, connection=connection, phi_allowed=phi_allowed)
    problems += _check_duplicates(em)
    if em.stage is not None:
        problems += _check_stage(entity, em, writes=writes)
    return problems


def check_ownership(specs: Mapping[str, MappingSpec]) -> list[tuple[str, SpecProblem]]:
    """At most one connection owns each canonical field and each entity's stage.

    ``specs`` maps connection name -> mapping; each problem is reported against the second
    (and later) claimant, naming the first.
    """
    owners: dict[tuple[str, str], str] = {}
    clashes: dict[tuple[str, str, Loc, str], list[str]] = {}
    for connection, spec in specs.items():
        for entity, em in spec.entities.items():
            for path, loc in _owned_paths(em):
                first = owners.setdefault((entity, path), connection)
                if first != connection:
                    clashes.setdefault((connection, entity, loc, first), []).append(path)
    return [
        (connection, SpecProblem(("entities", entity, *loc), _second_owner(entity, paths, first)))
        for (connection, entity, loc, first), paths in clashes.items()
    ]


def _second_owner(entity: str, paths: list[str], first: str) -> str:
    if paths[0].startswith("stage:"):
        stages = ", ".join(p.removeprefix("stage:") for p in paths)
        return (
            f"{entity} stage {stages} already owned by connection {first!r}; a stage has at "
            "most one owner: list it under owns: in one mapping only"
        )
    path = paths[0]
    return (
        f"{entity}.{path} is already owned by connection {first!r}; a canonical field has at "
        "most one owner: set owned: false here or there"
    )


def _owned_paths(em: EntityMapping) -> Iterable[tuple[str, Loc]]:
    seen: set[str] = set()
    for i, fm in enumerate(em.fields):
        if fm.owned and fm.canonical not in seen:
            seen.add(fm.canonical)
            yield fm.canonical, ("fields", i, "owned")
    if em.stage is not None:
        key = "owns" if em.stage.owns else "owned"
        for stage in em.stage.owned_stages:
            yield f"stage:{stage.value}", ("stage", key)


def _check_field(
    entity: str,
    em: EntityMapping,
    i: int,
    fm: FieldMapping,
    *,
    connection: str,
    phi_allowed: bool,
) -> list[SpecProblem]:
    at: Loc = ("fields", i)
    try:
        resolve_path(entity, fm.canonical)
    except KeyError as exc:
        return [SpecProblem((*at, "canonical"), str(exc.args[0]))]
    name = f"{entity}.{fm.canonical}"
    rules: list[tuple[bool, str, str]] = [
        (
            fm.writes and not phi_allowed and is_phi_path(entity, fm.canonical),
            "canonical",
            f"{name} is PHI and would be sent to connection {connection!r}, which has "
            "phi_allowed: false; set direction: in, remove this field, or set "
            "phi_allowed: true on the connection if it may hold PHI",
        ),
        (
            fm.owned and not fm.reads,
            "owned",
            f"{name} is owned here but direction is out, so this connection never sends "
            "it; use direction: both or owned: false",
        ),
        (
            fm.canonical == "stage" and em.stage is not None,
            "canonical",
            "stage is mapped by the entity's stage: block; remove this field",
        ),
        (
            fm.writes and fm.native == em.key and fm.canonical != "id",
            "native",
            f"{fm.native} is the match key and carries the canonical id; map "
            f"{fm.canonical} to another native field",
        ),
    ]
    return [SpecProblem((*at, key), message) for broken, key, message in rules if broken]


def _check_duplicates(em: EntityMapping) -> list[SpecProblem]:
    problems: list[SpecProblem] = []
    for direction in ("in", "out"):
        natives: dict[str, int] = {}
        canonicals: dict[str, int] = {}
        for i, fm in enumerate(em.fields):
            if not (fm.reads if direction == "in" else fm.writes):
                continue
            first = natives.setdefault(fm.native, i)
            if first != i:
                problems.append(_dupe(i, "native", fm.native, direction, first))
            elif direction == "in":
                first = canonicals.setdefault(fm.canonical, i)
                if first != i:
                    problems.append(_dupe(i, "canonical", fm.canonical, direction, first))
        if em.stage is not None and em.stage.native in natives:
            i = natives[em.stage.native]
            message = f"native field {em.stage.native} is the stage field; map it only in stage:"
            problems.append(SpecProblem(("fields", i, "native"), message))
    return problems


def _dupe(i: int, side: str, name: str, direction: str, first: int) -> SpecProblem:
    verb = "read (direction in/both)" if direction == "in" else "written (direction out/both)"
    return SpecProblem(
        ("fields", i, side),
        f"{side} field {name} is already {verb} by fields[{first}]; map it once per direction",
    )


def _check_stage(entity: str, em: EntityMapping, *, writes: bool) -> list[SpecProblem]:
    stage = em.stage
    assert stage is not None
    if entity != "referral":
        return [SpecProblem(("stage",), f"{entity} has no stage; only referral does")]
    problems: list[SpecProblem] = []
    by_value: dict[str, Stage] = {}
    for canonical, target in stage.map.items():
        if target is None or not str(target).strip():
            problems.append(
                SpecProblem(
                    ("stage", "map", canonical.value),
                    f"stage {canonical.value} has no target; give its native {stage.native} value",
                )
            )
            continue
        first = by_value.setdefault(target, canonical)
        if first != canonical and target not in stage.inbound:
            problems.append(
                SpecProblem(
                    ("stage", "map", canonical.value),
                    f"native value {target!r} is the target of both {first.value} and "
                    f"{canonical.value}; add it to inbound: to say which stage it reads as",
                )
            )
    missing = [s.value for s in Stage if s not in stage.map]
    if writes and missing:
        problems.append(
            SpecProblem(
                ("stage", "map"),
                f"stages without a target in {stage.native}: {', '.join(missing)}; this "
                "connection receives referrals, so every stage needs a native value",
            )
        )
    return problems


def check_refs(specs: Mapping[str, MappingSpec]) -> list[tuple[str, SpecProblem]]:
    """Every inbound ``{ref: E}`` can resolve: the hub turns a native id of E into refsync's
    id through the links of the connection that reads it, so that connection must map E."""
    found: list[tuple[str, SpecProblem]] = []
    for connection, spec in specs.items():
        for entity, em in spec.entities.items():
            for i, fm in enumerate(em.fields):
                for j, step in enumerate(fm.transforms):
                    target = _ref_target(step.name, step.args)
                    if target is None or not fm.reads or target in spec.entities:
                        continue
                    loc: Loc = ("entities", entity, "fields", i, "transforms", j)
                    found.append((connection, SpecProblem(loc, _unresolvable(entity, fm, target))))
    return found


def _ref_target(name: str, args: object) -> str | None:
    if name != "ref":
        return None
    return str(args.get("entity")) if isinstance(args, dict) else str(args)


def _unresolvable(entity: str, fm: FieldMapping, target: str) -> str:
    return (
        f"{entity}.{fm.canonical} reads {fm.native} with {{ref: {target}}}, but this mapping "
        f"has no {target} entity, so its {target} ids can never be resolved to refsync ids; "
        f"map {target} in this file (and sync it before), or drop the ref if {fm.native} "
        "already holds refsync's id"
    )
