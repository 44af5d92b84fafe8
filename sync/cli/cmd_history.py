"""``refsync history REF-NUMBER`` and ``refsync conflicts``: where a referral stands and why.

``history`` prints what each system said about one referral and when (its event log, in the
fold's event-time order, with what the stage machine decided about each event: applied, same,
rescheduled, superseded, conflict or refused, and why), the stage the hub settled on, and the
conflicts recorded against it.
``conflicts`` lists recorded conflicts with the referral number they belong to. Both read the
state store only: no connector is opened, no API is called. Neither prints PHI: stage events
and conflicts carry stages, systems, times, field names and redacted summaries only.

Exit codes: 0 found (an empty conflict list is fine), 2 no referral with that number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer

from sync.cli._app import app
from sync.cli._common import console, err_console, handle_errors, refsync_environment

if TYPE_CHECKING:
    from mapping.stages import StageRules
    from sync.state import StateStore

__all__ = ["conflicts", "history"]

_CONFIG = typer.Option(Path("."), "--config", "-c", help="Program directory")
_STATE = typer.Option(
    None, "--state", help="State store URL (default: REFSYNC_STATE_URL or DIR/state.db)"
)
_JSON = typer.Option(False, "--json", help="Print JSON instead of a table")


@contextmanager
def _store_for(
    config: Path, state: str | None
) -> Iterator[tuple[StateStore, ZoneInfo, StageRules]]:
    from sync.engine.declared import load_declared
    from sync.engine.runtime import ownership_of
    from sync.state import StateStore

    # settings unchecked: the state is all these commands read
    program = load_declared(config, check_settings=False)
    url = refsync_environment().state_url_for(state, program.state_url)
    store = StateStore.open(url)
    try:
        yield store, ZoneInfo(program.config.timezone), ownership_of(program).stage_rules()
    finally:
        store.close()


def _when(value: object, tz: ZoneInfo) -> str:
    """An ISO time in the program's timezone (stored times are UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        return ""
    return moment.astimezone(tz).isoformat(timespec="seconds")


def _events(data: Mapping[str, object], tz: ZoneInfo, rules: StageRules) -> list[dict[str, str]]:
    """Every event of the referral's log in fold order, with what the fold decided and why.

    Positions (file:line) and statuses are shown, never a field value from the record.
    """
    from mapping.history import event_order, fold_events
    from mapping.model import Referral

    referral = Referral.model_validate(data)
    if not referral.events:  # stored before event logs were kept: the settled moves only
        return [
            {"entered_at": _when(e.entered_at, tz), "stage": e.stage.value, "system": e.system,
             "decision": "applied", "status": "", "source": "", "reason": ""}
            for e in sorted(referral.stage_history, key=lambda e: e.entered_at)
        ]  # fmt: skip
    folded = fold_events(referral.events, rules)
    return [
        {
            "entered_at": _when(e.at, tz),
            "stage": e.stage.value,
            "system": e.system,
            "decision": folded.outcomes[e.id].decision.value,
            "status": e.status or "",
            "source": e.source or "",
            "reason": folded.outcomes[e.id].reason,
        }
        for e in sorted(referral.events, key=event_order)
    ]


@app.command()
def history(
    referral_number: str = typer.Argument(..., help="The referral number, e.g. REF-1041"),
    config: Path = _CONFIG,
    state: str | None = _STATE,
    json_out: bool = _JSON,
) -> None:
    """What each system said about one referral and when, and the stage refsync settled on.

    Example: ``refsync history REF-1041 --config myprogram``
    """
    with handle_errors(), _store_for(config, state) as (store, tz, rules):
        ids = store.find_ids_by_key("referral", "referral_number", [referral_number])
        cid = ids.get(referral_number)
        record = store.get_record("referral", cid) if cid else None
        if record is None:
            err_console.print(
                f"[bold red]error:[/] no referral {referral_number!r} in the state store; "
                "check the number, or run the job that reads it first (`refsync run JOB`)"
            )
            raise typer.Exit(2)
        found = store.list_conflicts(entity="referral", canonical_id=record.id, limit=1000)
    stage = str(record.data.get("stage") or "")
    events = _events(record.data, tz, rules)
    rows = [_conflict_row(c, referral_number, tz) for c in found]
    if json_out:
        payload = {"referral_number": referral_number, "stage": stage}
        console.print_json(json.dumps({**payload, "events": events, "conflicts": rows}))
        return
    from rich.table import Table

    console.print(f"{referral_number}: stage [bold]{stage}[/]")
    table = Table(title=f"Event log ({len(events)} events, event-time order)")
    columns = ("entered_at", "stage", "system", "status", "decision", "source")
    for column in columns:
        table.add_column("event time" if column == "entered_at" else column)
    for event in events:
        table.add_row(*(event[c] for c in columns))
    console.print(table)
    _print_conflicts(rows, f"Conflicts on {referral_number}")


def _conflict_row(c: object, number: str, tz: ZoneInfo) -> dict[str, object]:
    return {
        "id": getattr(c, "id", None),
        "referral_number": number,
        "field": getattr(c, "field", ""),
        "proposing_system": getattr(c, "proposing_system", ""),
        "owner": getattr(c, "owner", ""),
        "summary": getattr(c, "summary", ""),
        "run_id": getattr(c, "run_id", None),
        "recorded_at": _when(getattr(c, "recorded_at", None), tz),
    }


def _print_conflicts(rows: Sequence[Mapping[str, object]], title: str) -> None:
    from rich.table import Table

    table = Table(title=f"{title} ({len(rows)})")
    columns = ("recorded_at", "referral_number", "field", "proposing_system", "owner", "summary")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(c) or "") for c in columns))
    console.print(table)


@app.command()
def conflicts(
    job: str | None = typer.Argument(None, help="Only conflicts recorded by this job's runs"),
    config: Path = _CONFIG,
    state: str | None = _STATE,
    json_out: bool = _JSON,
    limit: int = typer.Option(1000, "--limit", help="At most this many, newest first"),
) -> None:
    """Recorded conflicts, newest first, with the referral number each belongs to.

    Example: ``refsync conflicts scheduling-to-crm --config myprogram --json``
    """
    with handle_errors(), _store_for(config, state) as (store, tz, _rules):
        found = store.list_conflicts(limit=limit)
        if job is not None:
            runs = {r.id for r in store.last_runs(job, limit=100_000)}
            found = [c for c in found if c.run_id in runs]
        referral_ids = [c.canonical_id for c in found if c.entity == "referral"]
        records = store.get_records("referral", referral_ids)
    rows = []
    for c in found:
        record = records.get(c.canonical_id) if c.entity == "referral" else None
        number = str(record.data.get("referral_number") or "") if record else ""
        row = _conflict_row(c, number, tz)
        row["entity"] = c.entity
        rows.append(row)
    if json_out:
        console.print_json(json.dumps(rows))
        return
    _print_conflicts(rows, "Recorded conflicts" + (f" of {job}" if job else ""))
