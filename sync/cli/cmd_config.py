"""``refsync init``, ``refsync validate`` and ``refsync schema``.

``validate`` reports every problem at once as ``file:line:col: message`` and exits 2 when
there is any; ``--online`` also connects to each system and compares the mappings with the
live schema (``describe``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.text import Text

from config import SCHEMA_FILES, Program, json_schema, load_program, locate, write_program
from connectors.registry import connector_class
from mapping.errors import ConfigurationError, RefsyncError
from mapping.privacy import field_table
from mapping.schema import ObjectSchema
from mapping.schema_check import schema_problems
from sync.cli._app import app
from sync.engine.runtime import RegistrySettings
from sync.privacy_report import output_problems

__all__ = ["init", "schema", "validate"]

_console = Console(highlight=False, soft_wrap=True)


def _loadable_settings_models() -> dict[str, type[BaseModel]]:
    registry = RegistrySettings()
    models = {}
    for type_name in registry:
        try:
            models[type_name] = registry[type_name]
        except KeyError:
            continue
    return models


def _report(problems: list[str], title: str) -> None:
    for line in problems:
        _console.print(Text(line))
    _console.print(Text(title, style="bold red"))


@app.command()
def init(
    directory: Path = typer.Argument(..., help="New program directory to create"),
) -> None:
    """Write a working program directory: refsync.yaml, mappings, definitions, .env."""
    try:
        written = write_program(directory)
    except ConfigurationError as exc:
        _report(exc.problems, exc.message)
        raise typer.Exit(exc.exit_code) from None
    for path in written:
        _console.print(Text(f"wrote {path}"))
    _console.print(
        Text(
            f"Next: put your credentials in {directory / '.env'}, then run "
            f"`refsync validate --config {directory}` (add --online to check the live systems)."
        )
    )


@app.command()
def validate(
    config: Path = typer.Option(Path("."), "--config", "-c", help="Program directory"),
    online: bool = typer.Option(
        False, "--online", help="Also compare the mappings with each live system's schema"
    ),
) -> None:
    """Validate the program directory; print every problem as file:line:col: message."""
    try:
        program = load_program(config, settings_models=RegistrySettings())
    except ConfigurationError as exc:
        _report(exc.problems, exc.message)
        raise typer.Exit(exc.exit_code) from None
    for warning in program.warnings:
        _console.print(Text(warning, style="yellow"))
    refused = output_problems(program)
    if refused:
        noun = "problem" if len(refused) == 1 else "problems"
        _report(refused, f"{len(refused)} configuration {noun} in {config}")
        raise typer.Exit(2)
    problems = _online_problems(program) if online else []
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        _report(problems, f"{len(problems)} online {noun} in {config}")
        raise typer.Exit(2)
    _console.print(Text(_summary(program, online=online), style="green"))


def _summary(program: Program, *, online: bool) -> str:
    entities = sum(len(spec.entities) for spec in program.mappings.values())
    checked = "against the live systems" if online else "offline; add --online for live schemas"
    return (
        f"{program.root}: valid ({checked}) - {len(program.config.connections)} connections, "
        f"{entities} entity mappings, {len(program.config.jobs)} jobs, "
        f"{len(program.definitions)} definitions; state: {_safe_url(program.state_url)}"
    )


def _safe_url(url: str) -> str:
    """The state URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{rest.split('@', 1)[1]}"
    return url


def _online_problems(program: Program) -> list[str]:
    problems: list[str] = []
    for name in program.mappings:
        connection = program.config.connections[name]
        try:
            connector = connector_class(connection.type)(program.settings[name])  # type: ignore[arg-type]
        except Exception as exc:  # registry or settings failures: report, carry on
            problems.append(f"connection {name!r}: cannot build the connector: {exc}")
            continue
        try:
            problems += _check_connection(program, name, connector)
        finally:
            connector.close()
    return problems


def _check_connection(program: Program, name: str, connector: object) -> list[str]:
    spec = program.mappings[name]
    path = program.mapping_file(name)
    direction = program.role(name) or "both"
    schemas: dict[str, ObjectSchema] = {}
    problems: list[str] = []
    for entity, em in spec.entities.items():
        if em.object in schemas:
            continue
        try:
            schemas[em.object] = connector.describe(em.object)  # type: ignore[attr-defined]
        except RefsyncError as exc:
            where = locate(path, ("entities", entity, "object"))
            problems.append(f"{where}: connection {name!r}: {exc.message}")
    for entity, em in spec.entities.items():
        schema = schemas.get(em.object)
        if schema is None:
            continue
        for p in schema_problems(em, schema, direction=direction, related=schemas):
            where = locate(path, ("entities", entity, *p.loc))
            problems.append(f"{where}: connection {name!r}, {entity}: {p.message}")
    return problems


@app.command()
def schema(
    out: Path | None = typer.Option(
        None, "--out", help="Directory to write the schemas to (default: print them)"
    ),
    fields: bool = typer.Option(
        False,
        "--fields",
        help="Print every canonical field with its data class (privacy) as JSON instead",
    ),
) -> None:
    """Write the JSON Schemas of refsync.yaml, mapping files and definitions for editors."""
    if fields:
        typer.echo(json.dumps({"fields": field_table()}, indent=2))
        return
    schemas = json_schema(settings_models=_loadable_settings_models())
    if out is None:
        typer.echo(json.dumps(schemas, indent=2))
        return
    out.mkdir(parents=True, exist_ok=True)
    for file_name in SCHEMA_FILES:
        target = out / file_name
        target.write_text(json.dumps(schemas[file_name], indent=2) + "\n", encoding="utf-8")
        _console.print(Text(f"wrote {target}"))
