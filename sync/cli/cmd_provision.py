"""``refsync provision``: what the default mappings need in each CRM.

Salesforce metadata is deployed by an admin with the Salesforce CLI, so refsync writes it as
DX source; HubSpot's properties, pipeline and custom object are created through its API,
after printing the plan (``--apply`` makes the changes).
"""

from __future__ import annotations

from pathlib import Path

import typer

from sync.cli._app import app
from sync.cli._common import console, handle_errors

__all__ = ["provision_hubspot", "provision_salesforce"]

provision = typer.Typer(
    help="Create the objects, fields and pipeline the default mappings use.", no_args_is_help=True
)
app.add_typer(provision, name="provision")


@provision.command(
    "salesforce",
    epilog="Example:  refsync provision salesforce --out sfdx && "
    "sf project deploy start --source-dir sfdx",
)
def provision_salesforce(
    out: Path = typer.Option(..., "--out", help="Directory for the Salesforce DX source"),
) -> None:
    """Write custom objects, fields and a permission set as Salesforce DX source."""
    from connectors.salesforce.provision import write_sfdx_source

    with handle_errors():
        written = write_sfdx_source(out)
    console.print(f"wrote {len(written)} files under {out}")
    console.print(f"deploy them with: sf project deploy start --source-dir {out}")


@provision.command(
    "hubspot",
    epilog="Examples:  refsync provision hubspot --config myprogram  |  "
    "refsync provision hubspot --config myprogram --apply",
)
def provision_hubspot(
    config: Path = typer.Option(Path("."), "--config", "-c", help="Program directory"),
    connection: str = typer.Option("hubspot", help="The HubSpot connection in refsync.yaml"),
    apply: bool = typer.Option(False, "--apply", help="Make the changes (default: print the plan)"),
) -> None:
    """Print (and with --apply, make) the properties, pipeline and custom object refsync needs."""
    from sync.provisioning import provision_hubspot as provision_hubspot_account

    with handle_errors():
        done = provision_hubspot_account(
            config, connection=connection, apply=apply, say=console.print
        )
    if apply:
        console.print(f"made {done} changes")
    else:
        console.print("dry run: add --apply to make the changes listed")
