"""Is a program ready to plan and run? What `refsync validate` checks beyond the YAML.

``local_findings`` looks at what ``plan`` and ``run`` would trip over on this machine without
calling any API: each scheduling source's export folder (missing is an error, empty a
warning: the run would read 0 records), the patient key its matching needs, output folders
that must be writable, and key and CA files named in settings. ``online_findings`` adds what
only the live systems can say: authentication, every mapped object and field, what a connector
that provisions (PROVISION) would still make, and what its ``access_problems`` hook finds
(a HubSpot token without the sensitive scopes). Every finding
names the command or edit that fixes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from config import Program, locate
from config.secrets import environment
from connectors.base import Capability, Connector, SettingRole, settings_with_role
from connectors.registry import connector_class
from mapping.errors import RefsyncError
from mapping.schema import ObjectSchema
from mapping.schema_check import schema_problems
from sync.engine.runtime import Runtime
from sync.privacy_tiers import phi_fields

__all__ = ["Finding", "empty_export_folders", "local_findings", "online_findings"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing that stops (or, as a warning, empties) a plan or run, and how to fix it."""

    where: str
    message: str
    fix: str
    warning: bool = False

    def __str__(self) -> str:
        level = "warning: " if self.warning else ""
        return f"{self.where}: {level}{self.message}\n    fix: {self.fix}"


def local_findings(program: Program, env: Mapping[str, str] | None = None) -> list[Finding]:
    """What plan/run would stop on (or read nothing from) on this machine; no API call."""
    variables = environment(program.root, env)
    found: list[Finding] = []
    for name in program.config.connections:
        settings = program.settings.get(name)
        found += _declared_problems(program, name, variables)
        found += _output_folder(program, name, settings)
        found += _named_files(program, name, settings)
    return found


def empty_export_folders(program: Program, sources: list[str]) -> list[Finding]:
    """What would leave ``sources`` reading nothing (plan and run say why they read 0)."""
    found: list[Finding] = []
    for name in sources:
        found += _declared_problems(program, name, {}, only_empty=True)
    return found


def _declared_problems(
    program: Program, name: str, variables: Mapping[str, str], *, only_empty: bool = False
) -> list[Finding]:
    """The problems the connection's connector finds on this machine (its
    ``local_problems`` hook), as findings at the connection's place in refsync.yaml."""
    conn = program.config.connections.get(name)
    settings = program.settings.get(name)
    if conn is None or not isinstance(settings, BaseModel):
        return []
    try:
        cls = connector_class(conn.type)
    except (KeyError, RefsyncError):
        return []  # an unknown type: the loader reported it
    reading = program.role(name) in ("in", "both")
    return [
        Finding(
            _where(program, name, *p.at),
            f"connection {name!r}: {p.message}",
            p.fix,
            warning=p.warning,
        )
        for p in cls.local_problems(settings, variables, reading=reading, program_dir=program.root)
        if p.empties_reads or not only_empty
    ]


def _where(program: Program, name: str, *path: str) -> str:
    return locate(program.root / "refsync.yaml", ("connections", name, *path))


def _declared(settings: Any, role: SettingRole) -> dict[str, Any]:
    """The set values of the settings fields the connection's model declares with ``role``."""
    if not isinstance(settings, BaseModel):
        return {}
    names = settings_with_role(type(settings), role)
    return {k: v for k, v in settings.model_dump(include=set(names)).items() if v}


def _output_folder(program: Program, name: str, settings: Any) -> list[Finding]:
    found: list[Finding] = []
    for setting, out in _declared(settings, SettingRole.OUTPUT_DIR).items():
        found += _writable_folder(program, name, setting, Path(out))
    return found


def _writable_folder(program: Program, name: str, setting: str, path: Path) -> list[Finding]:
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return []
    what = "not a folder" if existing and not existing.is_dir() else "read-only"
    return [
        Finding(
            _where(program, name, "settings", setting),
            f"connection {name!r}: the output folder {path} is not writable ({existing} is {what})",
            f"make {path} writable by this user (chmod u+w) or set settings.{setting} to a "
            "folder it can write",
        )
    ]


def _named_files(program: Program, name: str, settings: Any) -> list[Finding]:
    found: list[Finding] = []
    for setting, value in _declared(settings, SettingRole.PROGRAM_FILE).items():
        if not Path(value).is_file():
            found.append(
                Finding(
                    _where(program, name, "settings", setting),
                    f"connection {name!r}: {setting} {value} does not exist",
                    f"set {setting} to an existing file (relative paths are read from "
                    f"{program.root})",
                )
            )
    return found


# -- online ------------------------------------------------------------------------------------


