"""Shared machinery of the Salesforce benchmarks (``salesforce_upsert.py``, ``salesforce_read.py``).

The sandbox runs in this process (server threads); every measured workload runs in a fresh
child process (``spawn``), so that its records/s is not shared with the server under one GIL
and its peak memory (``ru_maxrss``) is the client's alone. HTTP calls are counted by the
sandbox for the duration of the child's run (logins and describes included).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

from rich.console import Console
from rich.table import Table

from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.sandbox import SalesforceSandbox

__all__ = [
    "Result",
    "connector",
    "measure",
    "print_table",
    "referral",
    "sandbox_settings",
    "settings",
]


@dataclass
class Result:
    label: str
    records: int
    seconds: float
    calls: int
    peak_mb: float
    extra_mb: float
    cpu_seconds: float
    calls_by_label: dict[str, int]
    note: str = ""
    payload: Any = None

    @property
    def cpu_rate(self) -> float:
        """Records per second of the client's own CPU time (the server's speed left out)."""
        return self.records / self.cpu_seconds if self.cpu_seconds else float("inf")

    def calls_matching(self, *prefixes: str) -> int:
        return sum(n for label, n in self.calls_by_label.items() if label.startswith(prefixes))

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else float("inf")


def sandbox_settings(sb: SalesforceSandbox) -> dict[str, Any]:
    """Plain settings values a child process can rebuild a connector from (JWT login)."""
    return {
        "auth": "jwt",
        "login_url": sb.instance_url,
        "ca_file": sb.ca_file,
        "client_id": sb.client_id,
        "username": sb.username,
        "private_key_file": sb.private_key_file,
    }


def settings(values: dict[str, Any], **overrides: Any) -> SalesforceSettings:
    return SalesforceSettings(**{**values, **overrides})


def connector(values: dict[str, Any], **overrides: Any) -> SalesforceConnector:
    return SalesforceConnector(settings(values, **overrides))


def referral(i: int, partner: str | None = None, **fields: Any) -> dict[str, Any]:
    """One native Referral__c record with the fields the default mapping writes."""
    record = {
        "Refsync_Id__c": f"ref-{i:07d}",
        "Referral_Number__c": f"RN-{i:07d}",
        "Name": f"RN-{i:07d}",
        "Service_Line__c": "cardiology",
        "Stage__c": "Referred",
        "Urgency__c": "Routine",
        "Reason__c": "chest pain",
        "Received_At__c": "2024-05-01T10:00:00Z",
        "Documents_Received__c": "referral_order;clinical_notes",
        "Patient_Ref__c": f"pt-{i:07d}",
        **fields,
    }
    if partner is not None:
        record["Partner__r"] = {"Refsync_Id__c": partner}
    return record


def _status_mb(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process in MB (``ru_maxrss`` would carry the parent's
    peak across fork+exec; the mm's high-water mark starts fresh at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _child(fn: Callable[..., Any], args: tuple[Any, ...], queue: Any) -> None:
    try:
        prepared = fn("prepare", *args)
        _reset_peak()
        base = _status_mb("VmRSS")
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        count, payload = fn("run", *args, prepared=prepared)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        peak = _status_mb("VmHWM")
        extra = peak - base
        queue.put(("ok", count, seconds, peak, extra, cpu, payload))
    except BaseException as exc:  # report, do not hang the parent
        queue.put(("error", repr(exc)))


def _answer(queue: Any, process: Any) -> tuple[Any, ...]:
    """The child's answer; an error if it died without one (never wait forever)."""
    while True:
        try:
            return tuple(queue.get(timeout=1.0))
        except Empty:
            if not process.is_alive():
                return ("error", f"child exited with code {process.exitcode} and no answer")


def measure(
    sb: SalesforceSandbox, label: str, fn: Callable[..., Any], *args: Any, note: str = ""
) -> Result:
    """Run ``fn`` in a child process: ``fn("prepare", *args)`` untimed, then
    ``fn("run", *args, prepared=...)`` timed, returning (records, payload)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    before = dict(sb.stats.calls)
    process = ctx.Process(target=_child, args=(fn, args, queue))
    process.start()
    answer = _answer(queue, process)
    process.join()
    if answer[0] != "ok":
        raise RuntimeError(f"{label} failed in the child process: {answer[1]}")
    _, count, seconds, peak, extra, cpu, payload = answer
    by_label = {k: v - before.get(k, 0) for k, v in sb.stats.calls.items() if v > before.get(k, 0)}
    return Result(
        label, count, seconds, sum(by_label.values()), peak, extra, cpu, by_label, note, payload
    )


def print_table(
    title: str,
    results: list[Result],
    notes: list[str] = (),
    calls: Callable[[Result], str] = lambda r: f"{r.calls:,}",
    calls_title: str = "HTTP calls",
) -> None:
    table = Table(title=title)
    columns = (
        "run",
        "records",
        calls_title,
        "seconds",
        "records/s",
        "client CPU s",
        "records/client-CPU-s",
        "peak RSS MB",
        "+MB during run",
        "note",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("run", "note") else "right")
    for r in results:
        table.add_row(
            r.label,
            f"{r.records:,}",
            calls(r),
            f"{r.seconds:.2f}",
            f"{r.rate:,.0f}",
            f"{r.cpu_seconds:.2f}",
            f"{r.cpu_rate:,.0f}",
            f"{r.peak_mb:.0f}",
            f"{r.extra_mb:.0f}",
            r.note,
        )
    console = Console(width=200)
    console.print(table)
    for note in notes:
        console.print(note)
