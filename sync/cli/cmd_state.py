"""``refsync state check|backup|restore``: the state store, operated by whoever is on call.

``check`` reads only and exits 4 when the store is not usable (SQLite's own reason shown);
``backup FILE`` writes a consistent copy with SQLite's online backup API (safe while a run
writes); ``restore FILE`` replaces the state with a backup, keeping the old one beside it,
and refuses while a run holds a job lock. For PostgreSQL both say to use pg_dump /
pg_restore (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import typer

from sync.cli._app import app
from sync.cli._common import console, handle_errors, refsync_environment

__all__ = ["backup", "check", "restore"]

state_app = typer.Typer(
    name="state",
    help="Check, back up and restore the state store.\n\n"
    "Example: ``refsync state backup state-2026-12-03.db --config myprogram``",
    no_args_is_help=True,
)
app.add_typer(state_app)

_CONFIG = typer.Option(Path("."), "--config", "-c", help="Program directory")
_STATE = typer.Option(
    None, "--state", help="State store URL (default: REFSYNC_STATE_URL or DIR/state.db)"
)


def _url(config: Path, state: str | None) -> str:
    from sync.engine.declared import load_declared

    chosen = refsync_environment().chosen_state_url(state)
    return chosen or load_declared(config, check_settings=False).state_url


@state_app.command()
def check(config: Path = _CONFIG, state: str | None = _STATE) -> None:
    """Integrity, schema revision, runs by status, records, open errors, job locks.

    Exit 0 when the store is usable, 4 when it is not (the reason is printed).

    Example: ``refsync state check --config myprogram``
    """
    with handle_errors():
        from sync.state.admin import check_state

        found = check_state(_url(config, state))
    from rich.table import Table

    table = Table(title=f"State {found.url}", show_header=False)
    table.add_row("schema revision", str(found.revision))
    table.add_row("runs", ", ".join(f"{n} {s}" for s, n in sorted(found.runs.items())) or "none")
    table.add_row("records", str(found.records))
    table.add_row("open record errors", str(found.open_errors))
    table.add_row("job locks", "\n".join(found.locks) or "none")
    console.print(table)
    for note in found.orphaned_runs:
        console.print(f"[yellow]note:[/] {note}")
    for problem in found.problems:
        console.print(f"[bold red]problem:[/] {problem}")
    if not found.ok:
        raise typer.Exit(4)
    console.print("[green]state is usable[/]")


@state_app.command()
def backup(
    destination: Path = typer.Argument(..., help="New file to write the backup to"),
    config: Path = _CONFIG,
    state: str | None = _STATE,
) -> None:
    """Write a consistent copy of the SQLite state (safe while a run writes). Mode 0600.

    Example: ``refsync state backup state-2026-12-03.db --config myprogram``
    """
    with handle_errors():
        from sync.state.admin import backup_state

        backup_state(_url(config, state), destination)
    console.print(
        f"backed up the state to {destination} (it holds the hashing key and encrypted PHI: "
        "keep it as protected as the state)"
    )


@state_app.command()
def restore(
    backup_file: Path = typer.Argument(..., help="A backup written by `refsync state backup`"),
    config: Path = _CONFIG,
    state: str | None = _STATE,
) -> None:
    """Replace the SQLite state with a backup; the old state is kept beside it.

    Example: ``refsync state restore state-2026-12-03.db --config myprogram``
    """
    with handle_errors():
        from sync.state.admin import restore_state

        aside = restore_state(_url(config, state), backup_file)
    kept = f"; the previous state is kept as {aside}" if aside else ""
    console.print(
        f"restored the state from {backup_file}{kept}. Runs since the backup are re-read from "
        "their sources' bookmarks as of the backup; destinations are matched by key."
    )
