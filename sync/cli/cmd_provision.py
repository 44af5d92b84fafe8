"""``refsync provision TYPE``: what the default mappings need in a system, for any connector
that declares provisioning.

A connector with PROVISION (HubSpot) makes its properties, pipeline and custom object
through the API, after printing the plan (``--apply`` makes the changes). One with
PROVISION_SOURCE (Salesforce, whose metadata an admin deploys with the Salesforce CLI)
writes source files under ``--out``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from sync.cli._app import app
from sync.cli._common import console, handle_errors

__all__ = ["provision"]


@app.command(
    "provision",
    epilog="Examples:  refsync provision salesforce --out sfdx && "
    "sf project deploy start --source-dir sfdx  |  "
    "refsync provision hubspot --config myprogram  |  "
    "refsync provision hubspot --config myprogram --apply",
)
def provision(
    type_name: str = typer.Argument(
        ..., metavar="TYPE", help="The connection type (salesforce, hubspot, or a plugin's)"
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Directory for source files an admin deploys (e.g. salesforce)"
    ),
    config: Path = typer.Option(Path("."), "--config", "-c", help="Program directory"),
    connection: str | None = typer.Option(
        None, help="The connection in refsync.yaml (default: the one named like TYPE)"
    ),
    apply: bool = typer.Option(False, "--apply", help="Make the changes (default: print the plan)"),
) -> None:
    """Create the objects, fields and pipeline the default mappings use: write them as source
    (--out DIR) or print (and with --apply, make) them through the system's API."""
    from connectors.base import Capability
    from mapping.errors import ConfigurationError
    from sync.provisioning import provision_connection, provisioner, write_provision_source

    with handle_errors():
        if out is not None:
            written, deploy = write_provision_source(type_name, out)
            console.print(f"wrote {len(written)} files under {out}")
            console.print(f"deploy them with: {deploy}")
            return
        if not provisioner(type_name).supports(Capability.PROVISION):
            raise ConfigurationError(f"{type_name} is provisioned from source files: add --out DIR")
        done = provision_connection(
            config,
            connection=connection or type_name,
            type_name=type_name,
            apply=apply,
            say=console.print,
        )
    console.print(
        f"made {done} changes" if apply else "dry run: add --apply to make the changes listed"
    )
