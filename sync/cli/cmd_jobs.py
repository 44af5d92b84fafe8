"""``refsync jobs``, ``plan``, ``run``, ``status``, ``errors`` and ``retry``.

Times are printed in the program's ``timezone`` (stored times are UTC). The engine and the
state store are imported by the commands that use them (``--help`` stays fast).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer

from sync.cli._app import app
from sync.cli._common import (
    console,
    engine_for,
    err_console,
    handle_errors,
    setup_logging,
    store_for,
)

if TYPE_CHECKING:
    from config import Program
    from sync.engine import RunReport

__all__ = ["errors", "jobs", "plan", "retry", "run", "status"]

_CONFIG = typer.Option(Path("."), "--config", "-c", help="Program directory")
_STATE = typer.Option(
    None, "--state", help="State store URL (default: REFSYNC_STATE_URL or DIR/state.db)"
)
_SHOWN = 50  # items of each kind printed; the rest are counted ("+ N more") and in --json


def _complete_jobs(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of JOB: the jobs of the program in --config (or the current folder)."""
    try:
        from sync.engine import open_program

        program = open_program(ctx.params.get("config") or Path("."))
    except Exception:  # completion never fails loudly
        return []
    return [name for name in program.config.jobs if name.startswith(incomplete)]


def _job_argument(required: bool = True) -> Any:
    return typer.Argument(
        ... if required else None,
        help="A job in refsync.yaml; `refsync jobs --config DIR` lists them.",
        metavar="JOB",
        autocompletion=_complete_jobs,
        show_default=False,
    )


def _local(moment: datetime | None, tz: ZoneInfo) -> str:
    """An ISO time in the program's timezone."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).isoformat(timespec="seconds")


def _next_runs(program: Program, now: datetime) -> dict[str, str]:
    """Each scheduled job's next run time in the program's timezone."""
    from sync.scheduler import next_fire

    zone = program.config.timezone
    return {
        name: next_fire(job.schedule, now, zone).isoformat(timespec="seconds")
        for name, job in program.config.jobs.items()
        if job.schedule
    }


def _print_report(report: RunReport, as_json: bool) -> None:
    from rich.table import Table

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
    for title, kind, items in (
        ("Stage moves", "transitions", [t.describe() for t in report.transitions]),
        # A plan shows what each destination would see change, in its own field names.
        *(
            [("Updates", "changes", report.changes)]
            if report.changes
            else [("Updates", "updates", report.updates)]
        ),
        ("Conflicts", "conflicts", report.conflicts),
        ("Refused stage moves", "refused", report.refused),
        (
            "Rejected",
            "rejects",
            [
                f"{r.system} {r.object} {r.key} {r.field}: {r.code} {r.message}"
                for r in report.rejects
            ],
        ),
    ):
        _print_items(title, items, report.totals.get(kind, len(items)))
    if report.message:
        console.print(report.message)
    if report.by_stage:
        stages = ", ".join(f"{stage} {n:,}" for stage, n in sorted(report.by_stage.items()))
        moves = "would move" if report.dry_run else "moved"
        n = sum(report.by_stage.values())
        console.print(f"By stage: {moves} {n:,} referral{'s' if n != 1 else ''} to {stages}")
    console.print(report.summary())


def _print_items(title: str, items: list[str], total: int) -> None:
    if not items:
        return
    console.print(f"[bold]{title}[/] ({total:,})")
    for item in items[:_SHOWN]:
        console.print(f"  {item}")
    if total > _SHOWN:
        console.print(f"  + {total - _SHOWN:,} more (--json lists up to {len(items):,})")


def _warn_empty_exports(engine: Any, job: str) -> None:
    """Say why a scheduling source will read nothing, instead of silently reading 0."""
    from sync.readiness import empty_export_folders

    program_job = engine.program.config.jobs.get(job)
    if program_job is None:
        return
    for finding in empty_export_folders(engine.program, list(program_job.sources)):
        err_console.print(
            f"[yellow]{finding.where}: {'warning: ' if finding.warning else ''}"
            f"{finding.message}[/]\n    fix: {finding.fix}"
        )


@app.command(epilog="Example:  refsync jobs --config myprogram")
def jobs(config: Path = _CONFIG) -> None:
    """List the program's jobs: sources -> destinations, entities, schedule and next run."""
    from rich.table import Table

    from sync.engine.declared import load_declared

    with handle_errors():
        program = load_declared(config, check_settings=False)
    upcoming = _next_runs(program, datetime.now(UTC))
    table = Table(title=f"Jobs of {program.root} (times in {program.config.timezone})")
    for col in ("job", "sources -> destinations", "entities", "schedule", "next run"):
        table.add_column(col)
    for name, job in program.config.jobs.items():
        flow = f"{', '.join(job.sources) or '-'} -> {', '.join(job.destinations)}"
        table.add_row(
            name, flow, ", ".join(job.entities), job.schedule or "-", upcoming.get(name, "-")
        )
    console.print(table)


@app.command(
    epilog="Examples:  refsync plan scheduling-to-crm --config myprogram  |  "
    "refsync plan scheduling-to-crm --config myprogram --json > plan.json"
)
def plan(
    job: str = _job_argument(),
    config: Path = _CONFIG,
    state: str | None = _STATE,
    json_out: bool = typer.Option(False, "--json", help="Print the plan as JSON"),
) -> None:
    """Dry run: print what `run JOB` would create, update, move, archive or reject.

    Nothing is written anywhere (state included). Ends with the stage moves by stage.
    """
    setup_logging(False)  # warnings (e.g. insecure_http) on stderr, through the redaction
    with handle_errors(), engine_for(config, state) as engine:
        _warn_empty_exports(engine, job)
        report = engine.plan(job)
    _print_report(report, json_out)


