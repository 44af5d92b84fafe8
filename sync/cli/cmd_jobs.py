"""``refsync plan``, ``run``, ``status``, ``errors`` and ``retry``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from sync.cli._app import app
from sync.cli._common import console, engine_for, handle_errors, setup_logging
from sync.engine import RunReport

__all__ = ["errors", "plan", "retry", "run", "status"]

_CONFIG = typer.Option(Path("."), "--config", "-c", help="Program directory")
_STATE = typer.Option(
    None, "--state", help="State store URL (default: REFSYNC_STATE_URL or DIR/state.db)"
)


def _print_report(report: RunReport, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(report.to_json(), default=str))
        return
    table = Table(title=f"{'Plan' if report.dry_run else 'Run'} of {report.job}")
    for col in ("system / entity", "what", "records"):
        table.add_column(col)
    for key, n in sorted({**report.read, **report.written}.items()):
        system, entity, what = key.split("/")
        table.add_row(f"{system} / {entity}", what, str(n))
    console.print(table)
    for title, items in (
        ("Stage moves", [t.describe() for t in report.transitions]),
        ("Updates", report.updates),
        ("Conflicts", report.conflicts),
        ("Refused stage moves", report.refused),
        (
            "Rejected",
            [
                f"{r.system} {r.object} {r.key} {r.field}: {r.code} {r.message}"
                for r in report.rejects
            ],
        ),
    ):
        if items:
            console.print(f"[bold]{title}[/] ({report.totals.get(_kind(title), len(items))})")
            for item in items[:50]:
                console.print(f"  {item}")
    if report.message:
        console.print(report.message)
    console.print(report.summary())


def _kind(title: str) -> str:
    return {
        "Stage moves": "transitions",
        "Updates": "updates",
        "Conflicts": "conflicts",
        "Refused stage moves": "refused",
        "Rejected": "rejects",
    }[title]


@app.command()
def plan(
    job: str,
    config: Path = _CONFIG,
    state: str | None = _STATE,
    json_out: bool = typer.Option(False, "--json", help="Print the plan as JSON"),
) -> None:
    """Dry run: print what `run JOB` would create, update, move, archive or reject."""
    with handle_errors(), engine_for(config, state) as engine:
        report = engine.plan(job)
    _print_report(report, json_out)


@app.command()
def run(
    job: str,
    config: Path = _CONFIG,
    state: str | None = _STATE,
    log_json: bool = typer.Option(False, "--log-json", help="JSON log lines on stderr"),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Run JOB once through the hub. Exit 1 if records were rejected."""
    setup_logging(log_json)
    with (
        handle_errors(),
        _progress(quiet=json_out or log_json) as progress,
        engine_for(config, state, progress=progress) as engine,
    ):
        report = engine.run(job)
    _print_report(report, json_out)
    raise typer.Exit(report.exit_code())


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str, int], None] | None]:
    """Rich progress per phase (records so far) when attached to a terminal."""
    if quiet or not console.is_terminal:
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bars:
        tasks: dict[str, TaskID] = {}

        def advance(phase: str, records: int) -> None:
            if phase not in tasks:
                tasks[phase] = bars.add_task(phase, total=None)
            bars.advance(tasks[phase], records)

        yield advance


@app.command()
def status(
    config: Path = _CONFIG,
    state: str | None = _STATE,
    job: str | None = typer.Option(None, help="Only this job"),
    limit: int = typer.Option(10, help="Runs to show"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """The last runs per job with counts and durations."""
    with handle_errors(), engine_for(config, state) as engine:
        runs = engine.store.last_runs(job, limit=limit)
    rows = [_run_row(r) for r in runs]
    if json_out:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="Last runs")
    for col in rows[0] if rows else ("run", "job", "status"):
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


def _run_row(r: Any) -> dict[str, Any]:
    took = (r.finished_at - r.started_at).total_seconds() if r.finished_at else None
    counts = r.counts
    return {
        "run": r.id,
        "job": r.job,
        "status": r.status,
        "started": r.started_at.isoformat(timespec="seconds"),
        "seconds": None if took is None else round(took, 1),
        "read": sum(v for k, v in counts.get("read", {}).items() if k.endswith("/read")),
        "written": sum(
            v
            for k, v in counts.get("written", {}).items()
            if k.endswith(("/created", "/updated", "/archived"))
        ),
        "rejected": counts.get("rejected", 0),
    }


@app.command()
def errors(
    job: str | None = typer.Argument(None),
    config: Path = _CONFIG,
    state: str | None = _STATE,
    json_out: bool = typer.Option(False, "--json", help="Print JSON"),
    show_all: bool = typer.Option(
        False, "--all", help="Also show resolved errors (the history), with a status column"
    ),
) -> None:
    """Open rejected records: system, object, key, field, code, message, first/last seen,
    attempts. An error is resolved once a later run (or `refsync retry`) syncs the record;
    `--all` lists resolved ones too.
    """
    with handle_errors(), engine_for(config, state) as engine:
        found = engine.store.open_errors(job, include_resolved=show_all)
    rows = [
        {
            "job": e.job, "system": e.system, "object": e.object, "key": e.key,
            "field": e.field, "code": e.code, "message": e.message,
            "first_seen": e.first_seen.isoformat(timespec="seconds"),
            "last_seen": e.last_seen.isoformat(timespec="seconds"), "attempts": e.attempts,
            **({"status": "resolved" if e.resolved else "open"} if show_all else {}),
        }
        for e in found
    ]  # fmt: skip
    if json_out:
        console.print_json(json.dumps(rows))
        return
    title = "Record errors, open and resolved" if show_all else "Open record errors"
    table = Table(title=f"{title} ({len(rows)})")
    for col in rows[0] if rows else ("job", "system", "object", "key", "code"):
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


@app.command()
def retry(job: str, config: Path = _CONFIG, state: str | None = _STATE) -> None:
    """Re-read JOB's sources from the start and retry every rejected record.

    Safe: the write ledger skips whatever destinations already hold. Every open error of
    JOB that the retry did not hit again is marked resolved (`refsync errors --all` keeps it).
    """
    with handle_errors(), engine_for(config, state) as engine:
        program_job = engine.program.config.jobs.get(job)
        if program_job is None:
            from mapping.errors import ConfigurationError

            raise ConfigurationError(f"no job named {job!r} in refsync.yaml")
        for source in program_job.sources:
            spec = engine.program.mappings.get(source)
            for em in spec.entities.values() if spec else ():
                engine.store.clear_bookmark(source, em.object)
        report = engine.run(job)
        # Every source was re-read and every unsynced record re-tried: a failure this run did
        # not hit again is fixed (its last_seen is older than the run's start).
        runs = engine.store.last_runs(job, limit=20)
        started = next((r.started_at for r in runs if r.id == report.run_id), None)
        if started is not None:
            engine.store.resolve_errors_not_seen_since(
                job, [*program_job.sources, *program_job.destinations], started
            )
    _print_report(report, False)
    raise typer.Exit(report.exit_code())
