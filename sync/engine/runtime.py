"""Open a program directory and build what a run needs: settings, connectors, ownership.

This is where ``config`` (which never imports a connector) meets ``connectors``: what each
connection type declares (settings model, privacy) comes from the connector registry
(:mod:`sync.engine.declared`), so every connection's settings are validated, with every
problem reported, before any API call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from config.loader import Program
from config.secrets import environment
from connectors.base import Connector, SettingRole, settings_with_role
from connectors.registry import connector_class
from mapping.errors import ConfigurationError
from mapping.model import Stage
from mapping.privacy import PrivacyTier
from sync.engine.declared import RegistrySettings, load_declared
from sync.engine.merge import Ownership
from sync.privacy_report import output_problems
from sync.privacy_tiers import phi_fields, tier_problems

__all__ = [
    "ConnectorFactory",
    "RegistrySettings",
    "Runtime",
    "open_program",
    "ownership_of",
]

ConnectorFactory = Callable[[str, Program], Connector]
"""Builds the connector of one connection (tests inject sandbox-backed ones)."""


def open_program(
    directory: str | os.PathLike[str], *, env: Mapping[str, str] | None = None
) -> Program:
    """Load and validate ``directory`` with each connection type's settings model, and the
    tiers of its output files (a run never writes what a tier may not hold)."""
    program = load_declared(directory, env=env)
    problems = output_problems(program) + tier_problems(program)
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ConfigurationError(
            f"{len(problems)} configuration {noun} in {program.root}", problems=problems
        )
    return program


def default_factory(name: str, program: Program) -> Connector:
    """Build connection ``name`` from its validated settings: the fields its settings model
    declares as program paths rooted at the program directory, its declared timezone field
    defaulted to the program's."""
    conn = program.config.connections[name]
    cls = connector_class(conn.type)
    settings = program.settings[name]
    if not isinstance(settings, BaseModel):
        settings = cls.settings_model.model_validate(settings)
    settings = _rooted(settings, program.root)
    unset = [
        zone
        for zone in settings_with_role(type(settings), SettingRole.TIMEZONE)
        if settings.model_dump(include={zone})[zone] is None
    ]
    if unset and program.config.timezone is not None:
        settings = settings.model_copy(update=dict.fromkeys(unset, program.config.timezone))
    phi_settings = settings_with_role(type(settings), SettingRole.PHI_FIELDS)
    if phi_settings and conn.tier is PrivacyTier.FULL:
        targets = phi_fields(program, name)  # where the mappings send PHI
        settings = settings.model_copy(update=dict.fromkeys(phi_settings, targets))
    # Secrets a connector reads by name (the scheduling patient key) may live in DIR/.env
    # like every ${VAR} of refsync.yaml; the process environment wins.
    return cls.create(settings, environ=environment(program.root))


def _rooted(settings: BaseModel, root: Path) -> BaseModel:
    """Relative path settings joined to the program directory, made absolute.

    ``load_program`` already did this for settings it loaded (they are absolute, so this is
    a no-op for them); it only matters for a Program built by hand. Never joins twice.
    """
    base = Path(root).expanduser().resolve()
    updates: dict[str, object] = {}
    names = settings_with_role(type(settings), SettingRole.PROGRAM_PATH)
    for name, value in settings.model_dump(include=set(names)).items():
        if isinstance(value, str | Path) and str(value) and not Path(value).is_absolute():
            joined = base / Path(value).expanduser()
            updates[name] = joined if isinstance(value, Path) else str(joined)
    return settings.model_copy(update=updates) if updates else settings


def ownership_of(program: Program) -> Ownership:
    """Who owns which canonical field and stage, from the ``owned:``/``owns:`` of every mapping."""
    fields: dict[str, dict[str, str]] = {}
    stage: dict[str, dict[Stage, str]] = {}
    for conn, spec in program.mappings.items():
        for entity, em in spec.entities.items():
            for fm in em.fields:
                if fm.owned:
                    fields.setdefault(entity, {})[fm.canonical] = conn
            if em.stage is not None:
                for owned in em.stage.owned_stages:
                    stage.setdefault(entity, {})[owned] = conn
    return Ownership(fields=fields, stage=stage)


@dataclass
class Runtime:
    """A loaded program plus the connectors built so far (built lazily, closed together)."""

    program: Program
    factory: ConnectorFactory = default_factory
    _connectors: dict[str, Connector] = field(default_factory=dict)

    def connector(self, name: str) -> Connector:
        if name not in self._connectors:
            self._connectors[name] = self.factory(name, self.program)
        return self._connectors[name]

    def close(self) -> None:
        for conn in self._connectors.values():
            conn.close()
        self._connectors.clear()
