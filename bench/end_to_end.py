"""End to end: N referrals from an Epic-style export to Salesforce and HubSpot.

Run: ``python bench/end_to_end.py [--n 100000] [--naive-sample 500] [--ten-second-limit 190]``

The job ``scheduling-to-crm`` of the shipped templates runs against both CRM sandboxes
(in this process; HubSpot's 10-second burst limit at the realistic 190, so the cost of
refsync's client-side rate limiter shows). Each run is ``Engine.run`` in a fresh process,
as ``refsync run`` does it, so its wall time, CPU time and peak RSS are the client's alone:

- ``refsync first run``: empty CRMs, N referrals created in each;
- ``refsync second run``: no source change; must make zero write calls.

Beside it, the way a user would script it by hand: for each export row,
``sf.Referral__c.upsert("Referral_Number__c/<n>", ...)`` with simple-salesforce, then a HubSpot
``basic_api.get_by_id(<n>, id_property="refsync_id")`` and ``basic_api.create`` or
``basic_api.update`` with hubspot-api-client (sleeping 1 s on a 429). It runs on the first
``--naive-sample`` rows only (a first pass that creates, a second that updates) and its time
and calls are EXTRAPOLATED linearly to N; the table says so.

Prints the runs, the HTTP calls per endpoint and the phase breakdown of each refsync run.
Exits non-zero if a run fails, a CRM does not hold exactly N referrals, or the second run
writes anything.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _engine import JOB, Systems, engine_run, in_child, stats_delta, systems
from rich.console import Console
from rich.table import Table

_STAGES = {"1": "Scheduled", "2": "Completed", "3": "Cancelled", "4": "No Show", "6": "Scheduled"}
_LOCAL = ZoneInfo("America/Chicago")
_CONSOLE = Console(width=200)


# -- the naive script (runs in a child process) ---------------------------------------------


def _when(text: str) -> datetime | None:
    return datetime.strptime(text, "%m/%d/%Y %I:%M %p").replace(tzinfo=_LOCAL) if text else None


def _sf_body(row: dict[str, str]) -> dict[str, Any]:
    appt, done = _when(row["APPT_DTTM"]), _when(row["CHECKOUT_DTTM"])
    return {
        "Name": row["REFERRAL_ID"],
        "Stage__c": _STAGES[row["APPT_STATUS_C"]],
        "Service_Line__c": "cardiology" if "CARDIO" in row["DEPARTMENT_NAME"] else "orthopedics",
        "Appointment_At__c": appt.isoformat() if appt else None,
        "Completed_At__c": done.isoformat() if done else None,
        "Cancel_Reason__c": row["CANCEL_REASON_NAME"] or None,
    }


def _hs_props(row: dict[str, str], pipeline: str, stages: dict[str, str]) -> dict[str, str]:
    appt, done = _when(row["APPT_DTTM"]), _when(row["CHECKOUT_DTTM"])
    number = row["REFERRAL_ID"]
    return {
        "dealname": f"Referral {number}",
        "refsync_id": number,
        "refsync_referral_number": number,
        "pipeline": pipeline,
        "dealstage": stages[_STAGES[row["APPT_STATUS_C"]]],
        "refsync_appointment_at": str(int(appt.timestamp() * 1000)) if appt else "",
        "refsync_completed_at": str(int(done.timestamp() * 1000)) if done else "",
        "refsync_cancel_reason": row["CANCEL_REASON_NAME"],
    }


def _patiently(call: Any, waits: list[int]) -> Any:
    """What a user adds after the first 429: sleep a second and try again."""
    from hubspot.crm.deals import ApiException

    while True:
        try:
            return call()
        except ApiException as exc:
            if exc.status != 429:
                raise
            waits[0] += 1
            time.sleep(1.0)


def _hs_upsert(hs: Any, props: dict[str, str], waits: list[int]) -> None:
    from hubspot.crm.deals import ApiException, SimplePublicObjectInput
    from hubspot.crm.deals import SimplePublicObjectInputForCreate as ForCreate

    api = hs.crm.deals.basic_api
    try:
        found = _patiently(
            lambda: api.get_by_id(props["refsync_id"], id_property="refsync_id"), waits
        )
    except ApiException as exc:
        if exc.status != 404:
            raise
        _patiently(lambda: api.create(ForCreate(properties=props)), waits)
    else:
        _patiently(lambda: api.update(found.id, SimplePublicObjectInput(properties=props)), waits)


def naive_run(
    sf_conf: dict[str, str], hs_conf: dict[str, str], path: str, cap: int
) -> dict[str, Any]:
    """Child side: the per-record script over the first ``cap`` rows of the export."""
    import requests
    from hubspot import HubSpot
    from simple_salesforce import Salesforce

    http = requests.Session()
    http.verify = sf_conf["ca_file"]
    http.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would replace verify
    sf = Salesforce(
        instance_url=sf_conf["url"], session_id=sf_conf["token"], session=http, version="62.0"
    )
    hs = HubSpot(access_token=hs_conf["token"], host=hs_conf["url"])
    pipelines = hs.crm.pipelines.pipelines_api.get_all("deals").results
    pipeline = next(p for p in pipelines if p.label == "Referrals")
    stages = {s.label: s.id for s in pipeline.stages}
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(islice(csv.DictReader(fh), cap))
    waits = [0]
    start = time.perf_counter()
    for row in rows:
        sf.Referral__c.upsert(f"Referral_Number__c/{row['REFERRAL_ID']}", _sf_body(row))
        _hs_upsert(hs, _hs_props(row, pipeline.id, stages), waits)
    return {"records": len(rows), "seconds": time.perf_counter() - start, "slept_on_429": waits[0]}


# -- measuring -------------------------------------------------------------------------------


def _measure_refsync(s: Systems, label: str) -> dict[str, Any]:
    s.sf.stats.reset()
    s.hs.stats.reset()
    run = in_child(engine_run, str(s.root), JOB)
    run.update(label=label, sf=stats_delta(s.sf), hs=stats_delta(s.hs))
    return run


def _measure_naive(s: Systems, label: str, path: Path, cap: int) -> dict[str, Any]:
    time.sleep(10.5)  # each pass starts with HubSpot's 10-second window empty, as refsync's did
    s.sf.stats.reset()
    s.hs.stats.reset()
    sf_conf = {"url": s.sf.instance_url, "token": s.sf.session_id, "ca_file": s.sf.ca_file}
    hs_conf = {"url": s.hs.base_url, "token": s.hs.token}
    run = in_child(naive_run, sf_conf, hs_conf, str(path), cap)
    run.update(label=label, sf=stats_delta(s.sf), hs=stats_delta(s.hs))
    return run


def _check(
    first: dict[str, Any], second: dict[str, Any], counts: tuple[int, int], n: int
) -> list[str]:
    problems = []
    for run in (first, second):
        if run["status"] != "ok":
            problems.append(f"{run['label']}: status {run['status']} ({run['summary']})")
    if counts != (n, n):
        problems.append(
            f"after the first run Salesforce/HubSpot hold {counts}, expected ({n}, {n})"
        )
    writes = second["sf"]["write_calls"] + second["hs"]["write_calls"]
    if writes:
        problems.append(f"the no-change second run made {writes} write calls (expected 0)")
    return problems


# -- printing --------------------------------------------------------------------------------


def _calls(stats: dict[str, Any], factor: float = 1.0) -> str:
    """Total (write) calls; scaled by ``factor`` except the one-off pipeline lookup."""
    once = sum(n for label, n in stats["calls"].items() if "pipelines" in label)
    total = once + (stats["total"] - once) * factor
    return f"{total:,.0f} ({stats['write_calls'] * factor:,.0f} writes)"


def _limits(run: dict[str, Any], factor: float = 1.0) -> str:
    hits = sum(v for k, v in run["hs"]["faults"].items() if k.startswith("rate_limited"))
    return f"{hits * factor:,.0f}"


def _refsync_row(run: dict[str, Any], n: int) -> list[str]:
    wait = run["limiter_seconds"].get("hubspot", 0.0)
    return [
        run["label"], f"{n:,}", f"{run['seconds']:.1f}", f"{run['process_seconds']:.1f}",
        f"{n / run['seconds']:,.0f}", _calls(run["sf"]), _calls(run["hs"]), _limits(run),
        f"{wait:.1f} ({wait / run['seconds']:.0%})", f"{run['cpu_seconds']:.1f}",
        f"{run['peak_mb']:.0f}", "",
    ]  # fmt: skip


def _naive_row(run: dict[str, Any], n: int) -> list[str]:
    factor = n / run["records"]
    seconds = run["seconds"] * factor
    note = (
        f"EXTRAPOLATED x{factor:,.0f} from {run['records']:,} records "
        f"({run['seconds']:.1f}s, {run['sf']['total'] + run['hs']['total']:,} calls)"
    )
    return [
        run["label"], f"{n:,}", f"{seconds:,.0f}", "-", f"{n / seconds:,.1f}",
        _calls(run["sf"], factor), _calls(run["hs"], factor), _limits(run, factor),
        f"{run['slept_on_429'] * factor:,.0f} s asleep on 429", f"{run['cpu_seconds'] * factor:.1f}",
        f"{run['peak_mb']:.0f}", note,
    ]  # fmt: skip


def _print_runs(n: int, refsync: list[dict[str, Any]], naive: list[dict[str, Any]]) -> None:
    table = Table(title=f"{n:,} referrals, Epic export -> Salesforce + HubSpot (job {JOB})")
    for col in (
        "run", "records", "run s", "process s", "records/s", "Salesforce HTTP calls",
        "HubSpot HTTP calls", "HubSpot 429s", "HubSpot limiter wait s (share)", "client CPU s",
        "peak RSS MB", "note",
    ):  # fmt: skip
        table.add_column(col, justify="left" if col in ("run", "note") else "right")
    for run in refsync:
        table.add_row(*_refsync_row(run, n))
    for run in naive:
        table.add_row(*_naive_row(run, n))
    _CONSOLE.print(table)
    _CONSOLE.print(
        "run s: Engine.run (or the naive loop); process s: spawn to exit of the child process, "
        "interpreter start and imports included. Peak RSS: VmHWM of that process. Naive rows: "
        "time, calls and CPU scaled linearly from the sample, peak RSS is the sample's; each "
        "pass starts with an empty HubSpot 10-second window (190 calls free of waiting), which "
        "flatters the extrapolated naive time slightly."
    )


def _print_endpoints(runs: list[dict[str, Any]]) -> None:
    table = Table(title="HTTP calls per endpoint (sandbox counters; naive: the sample itself)")
    table.add_column("system")
    table.add_column("endpoint")
    for run in runs:
        table.add_column(run["label"], justify="right")
    for system in ("sf", "hs"):
        labels = sorted({k for run in runs for k in run[system]["calls"]})
        for label in labels:
            counts = [f"{run[system]['calls'].get(label, 0):,}" for run in runs]
            table.add_row("Salesforce" if system == "sf" else "HubSpot", label, *counts)
    _CONSOLE.print(table)


def _phase_rows(run: dict[str, Any]) -> dict[str, float]:
    phases = dict(run["phases"])
    top = ("read + translate + merge", "derive (qualify, rollups)", "write (all destinations)")
    rows = {name: phases.get(name, 0.0) for name in top}
    for name, seconds in phases.items():
        if name.startswith("write to "):
            rows[f"  {name}"] = seconds
            dest = name.removeprefix("write to ")
            rows[f"    of which {dest} connector.upsert"] = run["upsert_seconds"].get(dest, 0.0)
            if dest == "hubspot":
                rows["      of which rate-limiter wait"] = run["limiter_seconds"].get(dest, 0.0)
    rows["other (lock, definitions, bookmarks, outputs, run record)"] = run["seconds"] - sum(
        phases.get(name, 0.0) for name in top
    )
    return rows


def _print_phases(runs: list[dict[str, Any]]) -> None:
    table = Table(title="Where a refsync run spends its time (wall seconds, share of Engine.run)")
    table.add_column("phase")
    for run in runs:
        table.add_column(run["label"], justify="right")
    rows = [_phase_rows(run) for run in runs]
    for name in rows[0]:
        cells = [
            f"{r.get(name, 0.0):.2f} ({r.get(name, 0.0) / run['seconds']:.0%})"
            for r, run in zip(rows, runs, strict=True)
        ]
        table.add_row(name, *cells)
    _CONSOLE.print(table)


def _print_write_cpu(runs: list[dict[str, Any]]) -> None:
    """The CPU seconds of the write threads (``time.thread_time`` in each, summed): the
    client's own cost of writing, apart from the wall time spent waiting on the servers."""
    for run in runs:
        per = run["write_cpu_seconds"]
        parts = ", ".join(f"{dest} {seconds:.2f}" for dest, seconds in sorted(per.items()))
        _CONSOLE.print(
            f"CPU seconds of the write threads, {run['label']}: {sum(per.values()):.2f} ({parts})"
        )


