"""What each connection's connector says of its privacy tier, before any API call.

The engine knows where a connection's mappings send PHI (:func:`phi_fields`, from the
privacy flows); the connector knows where its system may keep it. Its ``tier_problems``
hook says where the settings and the tier disagree (a ``privacy: full`` HubSpot must name
its sensitive-data level, and no other tier may), as configuration problems
(``file:line:col: message``) that ``validate`` reports and every run raises; a settings field
declared :attr:`~connectors.base.SettingRole.PHI_STORAGE` says where the system keeps PHI
(:func:`phi_storage`, for the privacy report).
"""

from __future__ import annotations

from pydantic import BaseModel

from config import CONFIG_FILE, Program, locate
from connectors.base import AT_TIER, Connector, SettingRole, settings_with_role
from connectors.registry import connector_class
from mapping.errors import RefsyncError
from mapping.privacy import DataClass
from mapping.privacy_flow import flows

__all__ = ["phi_fields", "phi_storage", "tier_problems"]

_CLEAR = frozenset({DataClass.OPERATIONAL, DataClass.COARSENED})


def phi_fields(program: Program, name: str) -> dict[str, list[str]]:
    """Native object -> the fields connection ``name`` is sent PHI in (sorted)."""
    tiers = {n: c.tier for n, c in program.config.connections.items()}
    spec = program.mappings.get(name)
    found: dict[str, set[str]] = {}
    for flow in flows(program.mappings, tiers, program.native_classes):
        if flow.connection == name and spec is not None and flow.classes - _CLEAR:
            obj = spec.entities[flow.entity].object  # type: ignore[index]
            found.setdefault(obj, set()).add(flow.native)
    return {obj: sorted(names) for obj, names in sorted(found.items())}


def phi_storage(program: Program, name: str) -> str | None:
    """Where connection ``name`` keeps PHI in its system (its PHI_STORAGE setting), if set."""
    conn = program.config.connections.get(name)
    settings = _validated(program, name, _connector_class(conn.type) if conn else None)
    if settings is None:
        return None
    values = settings.model_dump(
        include=set(settings_with_role(type(settings), SettingRole.PHI_STORAGE))
    )
    return next((str(v) for v in values.values() if v is not None), None)


def tier_problems(program: Program) -> list[str]:
    """``file:line:col: connection 'NAME': message; fix: ...`` for each connection whose
    connector finds its settings at odds with its tier (see the module docstring)."""
    config = program.root / CONFIG_FILE
    problems = []
    for name, conn in sorted(program.config.connections.items()):
        cls = _connector_class(conn.type)
        settings = _validated(program, name, cls)
        if cls is None or settings is None:
            continue  # an unknown type or invalid settings: the loader reported it
        for p in cls.tier_problems(settings, conn.tier, phi_fields(program, name)):
            at = p.at
            if at == AT_TIER:
                at = ("privacy",) if conn.privacy is not None else ("phi_allowed",)
            where = locate(config, ("connections", name, *at), str(config))
            problems.append(f"{where}: connection {name!r}: {p.message}; fix: {p.fix}")
    return problems


def _validated(program: Program, name: str, cls: type[Connector] | None) -> BaseModel | None:
    """Connection ``name``'s settings as its model holds them (None if they are invalid)."""
    settings = program.settings.get(name)
    if isinstance(settings, BaseModel) or cls is None:
        return settings if isinstance(settings, BaseModel) else None
    try:
        return cls.settings_model.model_validate(settings)
    except ValueError:
        return None


def _connector_class(type_name: str) -> type[Connector] | None:
    try:
        return connector_class(type_name)
    except (KeyError, RefsyncError):
        return None
