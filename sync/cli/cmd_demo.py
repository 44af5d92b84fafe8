"""``refsync demo``: a full sync against the built-in sandboxes (no credentials, no network)."""

from __future__ import annotations

from pathlib import Path

import typer

from sync.cli._app import app
from sync.cli._common import console, handle_errors

__all__ = ["demo"]


@app.command(epilog="Example:  refsync demo --workdir /tmp/refsync-demo")
def demo(
    workdir: Path | None = typer.Option(
        None, help="Where to write the demo program (default: a temp dir)"
    ),
) -> None:
    """Initialise a program, start the sandboxes, seed them, plan and run the jobs twice."""
    from sync.demo import run_demo

    with handle_errors():
        figures = run_demo(console.print, workdir)
    failed = [
        r for r in figures["runs"] if r["status"] not in ("ok", "finished with rejected records")
    ]
    second = [r for r in figures["runs"] if r["attempt"] == "second run"]
    console.print(
        f"Salesforce now holds {figures['salesforce_referrals']} referrals and HubSpot "
        f"{figures['hubspot_deals']} deals; the second run made "
        f"{sum(r['write_calls'] for r in second)} write calls. Partner rollups count "
        f"{figures['account_rollup']} referrals on Salesforce Accounts and "
        f"{figures['company_rollup']} on HubSpot companies."
    )
    raise typer.Exit(1 if failed else 0)
