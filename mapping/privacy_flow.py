"""Validation by data flow: what each destination field can receive, and whether its tier
may hold it (pure).

A value's classes at a canonical path are the path's own class (:data:`FIELD_CLASSES`)
plus the class of every native field any connection reads into it (``mrn`` read into
``reason`` makes ``reason`` carry a direct identifier, whatever ``reason`` is classed as):
what the connection's connector declares (``native``, given as data by the caller), else
what the field's name says.
A destination field then carries those classes through its transform chain; a
``value_map`` that can only send the values it lists (strict, or with a default) codes
the value, so only the operational code leaves. Every written field whose classes are not
all allowed by the connection's tier is a :class:`Flow` with ``allowed`` False and a
problem at the destination field, naming each route (source native field -> canonical
path -> destination native field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mapping.privacy import (
    TIER_ALLOWS,
    DataClass,
    NativeClasses,
    PrivacyTier,
    canonical_class,
    native_class,
)
from mapping.spec import FieldMapping, MappingSpec, resolve_path
from mapping.spec_check import Loc, SpecProblem
from mapping.transforms import TransformStep

__all__ = ["Flow", "Origin", "check_flows", "flows"]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a class enters the hub: a source connection's native field."""

    connection: str
    entity: str
    index: int
    native: str
    data_class: DataClass
    why: str

    @property
    def loc(self) -> Loc:
        return ("entities", self.entity, "fields", self.index, "native")


