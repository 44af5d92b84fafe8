"""The CLI fits its ecosystem: --version and shell completion."""

from __future__ import annotations

from importlib.metadata import version

from typer.testing import CliRunner

from sync.cli import app


def test_version_prints_the_installed_package_version_and_exits_zero():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"refsync {version('refsync')}"


def test_shell_completion_is_offered_in_the_help():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--install-completion" in result.output and "--show-completion" in result.output
