"""`refsync --help` answers at once: importing the CLI loads no database, CRM or FHIR library.

Checked through ``sys.modules`` in a fresh interpreter, not by timing (a loaded machine
makes any time limit flaky).
"""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from sync.cli import app

HEAVY = ("sqlalchemy", "alembic", "simple_salesforce", "hubspot", "fhir", "requests", "celery")


def _loaded_after(code: str) -> list[str]:
    probe = f"""
import json, sys
{code}
heavy = {HEAVY!r}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}})))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return list(json.loads(out.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_database_crm_or_fhir_library() -> None:
    assert _loaded_after("import sync.cli") == []


def test_the_help_of_every_command_loads_no_heavy_library() -> None:
    code = """
from typer.testing import CliRunner
from sync.cli import app
runner = CliRunner()
for args in (["--help"], ["plan", "--help"], ["run", "--help"], ["status", "--help"],
             ["validate", "--help"], ["provision", "hubspot", "--help"], ["schedule", "--help"]):
    assert runner.invoke(app, args).exit_code == 0, args
"""
    assert _loaded_after(code) == []


def test_every_command_help_shows_an_example() -> None:
    import typer.main

    group = typer.main.get_command(app)
    runner = CliRunner()
    names = [n for n in group.commands if n != "provision"]  # type: ignore[attr-defined]
    for args in [[n] for n in names] + [["provision", "hubspot"], ["provision", "salesforce"]]:
        result = runner.invoke(app, [*args, "--help"], terminal_width=200)
        assert result.exit_code == 0, args
        assert "Example" in result.output, f"`refsync {' '.join(args)} --help` has no example"


def test_job_arguments_say_how_to_list_the_jobs() -> None:
    for command in ("plan", "run", "retry", "errors"):
        result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
        assert "refsync jobs --config DIR" in result.output, command
