"""What a run costs when K referrals changed among N: it should follow K, not N.

Run: ``python bench/change_cost.py [--sizes 100000 300000] [--changes 1000]
[--code before=<commit> ...] [--seed-dir DIR] [--rounds R] [--spacing S] [--json OUT]``

For each code version (``after`` is this checkout; ``--code NAME=<commit>`` adds another,
checked out into a temporary git worktree) and each size N:

1. seed: a program (the shipped templates, job ``scheduling-to-crm``) with both CRM
   sandboxes keeping their records in data folders, an Epic-style export of N referrals,
   and one real first run (the one way to leave exactly what a run leaves); then a run
   with no change, which must write nothing. The seeded folder is kept under ``--seed-dir``
   when given and reused by later invocations (a first run of 300,000 takes many minutes);
2. copy the seeded folder, restart the sandboxes from the copy, change K scheduled
   referrals of the export to completed (checked in and out), and run once, measured. The
   changes come in the whole export written again (``--export snapshot``) or in a new file
   of the changed rows beside it (``--export delta``, a daily file of what changed). Then
   K other referrals change and a second run is measured: the one the table shows, with
   the first's CPU beside it. The first run after the seed's import also compares the
   versions of the records the import stored within the people files' margin (five
   minutes) before its mark, once (see ``sync/engine/outputs.py``). The second run's K
   referrals were arrived (checked in), not scheduled. With ``--rounds R``, R runs follow
   the first (K scheduled, then K arrived referrals completed, in turn): the table shows
   the one of median CPU, with the least and most beside it (one run varies by a tenth of
   a second or more on a shared machine). The programs (code versions and sizes) take
   turns, each on its own copy, so the machine's drift falls on each alike. Their
   sandboxes stay open together in this process: about 5 GB for each program of 1,000,000
   referrals (11 GB for two of them and two of 100,000), which the OS then cannot give to
   caching the state files.

Runs seconds apart carry the changes of the runs just before them: the write and people
marks look back five minutes (``MARGIN``) for changes committed while a run read, so each
such run looks at up to (rounds + 1) x K referrals. A scheduled job (daily, or every 15
minutes) sees its own K only: ``--spacing 310`` starts each program's run 310 s after its
last one ended, the other programs' runs filling the wait.

``--linked`` seeds a program whose referrals link to their referrers: the three partners and
clinicians of the demo are in Salesforce and, by a run of job ``partners-to-hubspot``, in the
state before the export's first run, and every referral names one of those clinicians. So a
change run also recomputes the rollups of the partners its referrals count for (without
``--linked`` no referral counts for a partner and no rollup is computed).

Every run is ``Engine.run`` in a fresh process (``bench/_change_child.py``) with the code
measured on its ``PYTHONPATH``. The table gives, per run: client CPU seconds, wall
seconds, SQL statements, rows read, PHI tokens decrypted, HTTP calls per CRM, and the
share of the people files (``write_outputs``); then, per code version, the cost at the
largest N over the smallest (1.00x: the cost follows the changes only).
Exits non-zero if a run fails or a no-change run writes anything.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import write_program  # noqa: E402
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox  # noqa: E402
from sync.demo import (  # noqa: E402
    point_at_sandboxes,
    provision_hubspot,
    seed_crm,
    write_epic_export,
)

JOB = "scheduling-to-crm"
_CHILD = Path(__file__).resolve().parent / "_change_child.py"
_EXPORT = "referrals.csv"
_FMT = "%m/%d/%Y %I:%M %p"


# -- a program and its sandboxes, kept in one folder -----------------------------------------


@contextmanager
def _systems(folder: Path) -> Iterator[tuple[Path, dict[str, str], Any, Any]]:
    """The sandboxes of ``folder`` (records kept in ``folder/sf`` and ``folder/hs``) and its
    program pointed at them: (program root, environment for a run, sf, hs)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    with ExitStack() as stack:
        sf = stack.enter_context(SalesforceSandbox(folder / "sf", daily_limit=50_000_000))
        hs = stack.enter_context(
            HubSpotSandbox(folder / "hs", ten_second_limit=190, daily_limit=50_000_000)
        )
        root = folder / "program"
        env = {k: v for k, v in os.environ.items() if k != "REFSYNC_STATE_URL"}
        env.update(meta["env"])
        point_at_sandboxes(root, sf, hs, env)
        yield root, env, sf, hs


