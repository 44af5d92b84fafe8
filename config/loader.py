"""Load and validate a program directory; report every problem at once.

:func:`load_program` reads ``DIR/refsync.yaml``, the mapping file of each connection and
``DIR/definitions/*.yaml`` and validates them in three tiers: shape (pydantic), canonical
cross-checks (mapping paths, transforms, stages, PHI, ownership, jobs, cron, definition
rules) and secrets (``${VAR}`` references, literal secrets, connection settings). Every
problem is collected; if there is any, one :class:`~mapping.errors.ConfigurationError`
carries them all as ``file:line:col: message`` (exit code 2).

This module never imports a connector: the caller supplies the settings model of each
connection type and what each type declares about privacy (:class:`TypePrivacy`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from config._checks import check_jobs, check_privacy, check_prospects, load_definitions
from config._mappings import LoadedMapping, check_mappings, read_mapping
from config._paths import ALLOW_OUTSIDE_KEY, refuse_outside
from config.limits import YamlLimits
from config.models import ConnectionConfig, JobConfig, ProgramConfig
from config.problems import Problems, YamlFile, load_yaml, plain
from config.secrets import environment, find_literal_secrets, resolve_references
from mapping.errors import ConfigurationError, SecretError
from mapping.model import QualifiedReferralDefinition
from mapping.privacy import NativeClasses, TypePrivacy
from mapping.setting_roles import SettingRole, settings_with_role
from mapping.spec import Direction, MappingSpec

__all__ = ["CONFIG_FILE", "Program", "load_program"]

CONFIG_FILE = "refsync.yaml"

_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Program:
    """A validated program directory.

    ``settings`` holds each connection's resolved settings: an instance of the settings
    model the caller supplied for its type, or the resolved dict when none was supplied.
    """

    root: Path
    config: ProgramConfig
    mappings: dict[str, MappingSpec]
    definitions: dict[str, QualifiedReferralDefinition]
    settings: dict[str, BaseModel | dict[str, Any]]
    state_url: str
    warnings: tuple[str, ...] = ()
    """``file:line:col: message`` lines to show on every validation and run (insecure_http,
    deprecated keys, tiers without their agreement)."""
    native_classes: dict[str, NativeClasses] = field(default_factory=dict)
    """Per connection, what its type declares its native fields hold (for the flow checks)."""

    def mapping_file(self, connection: str) -> Path:
        """The mapping file of ``connection``."""
        relative = self.config.connections[connection].mapping or f"mappings/{connection}.yaml"
        return self.root / relative

    def role(self, connection: str) -> Direction | None:
        """``in`` if only jobs' source, ``out`` if only destination, ``both``, or None."""
        jobs = self.config.jobs.values()
        reads = any(connection in job.sources for job in jobs)
        writes = any(connection in job.destinations for job in jobs)
        if reads and writes:
            return "both"
        return "in" if reads else "out" if writes else None


def load_program(
    directory: str | os.PathLike[str],
    *,
    settings_models: Mapping[str, type[BaseModel]] | None = None,
    privacy: Mapping[str, TypePrivacy] | None = None,
    env: Mapping[str, str] | None = None,
) -> Program:
    """Load and validate the program in ``directory``.

    ``settings_models`` maps connection type -> settings model; a type missing from a
    non-empty mapping is a problem (the ``KeyError`` message is reported). Left empty,
    settings are resolved but not validated. ``privacy`` maps connection type -> what it
    declares (PHI zone, native field classes); a type missing from it declares nothing
    (deidentified by default, fields classed by name). Settings models receive
    ``context={"root": Path}`` to resolve relative paths. ``env`` replaces ``os.environ``
    (``DIR/.env`` still fills the gaps). Raises ConfigurationError listing every problem.
    """
    # Absolute once, here: every relative path setting is joined to it exactly once below, and
    # nothing downstream joins again (a relative --config used to give DIR/DIR/exports).
    root = Path(directory).expanduser().resolve()
    problems = Problems()
    variables = environment(root, env)
    limits = YamlLimits.from_env(variables)
    file = load_yaml(root / CONFIG_FILE, str(root / CONFIG_FILE), problems, limits)
    data = plain(file.doc) if isinstance(file.doc, Mapping) else {}
    if file.doc is not None and not isinstance(file.doc, Mapping):
        problems.add(
            file, (), "refsync.yaml must be a mapping (version, program, connections, jobs)"
        )
    config = _validate_config(file, data, problems)
    declared = _Declared(privacy or {})
    connections = declared.place(_pieces(data.get("connections"), ConnectionConfig))
    confined = data.get(ALLOW_OUTSIDE_KEY) is not True
    native = declared.native(connections)
    mappings = _check_connections(root, data, connections, file, problems, limits, confined, native)
    definitions_dir = str(data.get("definitions") or "definitions")
    definitions: dict[str, QualifiedReferralDefinition] = {}
    if not (
        confined
        and refuse_outside(
            root,
            Path(definitions_dir),
            what="definitions",
            file=file,
            loc=("definitions",),
            problems=problems,
        )
    ):
        definitions = load_definitions(
            root / definitions_dir, str(root / definitions_dir), problems, limits
        )
    find_literal_secrets(data, file=file, problems=problems)
    settings = _settings(
        root, connections, settings_models or {}, variables, file, problems, confined
    )
    state_url = _state_url(root, data, variables, file, problems)
    _raise_if_any(root, problems)
    assert config is not None
    return Program(
        root=root,
        config=config.model_copy(update={"connections": declared.place(config.connections)}),
        mappings={n: m.spec for n, m in mappings.items() if m.spec is not None},
        definitions=definitions,
        settings=settings,
        state_url=state_url,
        warnings=(
            *_insecure_warnings(settings, file),
            *(str(w) for w in sorted(problems.warnings)),
        ),
        native_classes=native,
    )


