"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="refsync",
    help="Keep a referral program in sync across Salesforce, HubSpot and scheduling exports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