def _print_phase_peaks(runs: list[dict[str, Any]]) -> None:
    """The largest RSS sampled in each phase (every 50 ms): where a run's peak is reached."""
    for run in runs:
        peaks = run.get("phase_peak_mb", {})
        parts = ", ".join(f"{name} {mb:.0f}" for name, mb in peaks.items())
        _CONSOLE.print(f"Peak RSS (MB) by phase, {run['label']}: {parts}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=500)
    parser.add_argument("--ten-second-limit", type=int, default=190)
    args = parser.parse_args()
    with systems(args.ten_second_limit) as s:
        path = s.write_export("referrals.csv", args.n)
        first = _measure_refsync(s, "refsync first run")
        counts = s.counts()
        second = _measure_refsync(s, "refsync second run (no change)")
        problems = _check(first, second, counts, args.n)
        s.fresh()
        cap = min(args.naive_sample, args.n)
        naive = [
            _measure_naive(s, "naive script, first pass (creates)", path, cap),
            _measure_naive(s, "naive script, second pass (same rows)", path, cap),
        ]
    _print_runs(args.n, [first, second], naive)
    _print_endpoints([first, second, *naive])
    _print_phases([first, second])
    _print_write_cpu([first, second])
    _print_phase_peaks([first, second])
    for line in (first["summary"], second["summary"], *problems):
        _CONSOLE.print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
