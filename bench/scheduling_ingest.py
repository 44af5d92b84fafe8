"""Benchmark: stream a large Epic-style export through the scheduling connector.

Generates Epic Cadence exports of 100,000 and 1,000,000 rows (banner lines, BOM, CRLF, mixed
statuses, MRNs with and without leading zeros, some Excel serial dates, totals row) in a
temporary directory, then reads each one in a fresh process:

- ``connector``: ``SchedulingConnector.read("stage_event")`` consuming every page;
- ``naive``: ``list(csv.DictReader(...))`` - loading the whole file the obvious way.

The two alternate for ``--rounds`` rounds per size (the machine's load moves between runs);
each line shows the round of median CPU of its reader.

Prints rows/s, CPU seconds (and the connector's CPU as a multiple of the naive load's) and
peak RSS (``ru_maxrss`` of that process) side by side. Memory of the
connector must stay flat between 100k and 1M rows; the naive load grows with the file.

The goal (issue 15) is 2x the naive CPU. Measured on the 2-core machine (4 Dec 2026, load
1.2-2.5, three rounds, old and new code alternating): at 1M rows the connector takes 8.9-9.1 s
of CPU, 3.46x the naive load's 2.6-2.7 s, down from 10.0 s (3.67-3.77x) once the caches of
mostly distinct cells shrank from 8,192 to 256 entries (their misses had left the CPU caches);
peak RSS 41 MB (was 45). Under callgrind the naive load runs 29.5k instructions per row and
the connector 99.5k (3.4x; OpenSSL runs without SHA-NI there, so hashing weighs more than on
the CPU). Of the connector's ~9 us of CPU per row, by ablation (200,000 rows, +-0.3 us):
``csv.reader`` and the row loop ~1.3 (what the naive load spends, less its dicts), the keyed
HMAC of the MRN ~1.1 (the generated MRNs are nearly all distinct), the record and its event
stamp (two slotted objects, their id and source strings) ~1.1, the appointment time ~1.0,
the made-at time and the SHA-256 of the event id ~0.3 each, the rest (the 21-field dict, ids,
NPI, department, status; cyclic GC ~6 % by perf) ~4: no single step left to remove. An
export with separate date and time columns (athenahealth) now costs about the same per row
(its appointment time reads the same cached parts: 1.8 s of CPU at 200,000 rows, was 3.9).
``REFSYNC_BENCH_PROFILE=<dir>`` makes each child dump a cProfile (``<mode>-<pid>.prof``).

Usage: python bench/scheduling_ingest.py [--sizes 100000 1000000] [--rounds 3] [--json F]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HEADER = [
    "PAT_ENC_CSN_ID", "PAT_MRN_ID", "PAT_NAME", "BIRTH_DATE", "APPT_DTTM", "APPT_MADE_DTTM",
    "APPT_STATUS_C", "APPT_STATUS_NAME", "APPT_CANC_DTTM", "CANCEL_REASON_NAME",
    "DEPARTMENT_NAME", "PRC_NAME", "REFERRAL_ID", "REFERRING_PROV_NPI",
]  # fmt: skip
STATUSES = [("1", "Scheduled"), ("2", "Completed"), ("3", "Canceled"), ("4", "No Show"),
            ("5", "Left without seen"), ("6", "Arrived")]  # fmt: skip
DEPARTMENTS = ["CARDIOLOGY CLINIC", "ORTHO SPINE CENTER", "SLEEP LAB", "GI ENDOSCOPY"]
NPIS = ["1234567893", "1558598797", "1993999998", ""]
KEY = "bench-patient-key-0123456789abcdef"


def generate(path: Path, rows: int, seed: int = 42) -> None:
    rng = random.Random(seed)
    start = datetime(2024, 1, 2, 8, 0)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        fh.write("Department Appointments Report\r\nRun: 03/12/2024 06:00 AM\r\n\r\n")
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(HEADER)
        for i in range(rows):
            appt = start + timedelta(minutes=15 * rng.randrange(0, 40_000))
            made = appt - timedelta(days=rng.randrange(1, 60), minutes=rng.randrange(0, 600))
            code, name = STATUSES[rng.randrange(len(STATUSES))]
            when = appt.strftime("%m/%d/%Y %I:%M %p")
            if i % 50 == 0:  # re-saved through Excel
                when = f"{(appt - datetime(1899, 12, 30)).total_seconds() / 86400:.6f}"
            mrn = f"{rng.randrange(1, 10**7):08d}"
            writer.writerow([
                7_000_000 + i, mrn.lstrip("0") if i % 3 == 0 else mrn,
                f"PATIENT,NUMBER {i}", "04/02/1961", when, made.strftime("%m/%d/%Y %I:%M %p"),
                code, name, made.strftime("%m/%d/%Y %I:%M %p") if code == "3" else "",
                "Patient Request" if code == "3" else "", DEPARTMENTS[i % len(DEPARTMENTS)],
                "NEW PATIENT VISIT", f"R-{100000 + i % 250_000}" if i % 4 else "",
                NPIS[i % len(NPIS)],
            ])  # fmt: skip
        fh.write(f"Total,{rows}\r\n\r\n")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_connector(path: Path) -> dict[str, float]:
    from connectors.scheduling import SchedulingConnector, SchedulingSettings

    settings = SchedulingSettings(
        path=path, preset="epic_cadence", timezone="America/Chicago", page_size=1000
    )
    connector = SchedulingConnector(settings, environ={"REFSYNC_PATIENT_KEY": KEY})
    baseline = _peak_rss_mb()
    began, cpu = time.perf_counter(), _cpu()
    records = rejects = 0
    for page in connector.read("stage_event", since=None, fields=()):
        records += len(page.records)
        rejects += len(page.rejects)
    seconds = time.perf_counter() - began
    return {"rows": connector.stats.rows, "records": records, "rejects": rejects,
            "seconds": seconds, "cpu": _cpu() - cpu, "baseline_mb": baseline,
            "peak_mb": _peak_rss_mb()}  # fmt: skip


def child_naive(path: Path) -> dict[str, float]:
    baseline = _peak_rss_mb()
    began, cpu = time.perf_counter(), _cpu()
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for _ in range(3):  # skip the banner the naive way
            fh.readline()
        rows = list(csv.DictReader(fh))
    seconds = time.perf_counter() - began
    return {"rows": len(rows), "records": len(rows), "rejects": 0, "seconds": seconds,
            "cpu": _cpu() - cpu, "baseline_mb": baseline, "peak_mb": _peak_rss_mb()}  # fmt: skip


def _measure(mode: str, path: Path) -> dict[str, float]:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    measure: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return measure


def _run_child(mode: str, path: Path) -> dict[str, float]:
    """The child's measure; under cProfile when ``REFSYNC_BENCH_PROFILE`` names a folder."""
    fn = child_connector if mode == "connector" else child_naive
    folder = os.environ.get("REFSYNC_BENCH_PROFILE")
    if not folder:
        return fn(path)
    import cProfile

    profile = cProfile.Profile()
    try:
        return profile.runcall(fn, path)
    finally:
        Path(folder).mkdir(parents=True, exist_ok=True)
        profile.dump_stats(Path(folder) / f"{mode}-{os.getpid()}.prof")


