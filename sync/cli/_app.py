"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="refsync",
    help="Keep a referral program in sync across Salesforce, HubSpot and scheduling exports.",
    epilog="Start:  refsync init myprogram, then refsync validate --config myprogram --online. "
    "Every command takes --help with an example; `refsync jobs` lists a program's jobs.",
    no_args_is_help=True,
    # typer's --install-completion / --show-completion for bash, zsh, fish and PowerShell
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("refsync")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"refsync {_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print refsync's version and exit.",
    ),
) -> None:
    """Keep a referral program in sync across Salesforce, HubSpot and scheduling exports."""
