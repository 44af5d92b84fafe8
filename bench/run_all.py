"""Run every benchmark in ``bench/`` and write ``docs/benchmarks.md`` with what each one measured.

Run: ``python bench/run_all.py [--full] [--rounds 1] [--only NAME ...] [--out docs/benchmarks.md]``

By default every script runs at small sizes (the whole set takes about ten minutes on a
2-core machine); ``--full`` uses the sizes of the throughput issue (100,000 records per CRM,
1,000,000 export rows, 100,000 referrals end to end: hours). Each script runs ``--rounds``
times in a fresh process; the file gets, per script, its wall time and CPU time (min /
median / max over the rounds) with the machine's load average before and after, and the
last round's own printed table. The two side-by-side benchmarks also hand back every
figure (``--json``), from which the file builds the ratio tables: refsync against dlt and
the raw client loops per CRM, the scheduling connector's CPU against the naive CSV load.

Figures depend on the machine and its load; the ratios measured within one run compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Bench:
    """One script, its arguments at small and at full size, and whether it writes JSON."""

    name: str
    script: str
    small: tuple[str, ...]
    full: tuple[str, ...] = ()  # empty: the script's own defaults, which are the issue sizes
    json: bool = False


BENCHES = (
    Bench("read side by side", "read_side_by_side.py", ("--records", "20000", "--rounds", "3"),
          ("--records", "100000", "--rounds", "3"), json=True),
    Bench("scheduling ingest", "scheduling_ingest.py", ("--sizes", "100000"),
          ("--sizes", "100000", "1000000"), json=True),
    Bench("end to end", "end_to_end.py", ("--n", "3000", "--naive-sample", "100")),
    Bench("change cost", "change_cost.py",
          ("--sizes", "3000", "9000", "--changes", "200", "--export", "delta")),
    Bench("salesforce read", "salesforce_read.py", ("--records", "10000", "--changes", "100")),
    Bench("hubspot read", "hubspot_read.py", ("--companies", "5000", "--changes", "100")),
    Bench("salesforce upsert", "salesforce_upsert.py",
          ("--sizes", "1000,10000", "--naive-cap", "500")),
    Bench("hubspot upsert", "hubspot_upsert.py", ("--sizes", "1000,5000", "--naive-sample", "100")),
    Bench("crash consistency", "crash_consistency.py", ("--n", "1000", "--points", "3")),
    Bench("state bulk", "state_bulk.py", ("--n", "10000")),
    Bench("sandbox throughput", "sandbox_throughput.py", ("--records", "10000", "--seconds", "1")),
    Bench("hubspot sandbox", "hubspot_sandbox.py", ("--records", "10000", "--calls", "500")),
    Bench("measures", "measures.py", ()),  # no size option: always 100,000 referrals
)  # fmt: skip


@dataclass
class Outcome:
    """What the rounds of one script measured."""

    bench: Bench
    args: tuple[str, ...]
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    loads: list[tuple[float, float]] = field(default_factory=list)  # (before, after) per round
    status: int = 0
    output: str = ""
    data: dict[str, Any] | None = None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(bench: Bench, args: tuple[str, ...], rounds: int, workdir: Path) -> Outcome:
    outcome = Outcome(bench, args)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RUNTIME__LOG_LEVEL": "WARNING"}
    for _ in range(rounds):
        extra: tuple[str, ...] = ()
        dump = workdir / f"{bench.script}.json"
        if bench.json:
            extra = ("--json", str(dump))
        load, cpu, began = os.getloadavg()[0], _children_cpu(), time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / bench.script), *args, *extra],
            capture_output=True, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
        outcome.walls.append(time.perf_counter() - began)
        outcome.cpus.append(_children_cpu() - cpu)
        outcome.loads.append((load, os.getloadavg()[0]))
        outcome.status = done.returncode
        text = done.stdout + ("\n" + done.stderr if done.returncode else "")
        outcome.output = "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
        if done.returncode != 0:
            break
        if bench.json and dump.exists():
            outcome.data = json.loads(dump.read_text(encoding="utf-8"))
    return outcome


def _mmm(values: list[float], fmt: str = "{:,.1f}") -> str:
    if not values:
        return "-"
    lo, mid, hi = min(values), statistics.median(values), max(values)
    return f"{fmt.format(lo)} / {fmt.format(mid)} / {fmt.format(hi)}"


def _rates(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [r["records"] / max(r[key], 1e-9) for r in runs]


def _read_tables(data: dict[str, Any]) -> list[str]:
    lines = [
        f"{data['records']:,} records per CRM, {data['rounds']} interleaved rounds, each reader "
        f"in a fresh process; dlt: {data['dlt']}; load average per round: "
        + ", ".join(f"{x:.2f}" for x in data["loads"]),
        "",
        "| CRM | reader | calls | rec/s wall (min / median / max) | rec/CPU-s (min / median / max) "
        "| refsync ÷ reader, wall | refsync ÷ reader, CPU |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for system, title in (("sf", "Salesforce"), ("hs", "HubSpot")):
        results = data["results"][system]
        base = results.get("refsync") or []
        base_wall = statistics.median(_rates(base, "wall")) if base else 0.0
        base_cpu = statistics.median(_rates(base, "cpu")) if base else 0.0
        for reader, runs in results.items():
            wall, cpu = _rates(runs, "wall"), _rates(runs, "cpu")
            calls = statistics.median(r["calls"] for r in runs)
            lines.append(
                f"| {title} | {reader} | {calls:,.0f} | {_mmm(wall, '{:,.0f}')} | "
                f"{_mmm(cpu, '{:,.0f}')} | {base_wall / statistics.median(wall):.2f}x | "
                f"{base_cpu / statistics.median(cpu):.2f}x |"
            )
    return lines


def _ingest_tables(data: dict[str, Any]) -> list[str]:
    lines = [
        f"Load average at the end: {data['load']:.2f}.",
        "",
        "| rows | reader | rows/s | wall s | CPU s | CPU ÷ naive CPU | peak RSS MB | + over start MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    naive = {m["size"]: m["cpu"] for m in data["measures"] if m["reader"] == "naive"}
    for m in data["measures"]:
        ratio = m["cpu"] / max(naive.get(m["size"], 0.0), 1e-9)
        lines.append(
            f"| {m['size']:,} | {m['reader']} | {m['rows'] / m['seconds']:,.0f} | "
            f"{m['seconds']:.1f} | {m['cpu']:.1f} | {ratio:.2f}x | {m['peak_mb']:.0f} | "
            f"{m['peak_mb'] - m['baseline_mb']:.0f} |"
        )
    return lines


def _summary_table(outcomes: list[Outcome]) -> list[str]:
    lines = [
        "| benchmark | arguments | runs | wall s (min / median / max) | CPU s of the script's "
        "processes (min / median / max) | load before → after | status |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for o in outcomes:
        loads = ", ".join(f"{a:.2f} → {b:.2f}" for a, b in o.loads)
        status = "ok" if o.status == 0 else f"failed ({o.status})"
        lines.append(
            f"| `{o.bench.script}` | `{' '.join(o.args) or '(defaults)'}` | {len(o.walls)} | "
            f"{_mmm(o.walls)} | {_mmm(o.cpus)} | {loads} | {status} |"
        )
    return lines


def render(outcomes: list[Outcome], *, full: bool, started: datetime) -> str:
    """The docs/benchmarks.md text for ``outcomes``."""
    load = os.getloadavg()
    out = [
        "# Benchmarks",
        "",
        f"Written by `python bench/run_all.py{' --full' if full else ''}` on "
        f"{started:%Y-%m-%d %H:%M} UTC: {os.cpu_count()} CPUs, {platform.python_version()} "
        f"({platform.machine()}), load average at the end {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f}. Sizes are {'the issue sizes' if full else 'the small defaults'}; "
        "the machine is shared, so compare the ratios measured within one run.",
        "",
    ]
    sections = {"read side by side": ("Reads side by side", _read_tables),
                "scheduling ingest": ("Scheduling export ingest", _ingest_tables)}  # fmt: skip
    for o in outcomes:
        if o.bench.name in sections and o.data is not None:
            title, table = sections[o.bench.name]
            out += [f"## {title}", "", *table(o.data), ""]
    out += ["## Every benchmark", "", *_summary_table(outcomes), ""]
    for o in outcomes:
        out += [f"### `{o.bench.script}`", "", "```", o.output or "(no output)", "```", ""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (hours)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each script")
    parser.add_argument("--only", nargs="+", help="benchmark names or scripts to run")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.name in args.only or b.script in args.only]
    started = datetime.now(UTC)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="refsync-bench-") as tmp:
        for bench in chosen:
            bench_args = bench.full if args.full else bench.small
            print(f"{bench.name}: {' '.join(bench_args)}", flush=True)
            outcomes.append(_run(bench, bench_args, args.rounds, Path(tmp)))
    args.out.write_text(render(outcomes, full=args.full, started=started), encoding="utf-8")
    failed = [o.bench.script for o in outcomes if o.status != 0]
    print(f"wrote {args.out}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