def _calls(sandbox: Any) -> dict[str, int]:
    snap = sandbox.stats.snapshot()
    return {"total": snap.total_calls, "writes": snap.write_calls}


def _run(
    code: Path, root: Path, env: dict[str, str], sf: Any, hs: Any, job: str = JOB
) -> dict[str, Any]:
    """One measured run in a fresh process, with the HTTP calls the sandboxes counted."""
    sf.stats.reset()
    hs.stats.reset()
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        child_env = {**env, "PYTHONPATH": str(code), "RUNTIME__LOG_LEVEL": "WARNING"}
        # without cached bytecode every run compiles the checkout's modules again (a third
        # of a change run's CPU where PYTHONDONTWRITEBYTECODE is set), not refsync's cost
        child_env.pop("PYTHONDONTWRITEBYTECODE", None)
        done = subprocess.run(
            [sys.executable, str(_CHILD), str(root), job, out.name],
            env=child_env, cwd=code, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"the run failed in {code}:\n{done.stderr[-3000:]}")
        answer: dict[str, Any] = json.loads(Path(out.name).read_text(encoding="utf-8"))
    if Path(answer["code"]).resolve() != code.resolve():
        raise RuntimeError(f"the run imported the engine from {answer['code']}, not {code}")
    answer.update(sf=_calls(sf), hs=_calls(hs), load=os.getloadavg()[0])
    return answer


def seed(code: Path, folder: Path, n: int, *, linked: bool = False) -> dict[str, Any]:
    """A program of ``n`` referrals after its first run, kept in ``folder``; returns the
    no-change run that checks it (it must write nothing). ``linked``: see ``--linked``."""
    folder.mkdir(parents=True)
    env = {"REFSYNC_PATIENT_KEY": secrets.token_hex(32)}
    meta = {"n": n, "now": datetime.now(UTC).isoformat(), "env": env}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    write_program(folder / "program")
    with _systems(folder) as (root, run_env, sf, hs):
        provision_hubspot(root)
        if linked:
            seed_crm(sf, hs)
            # the job's read window ends at its start, rounded down to the second: started in
            # the second the records were entered, it would read none of them
            time.sleep(1.1)
            contacts = _run(code, root, run_env, sf, hs, "partners-to-hubspot")
            if contacts["status"] != "ok" or not re.search(r"read [1-9]", contacts["summary"]):
                raise RuntimeError(f"seeding the contacts failed: {contacts['summary']}")
        write_epic_export(
            root / "exports" / "epic" / _EXPORT, n, datetime.fromisoformat(meta["now"])
        )
        time.sleep(1.1)  # a read's window ends at the run's start, rounded down to the second
        first = _run(code, root, run_env, sf, hs)
        check = _run(code, root, run_env, sf, hs)
    if first["status"] != "ok" or check["sf"]["writes"] + check["hs"]["writes"]:
        raise RuntimeError(f"seeding {n:,} failed: {first['summary']} / {check['summary']}")
    return check