def _median_cpu(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run of median CPU (a real run, not a mix of several)."""
    return sorted(runs, key=lambda m: m["cpu"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per size")
    parser.add_argument("--json", type=Path, help="also write every measure here")
    args = parser.parse_args()
    if args.child:
        mode, path = args.child
        print(json.dumps(_run_child(mode, Path(path))))
        return
    print(f"{'rows':>9} {'reader':>9} {'rows/s':>9} {'seconds':>8} {'CPU s':>7} "
          f"{'x naive CPU':>11} {'peak RSS':>9} {'(+ over start)':>14} {'file MB':>8}")  # fmt: skip
    measures = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"epic_{size}.csv"
            generate(path, size)
            mb = path.stat().st_size / 2**20
            runs: dict[str, list[dict[str, float]]] = {"naive": [], "connector": []}
            for _ in range(max(args.rounds, 1)):
                for mode, measures_of_mode in runs.items():
                    measures_of_mode.append(_measure(mode, path))
            pair = {mode: _median_cpu(got) for mode, got in runs.items()}
            for mode in ("connector", "naive"):
                m = pair[mode]
                rate = m["rows"] / m["seconds"]
                grow = m["peak_mb"] - m["baseline_mb"]
                ratio = m["cpu"] / max(pair["naive"]["cpu"], 1e-9)
                print(f"{size:>9,} {mode:>9} {rate:>9,.0f} {m['seconds']:>8.1f} "
                      f"{m['cpu']:>7.1f} {ratio:>11.2f} {m['peak_mb']:>7.0f}MB "
                      f"{grow:>12.0f}MB {mb:>8.1f}")  # fmt: skip
                measures.append({"size": size, "reader": mode, "file_mb": mb, **m})
            path.unlink()
    if args.json:
        args.json.write_text(json.dumps({"load": os.getloadavg()[0], "measures": measures}))


if __name__ == "__main__":
    main()