@dataclass(frozen=True, slots=True)
class Flow:
    """One destination field: what can reach it and whether its tier may hold it."""

    connection: str
    tier: PrivacyTier
    entity: str
    index: int
    canonical: str
    native: str
    classes: frozenset[DataClass]
    why: str
    origins: tuple[Origin, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        return self.classes <= TIER_ALLOWS[self.tier]

    @property
    def loc(self) -> Loc:
        return ("entities", self.entity, "fields", self.index, "canonical")


def _inbound(
    specs: Mapping[str, MappingSpec], native: Mapping[str, NativeClasses]
) -> dict[tuple[str, str], list[Origin]]:
    """(entity, canonical path) -> native fields of any connection read into it."""
    found: dict[tuple[str, str], list[Origin]] = {}
    for conn, spec in specs.items():
        declared = native.get(conn, {})
        for entity, em in spec.entities.items():
            for i, fm in enumerate(em.fields):
                if not fm.reads:
                    continue
                nc = native_class(declared, entity, fm.native)
                if nc is None or nc.data_class is DataClass.OPERATIONAL:
                    continue
                origin = Origin(conn, entity, i, fm.native, nc.data_class, nc.why)
                found.setdefault((entity, fm.canonical), []).append(origin)
    return found


def _resolves(entity: str, path: str) -> bool:
    """Unknown paths are reported by the canonical cross-check; no flow is claimed for them."""
    try:
        resolve_path(entity, path)
    except KeyError:
        return False
    return True


def _codes(step: TransformStep) -> bool:
    """True when the step can only send values the admin listed (a closed code set)."""
    if step.name != "value_map" or not isinstance(step.args, Mapping):
        return False
    args = step.args
    if "map" in args and isinstance(args["map"], Mapping):
        return bool(args.get("strict", True)) or "default" in args
    return True  # the short form is strict


def flows(
    specs: Mapping[str, MappingSpec],
    tiers: Mapping[str, PrivacyTier],
    native: Mapping[str, NativeClasses] | None = None,
) -> list[Flow]:
    """Every written field of every mapping, with the classes that can reach it.

    ``native`` maps a connection to what its connector declares its native fields hold
    (:data:`~mapping.privacy.NativeClasses`); a connection missing from it declares nothing.
    """
    inbound = _inbound(specs, native or {})
    out: list[Flow] = []
    for conn, spec in specs.items():
        tier = tiers.get(conn, PrivacyTier.DEIDENTIFIED)
        for entity, em in spec.entities.items():
            for i, fm in enumerate(em.fields):
                if fm.writes and _resolves(entity, fm.canonical):
                    out.append(_flow(conn, tier, entity, i, fm, inbound))
    return out


def _flow(
    conn: str,
    tier: PrivacyTier,
    entity: str,
    i: int,
    fm: FieldMapping,
    inbound: Mapping[tuple[str, str], list[Origin]],
) -> Flow:
    own = canonical_class(entity, fm.canonical)
    origins = tuple(o for o in inbound.get((entity, fm.canonical), []) if o.connection != conn)
    if any(_codes(step) for step in fm.transforms):
        return Flow(conn, tier, entity, i, fm.canonical, fm.native,
                    frozenset({DataClass.OPERATIONAL}), "coded by value_map: only listed values "
                    "leave")  # fmt: skip
    classes = frozenset({own.data_class, *(o.data_class for o in origins)})
    return Flow(conn, tier, entity, i, fm.canonical, fm.native, classes, own.why, origins)


def check_flows(
    specs: Mapping[str, MappingSpec],
    tiers: Mapping[str, PrivacyTier],
    where: Mapping[str, str] | None = None,
    native: Mapping[str, NativeClasses] | None = None,
) -> list[tuple[str, SpecProblem]]:
    """(connection, problem) for every field that would send what its tier may not hold.

    ``where`` maps a connection name and an origin's loc to ``file:line`` for the
    message (the caller knows files; this module does no I/O): keys ``conn|entity|i``.
    ``native`` is as for :func:`flows`.
    """
    problems: list[tuple[str, SpecProblem]] = []
    for flow in flows(specs, tiers, native):
        if not flow.allowed:
            problems.append((flow.connection, SpecProblem(flow.loc, _message(flow, where or {}))))
    return problems


def _message(flow: Flow, where: Mapping[str, str]) -> str:
    bad = sorted(c.value for c in flow.classes - TIER_ALLOWS[flow.tier])
    name = f"{flow.entity}.{flow.canonical}"
    routes = [
        _route(o, name, flow.native, where) for o in flow.origins if o.data_class.value in bad
    ]
    via = f"; routes: {'; '.join(routes)}" if routes else ""
    own = canonical_class(flow.entity, flow.canonical)
    is_phi = own.data_class.value in bad
    head = (
        f"{name} is PHI ({own.data_class.value}: {own.why})"
        if is_phi
        else f"{name} can carry {', '.join(bad)} read from a source"
    )
    return (
        f"{head} and would be sent to connection {flow.connection!r} as {flow.native}, whose "
        f"privacy tier is {flow.tier.value} (it may hold "
        f"{', '.join(sorted(c.value for c in TIER_ALLOWS[flow.tier]))}){via}; fix: "
        f"{_fix(flow, bad)}"
    )


def _route(origin: Origin, name: str, native: str, where: Mapping[str, str]) -> str:
    at = where.get(f"{origin.connection}|{origin.entity}|{origin.index}")
    source = f"{origin.connection} {origin.native} ({origin.data_class.value}"
    source += f", {at})" if at else ")"
    return f"{source} -> {name} -> {native}"


def _fix(flow: Flow, bad: list[str]) -> str:
    steps = ["remove this field or set direction: in"]
    if DataClass.QUASI_IDENTIFIER.value in bad and flow.entity == "referral":
        steps.append(
            "send a derived field instead (received_month, received_week, "
            "stage_entered_week, days_to_schedule, days_to_complete, days_to_close_loop)"
        )
    if DataClass.CLINICAL_TEXT.value in bad:
        steps.append("code it with a strict value_map")
    if flow.origins:
        steps.append("or stop reading the PHI source field into this canonical field")
    if flow.tier is PrivacyTier.DEIDENTIFIED and set(bad) <= {DataClass.QUASI_IDENTIFIER.value}:
        steps.append("or, under a data use agreement, set privacy: limited and "
                     "data_use_agreement: on the connection")  # fmt: skip
    else:
        steps.append("or, under a business associate agreement, set privacy: full and baa: "
                     "on the connection")  # fmt: skip
    return ", ".join(steps)