@app.command(
    epilog="Examples:  refsync run scheduling-to-crm --config myprogram  |  "
    "refsync run scheduling-to-crm -c myprogram --log-json 2>run.log"
)
def run(
    job: str = _job_argument(),
    config: Path = _CONFIG,
    state: str | None = _STATE,
    log_json: bool = typer.Option(
        False, "--log-json", help="JSON log lines on stderr, with run_started/run_finished events"
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Run JOB once through the hub. Exit 1 if records were rejected (see `refsync errors`)."""
    setup_logging(log_json)
    with (
        handle_errors(),
        _progress(quiet=json_out or log_json) as progress,
        engine_for(
            config, state, progress=progress, progress_total=progress.total if progress else None
        ) as engine,
    ):
        _warn_empty_exports(engine, job)
        report = engine.run(job)
    _print_report(report, json_out)
    raise typer.Exit(report.exit_code())


class _Bars:
    """Rich progress per phase: records so far, and where the size of a phase is known
    (writes), a bar with the total and the time remaining."""

    def __init__(self, bars: Any) -> None:
        self._bars = bars
        self._tasks: dict[str, Any] = {}

    def _task(self, phase: str) -> Any:
        if phase not in self._tasks:
            self._tasks[phase] = self._bars.add_task(phase, total=None)
        return self._tasks[phase]

    def __call__(self, phase: str, records: int) -> None:
        self._bars.advance(self._task(phase), records)

    def total(self, phase: str, records: int) -> None:
        self._bars.update(self._task(phase), total=records)


@contextmanager
def _progress(quiet: bool) -> Iterator[_Bars | None]:
    """Rich progress per phase when attached to a terminal."""
    if quiet or not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bars:
        yield _Bars(bars)


@app.command(
    epilog="Examples:  refsync status --config myprogram  |  "
    "refsync status -c myprogram --job scheduling-to-crm --json"
)
def status(
    config: Path = _CONFIG,
    state: str | None = _STATE,
    job: str | None = typer.Option(
        None, help="Only this job (`refsync jobs` lists them)", autocompletion=_complete_jobs
    ),
    limit: int = typer.Option(10, help="Runs to show"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """The last runs per job with counts and durations, and each scheduled job's next run.

    Times are in the program's timezone.
    """
    from rich.table import Table

    with handle_errors(), store_for(config, state) as (store, program):
        runs = store.last_runs(job, limit=limit)
    tz = ZoneInfo(program.config.timezone)
    upcoming = _next_runs(program, datetime.now(UTC))
    rows = [{**_run_row(r, tz), "next_run": upcoming.get(r.job, "")} for r in runs]
    if json_out:
        console.print_json(json.dumps(rows))
        return
    table = Table(title=f"Last runs (times in {program.config.timezone})")
    for col in rows[0] if rows else ("run", "job", "status"):
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)
    if upcoming:
        shown = {n: t for n, t in upcoming.items() if job is None or n == job}
        console.print(
            "Next runs (`refsync schedule`): "
            + ", ".join(f"{name} at {when}" for name, when in sorted(shown.items()))
        )


def _run_row(r: Any, tz: ZoneInfo) -> dict[str, Any]:
    took = (r.finished_at - r.started_at).total_seconds() if r.finished_at else None
    counts = r.counts
    return {
        "run": r.id,
        "job": r.job,
        "status": r.status,
        "started": _local(r.started_at, tz),
        "seconds": None if took is None else round(took, 1),
        "read": sum(v for k, v in counts.get("read", {}).items() if k.endswith("/read")),
        "written": sum(
            v
            for k, v in counts.get("written", {}).items()
            if k.endswith(("/created", "/updated", "/archived"))
        ),
        "rejected": counts.get("rejected", 0),
    }


@app.command(
    epilog="Examples:  refsync errors --config myprogram  |  "
    "refsync errors scheduling-to-crm -c myprogram --all --json"
)
def errors(
    job: str | None = _job_argument(required=False),
    config: Path = _CONFIG,
    state: str | None = _STATE,
    json_out: bool = typer.Option(False, "--json", help="Print JSON"),
    show_all: bool = typer.Option(
        False, "--all", help="Also show resolved errors (the history), with a status column"
    ),
) -> None:
    """Open rejected records: system, object, key, field, code, message, first/last seen,
    attempts. An error is resolved once a later run (or `refsync retry`) syncs the record;
    `--all` lists resolved ones too. Times are in the program's timezone.
    """
    from rich.table import Table

    with handle_errors(), store_for(config, state) as (store, program):
        found = store.open_errors(job, include_resolved=show_all)
    tz = ZoneInfo(program.config.timezone)
    rows = [
        {
            "job": e.job, "system": e.system, "object": e.object, "key": e.key,
            "field": e.field, "code": e.code, "message": e.message,
            "first_seen": _local(e.first_seen, tz),
            "last_seen": _local(e.last_seen, tz), "attempts": e.attempts,
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


@app.command(epilog="Example:  refsync retry scheduling-to-crm --config myprogram")
def retry(job: str = _job_argument(), config: Path = _CONFIG, state: str | None = _STATE) -> None:
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
