"""``refsync privacy`` and ``refsync rotate-key``.

``privacy`` prints, for each destination and output file, every field that leaves refsync,
its data class, the tier of where it goes and why it is allowed there (exit 2 when a field
is not: ``validate`` refuses such mappings for connections; outputs are checked here).

``rotate-key`` re-encrypts the PHI the state store keeps under a new key; afterwards the
old key is no longer needed. With a key file (``REFSYNC_STATE_KEY_FILE`` or the file beside
a SQLite state), the file is rewritten to hold the new key only; with ``REFSYNC_STATE_KEY``
pass the new key (``--new-key``, made with ``--print-new-key``) and set the variable to it
afterwards. Stop scheduled runs while rotating.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from sync.cli._app import app
from sync.cli._common import console, err_console, handle_errors, refsync_environment

__all__ = ["privacy", "rotate_key"]

_CONFIG = typer.Option(Path("."), "--config", "-c", help="Program directory")


@app.command()
def privacy(
    config: Path = _CONFIG,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
    json_schema: bool = typer.Option(
        False, "--json-schema", help="Print the JSON Schema of --json's document and exit"
    ),
) -> None:
    """Every field that leaves, per destination and output: class, tier, and why allowed.

    --json prints a versioned document (schema_version; --json-schema prints its schema):
    per destination its tier and the agreement behind it (BAA, data use agreement), then
    every field. Exit 2 when a field is not allowed where it goes.

    Example: ``refsync privacy --config myprogram --json > privacy-review.json``
    """
    from sync.engine.declared import load_declared
    from sync.privacy_document import PrivacyDocument, privacy_document

    if json_schema:
        typer.echo(json.dumps(PrivacyDocument.model_json_schema(), indent=2, sort_keys=True))
        return
    with handle_errors():
        # Not open_program: it refuses outputs above their tier, which this must report.
        document = privacy_document(load_declared(config))
    rows = document.fields
    refused = [r for r in rows if not r.allowed]
    if as_json:
        typer.echo(document.model_dump_json(indent=2))
    else:
        for d in document.destinations:
            agreement = f", {d.agreement_kind.replace('_', ' ')} {d.agreement or ''}".rstrip()
            agreement = "" if d.agreement_kind == "none" else agreement
            console.print(f"{d.name} ({d.kind}, {d.type}): {d.tier.value}{agreement}; "
                          f"{d.fields} fields, {d.refused} refused")  # fmt: skip
        from rich.table import Table

        table = Table("destination", "tier", "target", "field", "canonical", "class", "why")
        for r in rows:
            tier = r.tier.value + (f" ({r.agreement})" if r.agreement else "")
            table.add_row(r.destination, tier, r.target, r.field, r.canonical or "",
                          r.data_class, r.why, style=None if r.allowed else "bold red")  # fmt: skip
        console.print(table)
        console.print(f"{len(rows)} fields leave; {len(refused)} not allowed by their tier")
        for problem in document.problems:
            err_console.print(f"[bold red]refused:[/] {problem}", markup=True, highlight=False)
    if refused or document.problems:
        raise typer.Exit(2)


@app.command("rotate-key")
def rotate_key(
    config: Path = _CONFIG,
    state: str | None = typer.Option(None, "--state", help="State store URL"),
    new: str | None = typer.Option(None, "--new-key", help="The new key (default: generated)"),
    print_new_key: bool = typer.Option(
        False, "--print-new-key", help="Only print a fresh key and exit"
    ),
) -> None:
    """Re-encrypt the PHI in the state store under a new key; the old one is then unneeded.

    Example: ``refsync rotate-key --config myprogram``
    """
    from sync.engine import open_program
    from sync.state import StateStore, load_keys, new_key

    if print_new_key:
        typer.echo(new_key())
        return
    with handle_errors():
        env = refsync_environment()
        url = env.chosen_state_url(state) or open_program(config).state_url
        from_env = env.state_key is not None
        if from_env and new is None:
            err_console.print(
                "[bold red]error:[/] the state key comes from REFSYNC_STATE_KEY; pass the new "
                "key with --new-key (make one with --print-new-key), then set the variable to it"
            )
            raise typer.Exit(2)
        old = load_keys(url, env)
        fresh = new or new_key()
        # Both keys go to the key file first: a rotation stopped half-way still opens.
        _keep(url, [fresh, *old], from_env)
        with StateStore.open(url, keys=[fresh, *old]) as store:
            count = store.reseal_records()
        with StateStore.open(url, keys=[fresh]) as store:
            checked = store.check_sealed()
        _keep(url, [fresh], from_env)
    console.print(f"re-encrypted {count} records under the new key; {checked} open with it alone")
    if from_env:
        console.print("now set REFSYNC_STATE_KEY to the new key on every machine")


def _keep(url: str, keys: list[str], from_env: bool) -> None:
    """Replace the key file's content with ``keys`` (written atomically, mode 0600)."""
    from sync.state import key_file_for

    if from_env:
        return
    named = refsync_environment().state_key_file
    path = named if named is not None else key_file_for(url)
    if path is None:
        return
    temp = path.with_name(path.name + ".new")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("".join(k + "\n" for k in keys))
    os.replace(temp, path)