def change_export(path: Path, k: int, *, delta: bool = False, round_: int = 1) -> int:
    """Turn ``k`` scheduled referrals, spread over the export, into completed visits;
    returns how many changed (fewer if the export has fewer scheduled ones). The export is
    rewritten whole (a snapshot re-export), or with ``delta`` left alone while a second file
    beside it holds the changed rows only (a daily file of what changed). Odd rounds complete
    scheduled visits, even rounds arrived ones (other referrals, as many at N = 10,000)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    status = "1" if round_ % 2 else "6"
    scheduled = [i for i, row in enumerate(rows) if row["APPT_STATUS_C"] == status]
    step = max(1, len(scheduled) // max(k, 1))
    # a delta leaves the export as it was: each later round of a status takes the rows next
    # to the ones the round before it took
    chosen = scheduled[(round_ - 1) // 2 :: step][:k]
    for i in chosen:
        row = rows[i]
        appt = datetime.strptime(row["APPT_DTTM"], _FMT)
        row.update(
            APPT_STATUS_C="2", APPT_STATUS_NAME="Completed", CHECKIN_DTTM=row["APPT_DTTM"],
            CHECKOUT_DTTM=(appt + timedelta(hours=1)).strftime(_FMT),
        )  # fmt: skip
    target = path.with_name(f"{path.stem}-changes{round_}{path.suffix}") if delta else path
    with target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([rows[i] for i in chosen] if delta else rows)
    return len(chosen)


@dataclass
class Trial:
    """One code version at one size: its copy of the seeded program and its runs so far."""

    name: str
    code: Path
    n: int
    folder: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    ended: float = float("-inf")  # time.monotonic() when its last run ended


def measure(trials: list[Trial], k: int, delta: bool, rounds: int = 1, spacing: float = 0) -> None:
    """Change ``k`` referrals of each trial's export and run, ``rounds`` + 1 times, the
    trials taking turns (so the machine's drift falls on each alike); a trial's run starts
    ``spacing`` seconds or more after its last one ended (see ``--spacing``)."""
    with ExitStack() as stack:
        systems = [stack.enter_context(_systems(trial.folder)) for trial in trials]
        for round_ in range(1, rounds + 2):
            for trial, (root, env, sf, hs) in zip(trials, systems, strict=True):
                export = root / "exports" / "epic" / _EXPORT
                changed = change_export(export, k, delta=delta, round_=round_)
                # a read's window ends at the run's start, rounded down to the second
                time.sleep(max(1.1, trial.ended + spacing - time.monotonic()))
                trial.runs.append(_run(trial.code, root, env, sf, hs) | {"changes": changed})
                trial.ended = time.monotonic()


def reported(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median CPU after the first, with every round's CPU and the first's beside
    it (the first change after an import also compares the import's record versions once,
    see the module docstring)."""
    measured = sorted(runs[1:], key=lambda run: run["cpu_seconds"])
    return measured[len(measured) // 2] | {
        "first_cpu_seconds": runs[0]["cpu_seconds"],
        "round_cpu_seconds": [run["cpu_seconds"] for run in runs[1:]],
    }


def _trials(
    codes: dict[str, Path],
    commits: dict[str, str],
    sizes: list[int],
    seeds: Path,
    work: Path,
    linked: bool = False,
) -> list[Trial]:
    """A trial per code version and size, each with its own copy of its seeded program
    (seeded first when ``seeds`` does not hold it yet)."""
    trials = []
    for name, code in codes.items():
        for n in sizes:
            seeded = seeds / f"{name}-{commits[name]}-n{n}{'-linked' if linked else ''}"
            if not (seeded / "meta.json").exists():
                shutil.rmtree(seeded, ignore_errors=True)
                seed(code, seeded, n, linked=linked)
            folder = work / f"{seeded.name}-copy"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(seeded, folder)
            trials.append(Trial(name, code, n, folder))
    return trials


# -- code versions ---------------------------------------------------------------------------


@contextmanager
def checkouts(specs: list[str], work: Path) -> Iterator[dict[str, Path]]:
    """``after`` (this checkout) and each ``NAME=<commit>`` as a temporary git worktree."""
    codes = {"after": ROOT}
    made: list[Path] = []
    try:
        for spec in specs:
            name, _, commit = spec.partition("=")
            path = work / f"code-{name}"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
                check=True, capture_output=True,
            )  # fmt: skip
            made.append(path)
            codes = {name: path, **codes}
        yield codes
    finally:
        for path in made:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                check=False, capture_output=True,
            )  # fmt: skip


