"""``refsync sandbox``: run the local Salesforce and HubSpot sandboxes until Ctrl-C / SIGTERM.

Prints the connection settings as shell ``export`` lines (``eval "$(refsync sandbox ...)"``
style, or copy them into a program's ``.env``). With ``--data DIR`` the records, the CA and
the JWT key pair stay in DIR across restarts, so the printed settings keep working.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from sync.cli._app import app

__all__ = ["export_lines", "run_sandboxes", "sandbox"]


def _hubspot_class() -> Any | None:
    """The HubSpot sandbox class, or None if that part is not installed."""
    try:
        from connectors.sandbox import HubSpotSandbox
    except (ImportError, AttributeError):
        return None
    return HubSpotSandbox


def export_lines(sf: Any, hs: Any | None) -> list[str]:
    """Shell ``export`` lines with everything a program needs to reach the sandboxes."""
    values = {
        "SF_LOGIN_URL": sf.instance_url,
        "SF_INSTANCE_URL": sf.instance_url,
        "SF_ACCESS_TOKEN": sf.session_id,
        "SF_CA_FILE": sf.ca_file,
        "SF_CLIENT_ID": sf.client_id,
        "SF_USERNAME": sf.username,
        "SF_PRIVATE_KEY_FILE": sf.private_key_file,
        "REQUESTS_CA_BUNDLE": sf.ca_file,
    }
    if hs is not None:
        values |= {
            "HUBSPOT_HOST": hs.base_url,
            "HUBSPOT_BASE_URL": hs.base_url,
            "HUBSPOT_ACCESS_TOKEN": hs.token,
            # the sandbox speaks plain http on loopback: the template's insecure_http reads it
            "HUBSPOT_INSECURE_HTTP": "true",
        }
    return [f"export {name}={shlex.quote(str(value))}" for name, value in values.items()]


@contextlib.contextmanager
def run_sandboxes(
    salesforce_port: int = 0, hubspot_port: int = 0, data: Path | None = None
) -> Iterator[tuple[Any, Any | None]]:
    """Start both sandboxes (HubSpot only if available); stop (and persist) on exit."""
    from connectors.sandbox import SalesforceSandbox

    hubspot_cls = _hubspot_class()
    with contextlib.ExitStack() as stack:
        sf = stack.enter_context(
            SalesforceSandbox(data_dir=data / "salesforce" if data else None, port=salesforce_port)
        )
        hs = None
        if hubspot_cls is not None:
            hs = stack.enter_context(
                hubspot_cls(data_dir=data / "hubspot" if data else None, port=hubspot_port)
            )
        yield sf, hs


def _wait_for_stop() -> None:
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C: the normal way to stop
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command(
    epilog="Example:  refsync sandbox --data sandbox-data >> myprogram/.env  "
    "(then, in another terminal, refsync validate --config myprogram --online)"
)
def sandbox(
    salesforce_port: int = typer.Option(0, help="Port of the Salesforce sandbox (0: any free)"),
    hubspot_port: int = typer.Option(0, help="Port of the HubSpot sandbox (0: any free)"),
    data: Path | None = typer.Option(
        None, help="Keep records, CA and keys in this directory across restarts"
    ),
) -> None:
    """Run local Salesforce and HubSpot sandboxes and print their settings as exports."""
    # Absolute, so the printed CA and key paths work from any directory (and in a program's
    # .env, whose relative paths are read from the program directory).
    data = data.expanduser().resolve() if data is not None else None
    with run_sandboxes(salesforce_port, hubspot_port, data) as (sf, hs):
        for line in export_lines(sf, hs):
            typer.echo(line)
        if hs is None:
            typer.echo("# HubSpot sandbox not available in this installation", err=True)
        else:
            typer.echo(
                "# the HubSpot sandbox speaks plain http: HUBSPOT_INSECURE_HTTP=true lets the "
                "template's hubspot connection use it (refsync refuses http:// otherwise)",
                err=True,
            )
        typer.echo(
            "# SF_CA_FILE and SF_PRIVATE_KEY_FILE lie outside your program directory: add "
            "`allow_paths_outside: true` at the top of refsync.yaml to use them",
            err=True,
        )
        typer.echo("# sandboxes running; press Ctrl-C to stop", err=True)
        _wait_for_stop()
