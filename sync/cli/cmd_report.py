"""``refsync report`` and ``refsync pipeline``: the program's measures for people.

``report`` writes one self-contained HTML file (charts and tables, opens offline) and, with
``--csv DIR``, the same tables as CSV files. ``pipeline`` prints the stage funnel and the top
partners in the terminal. Both read the state store only (no connector is opened, no API is
called) and show aggregates only: no PHI, counts below ``--threshold`` (default 11, CMS
cell-size suppression) suppressed.

Exit codes: 0 written, 2 configuration (bad ``--since``, unknown ``--partner``), 4 state.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from sync.cli._app import app
from sync.cli._common import console, err_console, handle_errors, refsync_environment

if TYPE_CHECKING:  # the heavy parts load when a command runs, not for --help
    from config.loader import Program
    from mapping.measures import ProgramMeasures
    from sync.insights.tables import Table

__all__ = ["pipeline", "report"]

_CONFIG = typer.Option(Path("."), "--config", "-c", help="Program directory")
_STATE = typer.Option(
    None, "--state", help="State store URL (default: REFSYNC_STATE_URL or DIR/state.db)"
)
_SINCE = typer.Option(
    "365d", "--since", help="Start of the period: a date (2026-01-01) or days back (90d)"
)
_THRESHOLD = typer.Option(
    11, "--threshold", min=1, help="Counts below this are suppressed (CMS cell size: 11)"
)
_SMALL_CELL = 11  # CMS cell-size suppression policy
_AS_OF = typer.Option(None, "--as-of", help="Compute as of this ISO time (default: now)")
_ATTRIBUTION = typer.Option(
    None,
    "--attribution-days",
    min=0,
    help="Credit a referral to outreach this many days before it "
    "(default: measures.attribution_days in refsync.yaml, 30)",
)
_TOP = 10


def _now(as_of: str | None) -> datetime:
    if as_of is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        _bad(f"--as-of {as_of!r} is not an ISO time; write e.g. 2026-06-30T12:00:00+00:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _days(since: str, now: datetime) -> int:
    """The period's length in whole days (at least 1)."""
    text = since.strip().lower()
    if re.fullmatch(r"\d+d?", text):
        days = int(text.rstrip("d"))
    else:
        try:
            start = date.fromisoformat(text)
        except ValueError:
            _bad(f"--since {since!r} is neither a date (2026-01-01) nor days back (90d)")
        days = (now.date() - start).days + 1
    if days < 1:
        _bad(f"--since {since!r} covers no day; give a past date or at least 1d")
    return days


def _bad(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def _load(
    config: Path,
    state: str | None,
    now: datetime,
    days: int,
    threshold: int,
    attribution_days: int | None = None,
) -> tuple[Program, ProgramMeasures, dict[str, Table]]:
    from sync.engine import open_program
    from sync.insights import build_tables, load_program_data
    from sync.state import StateStore

    program = open_program(config)
    if threshold < _SMALL_CELL:
        # the report's declared tier (refsync privacy) rests on the suppression
        err_console.print(
            f"[yellow]warning:[/] --threshold {threshold} shows counts below {_SMALL_CELL}: "
            "small cells can identify a patient, so this report is no longer de-identified "
            "output; keep it inside the covered entity (refsync privacy lists the report as "
            f"deidentified with the default {_SMALL_CELL})",
            highlight=False,
        )
    url = refsync_environment().state_url_for(state, program.state_url)
    with StateStore.open(url) as store:
        data = load_program_data(store, program.definitions.values())
    from sync.insights.attribution import measure_config

    settings = measure_config(
        program.config.measures, windows=(days,), attribution_days=attribution_days
    )
    measures, tables = build_tables(data, now=now, days=days, threshold=threshold, config=settings)
    return program, measures, tables


@app.command()
def report(
    config: Path = _CONFIG,
    state: str | None = _STATE,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="HTML file (default DIR/report.html)"
    ),
    csv_dir: Path | None = typer.Option(None, "--csv", help="Also write each table as CSV here"),
    since: str = _SINCE,
    threshold: int = _THRESHOLD,
    as_of: str | None = _AS_OF,
    attribution_days: int | None = _ATTRIBUTION,
) -> None:
    """Write the program report: funnel, time to schedule, partner scorecard, outreach vs
    referrals, SLA breaches and data quality, in one HTML file that opens offline.

    Example: ``refsync report --config myprogram --out report.html --csv report-tables``
    """
    now = _now(as_of)
    days = _days(since, now)
    with handle_errors():
        program, _, tables = _load(config, state, now, days, threshold, attribution_days)
        target = out or program.root / "report.html"
        from sync.insights import write_csvs, write_report

        write_report(
            target,
            tables,
            program=program.root.resolve().name,
            now=now,
            days=days,
            threshold=threshold,
        )
        written = write_csvs(csv_dir, tables) if csv_dir is not None else []
    console.print(f"report written: {target}")
    for path in written:
        console.print(f"table written: {path}")


@app.command()
def pipeline(
    config: Path = _CONFIG,
    state: str | None = _STATE,
    partner: str | None = typer.Option(None, "--partner", help="Only this partner (its name)"),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of tables"),
    since: str = _SINCE,
    threshold: int = _THRESHOLD,
    as_of: str | None = _AS_OF,
) -> None:
    """The stage funnel and the top partners by volume, in the terminal.

    Example: ``refsync pipeline --config myprogram --partner "Northside Family Medicine"``
    """
    now = _now(as_of)
    days = _days(since, now)
    with handle_errors():
        _, measures, tables = _load(config, state, now, days, threshold)
    funnel, scorecard = tables["funnel"], tables["scorecard"]
    top = scorecard.rows[:_TOP]
    if partner is not None:
        wanted = partner.strip().casefold()
        found = [p for p in measures.partners if p.name.strip().casefold() == wanted]
        if not found:
            _bad(
                f"no partner named {partner!r} in the state store; check the name "
                "(`refsync pipeline` lists the top partners)"
            )
        from sync.insights.tables import funnel_table

        funnel = funnel_table(found[0].windows[days], threshold)
        top = [r for r in scorecard.rows if str(r["partner"]).strip().casefold() == wanted]
    if json_out:
        console.print_json(json.dumps({"days": days, "funnel": funnel.rows, "partners": top}))
        return
    title = f"last {days} days to {now.date().isoformat()}"
    _print(funnel, f"Stage funnel, {title}", funnel.columns)
    columns = (
        "partner",
        "referrals",
        "completed",
        "acceptance_rate",
        "leakage_rate",
        "median_days_to_schedule",
        "days_since_outreach",
        "trend",
        "status",
    )
    from sync.insights.tables import Table

    _print(Table("partners", "", columns, top), f"Top partners by volume, {title}", columns)


def _print(table: Table, title: str, columns: tuple[str, ...]) -> None:
    from rich.table import Table as RichTable

    out = RichTable(title=title)
    for column in columns:
        out.add_column(column, justify="left" if column in ("stage", "partner") else "right")
    for row in table.rows:
        out.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console.print(out)