@dataclass(frozen=True, slots=True)
class _Declared:
    """What the caller's registry says of each connection type, applied to connections."""

    privacy: Mapping[str, TypePrivacy]

    def of(self, type_name: str) -> TypePrivacy:
        return self.privacy.get(type_name) or TypePrivacy()

    def place(self, connections: Mapping[str, ConnectionConfig]) -> dict[str, ConnectionConfig]:
        return {n: c.in_phi_zone(self.of(c.type).phi_zone) for n, c in connections.items()}

    def native(self, connections: Mapping[str, ConnectionConfig]) -> dict[str, NativeClasses]:
        return {n: self.of(c.type).native_classes for n, c in connections.items()}


def _insecure_warnings(
    settings: Mapping[str, BaseModel | dict[str, Any]], file: YamlFile
) -> tuple[str, ...]:
    """One warning per connection that allows plain http:// (``insecure_http: true``)."""
    found: list[str] = []
    for name, values in settings.items():
        flag = values.get("insecure_http") if isinstance(values, dict) else None
        if isinstance(values, BaseModel):
            flag = getattr(values, "insecure_http", None)
        if flag is True or str(flag).strip().lower() in ("true", "yes", "on", "1"):
            line, col = file.position(("connections", name, "settings", "insecure_http"))
            found.append(
                f"{file.display}:{line}:{col}: warning: connection {name!r} allows plain "
                "http:// (insecure_http: true): tokens and records travel unencrypted; "
                "remove it for anything but a local sandbox"
            )
    return tuple(found)


def _check_connections(
    root: Path,
    data: Mapping[str, Any],
    connections: Mapping[str, ConnectionConfig],
    file: YamlFile,
    problems: Problems,
    limits: YamlLimits,
    confined: bool,
    native: Mapping[str, NativeClasses],
) -> dict[str, LoadedMapping]:
    """Tier 2: each connection's mapping, ownership across them, and the jobs."""
    jobs = _pieces(data.get("jobs"), JobConfig)
    mappings = _read_mappings(root, connections, file, problems, limits, confined)
    destinations = {d for job in jobs.values() for d in job.destinations}
    tiers = {name: conn.tier for name, conn in connections.items()}
    check_privacy(connections, file=file, problems=problems)
    check_mappings(
        mappings, tiers=tiers, destinations=destinations, problems=problems, native=native
    )
    raw = data.get("connections")
    declared = {str(n) for n in raw} if isinstance(raw, Mapping) else set()
    check_jobs(jobs, connections, mappings, file=file, problems=problems, declared=declared)
    referrers = data.get("referrers")
    if isinstance(referrers, Mapping) and referrers.get("create_prospects") is True:
        check_prospects(jobs, mappings, file=file, problems=problems)
    return mappings


def _validate_config(file: YamlFile, data: Any, problems: Problems) -> ProgramConfig | None:
    if file.doc is None:
        return None
    try:
        return ProgramConfig.model_validate(data)
    except ValidationError as exc:
        problems.add_validation(file, exc, ProgramConfig)
        return None