def _commit(code: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


# -- printing --------------------------------------------------------------------------------


def _row(name: str, n: int, run: dict[str, Any]) -> str:
    decrypts = "-" if run["decrypts"] is None else f"{run['decrypts']:,}"
    system = run.get("system_seconds")
    return (
        f"| {name} | {n:,} | {run['changes']:,} | {_rounds(run)} | "
        f"{'-' if system is None else f'{system:.2f}'} | "
        f"{run['seconds']:.2f} | {run['statements']:,} | {run['rows_read']:,} | {decrypts} | "
        f"{run['sf']['total']:,} / {run['hs']['total']:,} | {run['outputs_cpu']:.2f} | "
        f"{run['first_cpu_seconds']:.2f} | {run['load']:.2f} |"
    )


def _rounds(run: dict[str, Any]) -> str:
    """The reported run's CPU, and with several rounds their least and most."""
    cpus = run.get("round_cpu_seconds") or [run["cpu_seconds"]]
    if len(cpus) == 1:
        return f"{run['cpu_seconds']:.2f}"
    return f"{run['cpu_seconds']:.2f} ({min(cpus):.2f} to {max(cpus):.2f})"


def report(results: dict[str, dict[int, dict[str, Any]]], commits: dict[str, str]) -> str:
    """The runs as a Markdown table, then the largest size's cost over the smallest's."""
    lines = [
        "| code | referrals N | changed K | client CPU s (rounds) | of which system | wall s | "
        "SQL statements | "
        "rows read | decrypts | HTTP calls SF / HS | people files CPU s | "
        "first change run after the import: CPU s | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        lines += [_row(f"{name} ({commits[name]})", n, run) for n, run in sorted(runs.items())]
    lines.append("")
    for name, runs in results.items():
        small, large = min(runs), max(runs)
        if small == large:
            continue
        parts = []
        for key in ("cpu_seconds", "statements", "rows_read", "decrypts"):
            a, b = runs[small][key], runs[large][key]
            if a and b is not None:
                parts.append(f"{key.replace('_', ' ')} {b / a:.2f}x")
        lines.append(f"{name}: N {large:,} over N {small:,} ({large / small:.0f}x the referrals): "
                     + ", ".join(parts))  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--changes", type=int, default=1000, help="K referrals changed")
    parser.add_argument("--code", action="append", default=[], help="NAME=<commit>")
    parser.add_argument("--seed-dir", type=Path, help="keep (and reuse) seeded programs here")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="measured runs per size after the first change run (the median is reported)",
    )  # fmt: skip
    parser.add_argument(
        "--spacing", type=float, default=0, metavar="SECONDS",
        help="start each program's run this long after its last one ended; over 300 (the "
        "five-minute margin of the write and people marks) each run looks at its own changes "
        "only, as a scheduled job's does, instead of carrying those of the runs just before",
    )  # fmt: skip
    parser.add_argument(
        "--export", choices=("snapshot", "delta"), default="snapshot",
        help="the changes arrive in the whole export written again (snapshot) or in a new "
        "file of the changed rows beside it (delta)",
    )  # fmt: skip
    parser.add_argument(
        "--linked", action="store_true",
        help="referrals link to the demo's partners and clinicians, so a change run also "
        "recomputes the rollups of the partners they count for",
    )  # fmt: skip
    args = parser.parse_args()
    results: dict[str, dict[int, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="refsync-change-") as tmp:
        work = Path(tmp)
        seeds = args.seed_dir or work / "seeds"
        with checkouts(args.code, work) as codes:
            commits = {name: _commit(code) for name, code in codes.items()}
            trials = _trials(codes, commits, args.sizes, seeds, work, args.linked)
            delta = args.export == "delta"
            measure(trials, args.changes, delta, args.rounds, args.spacing)
            for trial in trials:
                results.setdefault(trial.name, {})[trial.n] = reported(trial.runs)
                shutil.rmtree(trial.folder, ignore_errors=True)
    print(f"K={args.changes:,} changed referrals (scheduled, then arrived -> completed) among N, "
          f"arriving in a {args.export} export"
          f"{', referrals linked to partners' if args.linked else ''}; "
          "every run in a fresh process; load: 1-minute average after the run")  # fmt: skip
    print(report(results, commits))
    if args.json:
        args.json.write_text(json.dumps({"commits": commits, "results": results}), "utf-8")
    failed = [f"{name} N={n}" for name, runs in results.items() for n, r in runs.items()
              if r["status"] != "ok"]  # fmt: skip
    for line in failed:
        print(f"failed: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
