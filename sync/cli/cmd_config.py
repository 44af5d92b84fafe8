"""``refsync init``, ``refsync validate`` and ``refsync schema``.

``validate`` reports every problem at once as ``file:line:col: message`` and exits 2 when
there is any; ``--online`` also connects to each system and compares the mappings with the
live schema (``describe``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from mapping.errors import ConfigurationError
from sync.cli._app import app

if TYPE_CHECKING:
    from pydantic import BaseModel

    from config import Program

__all__ = ["init", "schema", "validate"]

_console = Console(highlight=False, soft_wrap=True)


def _loadable_settings_models() -> dict[str, type[BaseModel]]:
    from sync.engine.declared import RegistrySettings

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


@app.command(epilog="Example:  refsync init myprogram && refsync validate --config myprogram")
def init(
    directory: Path = typer.Argument(..., help="New program directory to create"),
) -> None:
    """Write a working program directory: refsync.yaml, mappings, definitions, .env."""
    from config import write_program

    try:
        written = write_program(directory)
    except ConfigurationError as exc:
        _report(exc.problems, exc.message)
        raise typer.Exit(exc.exit_code) from None
    for path in written:
        _console.print(Text(f"wrote {path}"))
    _console.print(
        Text(
            f"Next: put your systems' settings in {directory / '.env'} (or append what "
            f"`refsync sandbox` prints, to try the local sandboxes), put a scheduling export in "
            f"{directory / 'exports' / 'epic'}, then run `refsync validate --config {directory}` "
            "(add --online to check the live systems; it names the command that fixes each "
            "problem, such as `refsync provision hubspot --apply`)."
        )
    )


@app.command(
    epilog="Examples:  refsync validate --config myprogram  |  "
    "refsync validate --config myprogram --online"
)
def validate(
    config: Path = typer.Option(Path("."), "--config", "-c", help="Program directory"),
    online: bool = typer.Option(
        False,
        "--online",
        help="Also connect: authentication, every mapped object and field, HubSpot pipeline "
        "and properties",
    ),
) -> None:
    """Check the program directory the way plan and run will use it, and say how to fix it.

    Prints every problem as file:line:col: message, then the command or edit that fixes it.
    Offline it checks the YAML, the export folders (missing: error; empty: warning), the
    patient key, output folders and key files; --online also asks each live system.
    Exit 2 on any problem; warnings alone exit 0.
    """
    from sync.engine.declared import load_declared
    from sync.readiness import local_findings, online_findings

    try:
        program = load_declared(config)
    except ConfigurationError as exc:
        _report(exc.problems, exc.message)
        raise typer.Exit(exc.exit_code) from None
    for warning in program.warnings:
        _console.print(Text(warning, style="yellow"))
    from sync.privacy_report import output_problems
    from sync.privacy_tiers import tier_problems

    # output files whose columns their tier may not hold; settings at odds with the tier
    refused = output_problems(program) + tier_problems(program)
    if refused:
        noun = "problem" if len(refused) == 1 else "problems"
        _report(refused, f"{len(refused)} configuration {noun} in {config}")
        raise typer.Exit(2)
    findings = local_findings(program)
    if online:
        findings += online_findings(program)
    problems = [f for f in findings if not f.warning]
    for finding in (*problems, *(f for f in findings if f.warning)):
        _console.print(Text(str(finding), style="yellow" if finding.warning else ""))
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        title = f"{len(problems)} {noun} in {config}; plan and run would stop on them"
        _console.print(Text(title, style="bold red"))
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


@app.command(epilog="Example:  refsync schema --out .schema")
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
        from mapping.privacy import field_table

        typer.echo(json.dumps({"fields": field_table()}, indent=2))
        return
    from config import SCHEMA_FILES, json_schema

    schemas = json_schema(settings_models=_loadable_settings_models())
    if out is None:
        typer.echo(json.dumps(schemas, indent=2))
        return
    out.mkdir(parents=True, exist_ok=True)
    for file_name in SCHEMA_FILES:
        target = out / file_name
        target.write_text(json.dumps(schemas[file_name], indent=2) + "\n", encoding="utf-8")
        _console.print(Text(f"wrote {target}"))