def _pieces(raw: Any, model: type[_M]) -> dict[str, _M]:
    """The entries of a section that validate on their own (errors are reported already)."""
    out: dict[str, _M] = {}
    for name, value in raw.items() if isinstance(raw, Mapping) else []:
        try:
            out[str(name)] = model.model_validate(value)
        except ValidationError:
            continue
    return out


def _read_mappings(
    root: Path,
    connections: Mapping[str, ConnectionConfig],
    file: YamlFile,
    problems: Problems,
    limits: YamlLimits,
    confined: bool,
) -> dict[str, LoadedMapping]:
    mappings: dict[str, LoadedMapping] = {}
    for name, conn in connections.items():
        relative = conn.mapping or f"mappings/{name}.yaml"
        at = ("connections", name, "mapping")
        what = f"connection {name!r}: mapping"
        if confined and refuse_outside(
            root, Path(relative), what=what, file=file, loc=at, problems=problems
        ):
            continue
        if not (root / relative).is_file():
            problems.add(
                file,
                ("connections", name, "mapping" if conn.mapping else "type"),
                f"connection {name!r}: mapping file {root / relative} not found; create it "
                "or fix mapping:",
            )
            continue
        mfile = load_yaml(root / relative, str(root / relative), problems, limits)
        mappings[name] = read_mapping(name, mfile, problems)
    return mappings


def _settings(
    root: Path,
    connections: Mapping[str, ConnectionConfig],
    models: Mapping[str, type[BaseModel]],
    variables: Mapping[str, str],
    file: YamlFile,
    problems: Problems,
    confined: bool = True,
) -> dict[str, BaseModel | dict[str, Any]]:
    resolved: dict[str, BaseModel | dict[str, Any]] = {}
    for name, conn in connections.items():
        at = ("connections", name, "settings")
        values = resolve_references(conn.settings, variables, file=file, problems=problems, loc=at)
        if not models:
            resolved[name] = values  # unchecked: these loads read no connection's files
            continue
        try:
            model = models[conn.type]
        except KeyError as exc:
            message = exc.args[0] if exc.args else f"unknown connection type {conn.type!r}"
            problems.add(file, ("connections", name, "type"), f"connection {name!r}: {message}")
            continue
        paths = settings_with_role(model, SettingRole.PROGRAM_PATH)
        values = _resolve_paths(root, values, paths)
        if confined and _paths_outside(root, name, values, paths, file, problems):
            continue
        try:
            resolved[name] = model.model_validate(values, context={"root": root})
        except ValidationError as exc:
            problems.add_validation(file, exc, model, prefix=at)
    return resolved


def _resolve_paths(root: Path, settings: dict[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    """The settings the model declares as program paths (``paths``) are relative to DIR
    (``root``, already absolute): the result is absolute."""
    out = dict(settings)
    for key, value in settings.items():
        if key in paths and isinstance(value, str) and value.strip():
            candidate = Path(value).expanduser()
            out[key] = str(candidate if candidate.is_absolute() else root / candidate)
    return out


def _paths_outside(
    root: Path,
    name: str,
    values: Mapping[str, Any],
    paths: Sequence[str],
    file: YamlFile,
    problems: Problems,
) -> bool:
    """Report every declared path setting of connection ``name`` that leaves ``root``; any?"""
    refused = False
    for key, value in values.items():
        if key in paths and isinstance(value, str) and value.strip():
            refused |= refuse_outside(
                root,
                Path(value),
                what=f"connection {name!r}: settings.{key}",
                file=file,
                loc=("connections", name, "settings", key),
                problems=problems,
            )
    return refused


def _state_url(
    root: Path,
    data: Mapping[str, Any],
    variables: Mapping[str, str],
    file: YamlFile,
    problems: Problems,
) -> str:
    state = data.get("state")
    url = state.get("url") if isinstance(state, Mapping) else None
    if isinstance(url, str) and url.strip():
        return str(
            resolve_references(url, variables, file=file, problems=problems, loc=("state", "url"))
        )
    from_env = variables.get("REFSYNC_STATE_URL")
    if from_env:
        return from_env
    return f"sqlite:///{(root / 'state.db').resolve()}"


def _raise_if_any(root: Path, problems: Problems) -> None:
    if not len(problems):
        return
    found = sorted(problems)
    lines = [str(p) for p in found]
    cls = SecretError if all(p.secret for p in found) else ConfigurationError
    noun = "problem" if len(lines) == 1 else "problems"
    raise cls(f"{len(lines)} configuration {noun} in {root}", problems=lines)