def online_findings(
    program: Program, runtime_factory: Callable[[Program], Runtime] = Runtime
) -> list[Finding]:
    """Authentication, mapped objects and fields, what provisioning would still make, and
    what the account lacks (scopes), per connection, as its connector declares them."""
    runtime = runtime_factory(program)
    found: list[Finding] = _state_store(program)
    try:
        for name in program.mappings:
            if not _checked_online(program, name):
                continue  # local files: local_findings covered them
            where = _where(program, name, "type")
            try:
                connector = runtime.connector(name)
                connector.check()
            except RefsyncError as exc:
                found.append(Finding(where, f"connection {name!r}: {exc.message}", _auth_fix(name)))
                continue  # one cause, not one problem per object
            found += _schema_findings(program, name, connector)
            found += _provisioning(program, name, connector)
            found += _access(program, name, connector)
    finally:
        runtime.close()
    return found


def _checked_online(program: Program, name: str) -> bool:
    """Whether the connection's connector reaches a live system (``checked_online``)."""
    try:
        return connector_class(program.config.connections[name].type).checked_online
    except (KeyError, RefsyncError):
        return True  # an unknown type: the loader reported it; connecting says why too


def _state_store(program: Program) -> list[Finding]:
    """A database state store answers (a SQLite file is made on first use: not touched)."""
    from sync.environment import refsync_environment

    url = refsync_environment().state_url_for(None, program.state_url)
    if url.startswith("sqlite"):
        return []
    from sync.state import StateStore

    try:
        StateStore.open(url).close()
    except RefsyncError as exc:
        where = locate(program.root / "refsync.yaml", ("state", "url"))
        fix = "start the database or fix state.url in refsync.yaml (or REFSYNC_STATE_URL)"
        return [Finding(where, f"state store: {exc.message}", fix)]
    return []


def _auth_fix(name: str) -> str:
    return (
        f"check the settings and secrets of connection {name!r} (.env or environment); "
        "for the local sandboxes paste the export lines `refsync sandbox` prints into .env"
    )


def _provision_fix(program: Program, name: str, connector: Connector) -> str:
    """The command that makes what connection ``name`` lacks, as its connector declares."""
    type_name = program.config.connections[name].type
    if connector.supports(Capability.PROVISION):
        extra = "" if name == type_name else f" --connection {name}"
        return f"refsync provision {type_name} --config {program.root}{extra} --apply"
    if connector.supports(Capability.PROVISION_SOURCE):
        out = Path(connector.provision_source_folder)
        return (
            f"refsync provision {type_name} --out {out}, then "
            f"{connector.deploy_command(out)} (the objects and fields its mappings use)"
        )
    return f"fix mappings of connection {name!r}"


def _schema_findings(program: Program, name: str, connector: Connector) -> list[Finding]:
    spec = program.mappings[name]
    path = program.mapping_file(name)
    direction = program.role(name) or "both"
    schemas: dict[str, ObjectSchema] = {}
    found: list[Finding] = []
    fix = _provision_fix(program, name, connector)
    for entity, em in spec.entities.items():
        if em.object in schemas:
            continue
        try:
            schemas[em.object] = connector.describe(em.object)
        except RefsyncError as exc:
            where = locate(path, ("entities", entity, "object"))
            found.append(Finding(where, f"connection {name!r}: {exc.message}", fix))
    for entity, em in spec.entities.items():
        schema = schemas.get(em.object)
        if schema is None:
            continue
        for p in schema_problems(em, schema, direction=direction, related=schemas):
            where = locate(path, ("entities", entity, *p.loc))
            found.append(Finding(where, f"connection {name!r}, {entity}: {p.message}", fix))
    return found


def _access(program: Program, name: str, connector: Connector) -> list[Finding]:
    """What the live account lacks that runs need (its connector's ``access_problems``)."""
    try:
        problems = connector.access_problems(phi_fields(program, name))
    except RefsyncError as exc:
        return [
            Finding(
                _where(program, name, "type"),
                f"connection {name!r}: {exc.message}",
                _auth_fix(name),
            )
        ]
    return [
        Finding(_where(program, name, *p.at), f"connection {name!r}: {p.message}", p.fix, p.warning)
        for p in problems
    ]


def _provisioning(program: Program, name: str, connector: Connector) -> list[Finding]:
    """PROVISION: what the account still lacks for the mappings, and PHI bound for a field
    the system may not keep it in (never a note to skip)."""
    if not connector.supports(Capability.PROVISION):
        return []
    where = _where(program, name, "type")
    try:
        plan = connector.provision_plan(phi_fields(program, name))
    except RefsyncError as exc:
        return [Finding(where, exc.message, _auth_fix(name))]
    missing = [a for a in plan if a.applies]
    found = [
        Finding(where, f"connection {name!r}: {a}", "fix it by hand") for a in plan if a.blocks_phi
    ]
    if not missing:
        return found
    listed = "; ".join(str(a) for a in missing[:5])
    more = f" (+ {len(missing) - 5} more)" if len(missing) > 5 else ""
    return [
        *found,
        Finding(
            where,
            f"connection {name!r}: the account lacks {len(missing)} things run writes to: "
            f"{listed}{more}",
            _provision_fix(program, name, connector),
        ),
    ]
