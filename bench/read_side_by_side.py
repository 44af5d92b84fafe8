"""Reads side by side: refsync (read + translation to canonical) vs the raw client loops vs dlt.

Run: ``python bench/read_side_by_side.py [--records 20000] [--rounds 3] [--no-dlt] [--json F]``

Against the project's sandboxes (Salesforce in this process's server threads, HubSpot in its
own process), each reader runs in a **fresh process** (the servers never share its GIL), the
readers interleaved A B C within each round, over several rounds:

- ``refsync``: the connector's full read, every record translated to canonical values with the
  default mapping (Salesforce ``Referral__c`` -> referral, HubSpot companies -> partner);
- ``raw``: what a user scripts with the client alone, no mapping (simple-salesforce
  ``query_all_iter``, hubspot-api-client ``basic_api.get_page``);
- ``dlt``: dlt's ``rest_api`` source over the same endpoint and fields, ``pipeline.extract``
  (no translation), in a venv the script makes under /tmp and fills from PyPI (skipped, with
  the reason printed, when that cannot be done).

Prints per reader the median (min-max) records/s of wall time and of the reader's own CPU
time, its HTTP calls, and each ratio to refsync, with the machine's load average per round.
The figures depend on the machine's load; the ratios within one run are what compare.
With ``REFSYNC_BENCH_PROFILE=DIR`` each child's measured read runs under cProfile and leaves
``DIR/<reader>-<system>-<pid>.prof`` (the figures then include the profiler's cost).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _profile import profiled

ROOT = Path(__file__).resolve().parents[1]
DLT_VENV = Path("/tmp/refsync-dlt-venv")
DLT_REQUIREMENT = "dlt>=1.4,<2"
READERS = ("refsync", "raw", "dlt")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- children: one read each, in a fresh process, printing one JSON line ---------------------


Run = Callable[[], int]
"""A prepared read (imports done, logged in): returns the records it read."""


def _child_refsync_sf(job: dict[str, Any]) -> Run:
    import salesforce_read as sfr

    prepared = sfr.refsync_read("prepare", job["values"], True, None)
    return lambda: int(sfr.refsync_read("run", job["values"], True, None, prepared=prepared)[0])


def _child_raw_sf(job: dict[str, Any]) -> Run:
    import salesforce_read as sfr

    prepared = sfr.raw_loop("prepare", job["values"])
    return lambda: int(sfr.raw_loop("run", job["values"], prepared=prepared)[0])


def _child_refsync_hs(job: dict[str, Any]) -> Run:
    import hubspot_read as hsr

    from connectors.hubspot import HubSpotConnector, HubSpotSettings

    settings = HubSpotSettings(
        access_token=job["token"], host=job["base_url"], insecure_http=True, ten_second_budget=10**7
    )
    connector, em = HubSpotConnector(settings), hsr._partner_mapping()

    def run() -> int:
        count, errors, *_ = hsr.refsync_read(connector, em, job["fields"], None, None)
        if errors:
            raise RuntimeError(f"{errors} companies failed to translate")
        return int(count)

    return run


def _child_raw_hs(job: dict[str, Any]) -> Run:
    import hubspot_read as hsr
    from hubspot import HubSpot  # noqa: F401  (imported before timing, as the others are)

    return lambda: int(hsr.raw_loop(job["base_url"], job["token"], job["fields"])[0])


def _child_dlt(job: dict[str, Any]) -> Run:
    """dlt's rest_api source, extracted (runs in the dlt venv: imports nothing of refsync)."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    if job["system"] == "sf":
        os.environ["REQUESTS_CA_BUNDLE"] = job["ca_file"]
        resource_cfg = {
            "name": "referrals",
            "endpoint": {
                "path": "queryAll/",
                "params": {"q": job["soql"]},
                "data_selector": "records",
                "paginator": {"type": "json_link", "next_url_path": "nextRecordsUrl"},
            },
        }
        base_url = job["base_url"]
    else:
        resource_cfg = {
            "name": "companies",
            "endpoint": {
                "path": "crm/v3/objects/companies",
                "params": {"limit": 100, "properties": ",".join(job["fields"])},
                "data_selector": "results",
                "paginator": {
                    "type": "cursor",
                    "cursor_path": "paging.next.after",
                    "cursor_param": "after",
                },
            },
        }
        base_url = job["base_url"]
    source = rest_api_source(
        {
            "client": {"base_url": base_url, "auth": {"type": "bearer", "token": job["token"]}},
            "resources": [resource_cfg],
        }
    )
    seen = [0]

    def count(item: Any) -> Any:
        seen[0] += 1
        return item

    source.resources[resource_cfg["name"]].add_map(count)
    pipeline = dlt.pipeline(
        pipeline_name=f"refsync_bench_{job['system']}_{os.getpid()}",
        pipelines_dir=job["workdir"],
    )

    def run() -> int:
        pipeline.extract(source)
        return seen[0]

    return run


_CHILDREN = {
    ("refsync", "sf"): _child_refsync_sf,
    ("raw", "sf"): _child_raw_sf,
    ("refsync", "hs"): _child_refsync_hs,
    ("raw", "hs"): _child_raw_hs,
}


def _child_main(reader: str, system: str, job_json: str) -> None:
    job = json.loads(job_json)
    fn = _child_dlt if reader == "dlt" else _CHILDREN[(reader, system)]
    if reader != "dlt":
        sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
    run = fn({**job, "system": system})
    wall, cpu = time.perf_counter(), _cpu()
    records = profiled(f"{reader}-{system}", run)
    out = {"records": records, "wall": time.perf_counter() - wall, "cpu": _cpu() - cpu}
    print(json.dumps(out))


# -- parent ----------------------------------------------------------------------------------


def _dlt_python(venv: Path) -> tuple[Path | None, str]:
    """The dlt venv's python, made and filled from PyPI on first use; else None and why."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import dlt.sources.rest_api, dlt; print(dlt.__version__)"]
    if python.exists():
        done = subprocess.run(probe, capture_output=True, text=True)
        if done.returncode == 0:
            return python, f"dlt {done.stdout.strip()}"
    print(f"installing {DLT_REQUIREMENT} into {venv} (once) ...", flush=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "-q", DLT_REQUIREMENT],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"could not install dlt: {done.stderr.strip().splitlines()[-1:]}"
    done = subprocess.run(probe, capture_output=True, text=True)
    if done.returncode != 0:
        return None, "dlt installed but does not import"
    return python, f"dlt {done.stdout.strip()}"


def _run_child(python: Path, reader: str, system: str, job: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RUNTIME__LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [str(python), __file__, "--child", reader, system, json.dumps(job)],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{reader} on {system} failed:\n{tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _summary(runs: list[dict[str, Any]], key: str) -> tuple[float, float, float]:
    rates = [r["records"] / max(r[key], 1e-9) for r in runs]
    return min(rates), statistics.median(rates), max(rates)


def _print(system: str, title: str, results: dict[str, list[dict[str, Any]]]) -> None:
    print(f"\n{title}")
    head = (
        f"{'reader':<9} {'records':>8} {'calls':>6} "
        f"{'rec/s wall: median (min-max)':>30} {'rec/CPU-s: median (min-max)':>30} "
        f"{'x refsync wall':>14} {'x refsync CPU':>13}"
    )
    print(head)
    print("-" * len(head))
    base_wall = _summary(results["refsync"], "wall")[1] if results.get("refsync") else 0
    base_cpu = _summary(results["refsync"], "cpu")[1] if results.get("refsync") else 0
    for reader in READERS:
        runs = results.get(reader)
        if not runs:
            continue
        lo, mid, hi = _summary(runs, "wall")
        clo, cmid, chi = _summary(runs, "cpu")
        calls = statistics.median(r["calls"] for r in runs)
        print(
            f"{reader:<9} {runs[0]['records']:>8,} {calls:>6,.0f} "
            f"{f'{mid:,.0f} ({lo:,.0f}-{hi:,.0f})':>30} "
            f"{f'{cmid:,.0f} ({clo:,.0f}-{chi:,.0f})':>30} "
            f"{mid / base_wall if base_wall else 0:>14.2f} "
            f"{cmid / base_cpu if base_cpu else 0:>13.2f}"
        )


def _jobs(sf: Any, hs: Any, workdir: str) -> dict[str, dict[str, Any]]:
    import hubspot_read as hsr
    import salesforce_read as sfr
    from _salesforce import sandbox_settings
    from simple_salesforce import format_soql

    from mapping.translate import native_fields

    sf_fields = ["Id", "SystemModstamp", "IsDeleted", *sfr._fields()]
    soql = format_soql(
        "SELECT {:literal} FROM Referral__c ORDER BY SystemModstamp, Id", ", ".join(sf_fields)
    )
    hs_fields = [
        f for f in native_fields(hsr._partner_mapping(), "in") if not f.startswith("associations.")
    ]
    return {
        "sf": {
            "values": sandbox_settings(sf),
            "base_url": f"{sf.instance_url}/services/data/v62.0/",
            "token": sf.new_session(),
            "ca_file": str(sf.ca_file),
            "soql": soql,
            "workdir": workdir,
        },
        "hs": {"base_url": hs.base_url, "token": hs.token, "fields": hs_fields, "workdir": workdir},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="records per CRM")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-dlt", action="store_true", help="leave dlt out")
    parser.add_argument("--dlt-venv", type=Path, default=DLT_VENV)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args()
    if args.child:
        _child_main(*args.child)
        return
    sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
    import tempfile

    import salesforce_read as sfr
    from _hubspot import SandboxProcess

    from connectors.sandbox import SalesforceSandbox

    pythons = {"refsync": Path(sys.executable), "raw": Path(sys.executable)}
    dlt_note = "left out (--no-dlt)"
    if not args.no_dlt:
        dlt_python, dlt_note = _dlt_python(args.dlt_venv)
        if dlt_python is not None:
            pythons["dlt"] = dlt_python
    results: dict[str, dict[str, list[dict[str, Any]]]] = {"sf": {}, "hs": {}}
    loads: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="refsync-side-") as workdir,
        SalesforceSandbox(daily_limit=10**9) as sf,
        SandboxProcess(ten_second_limit=10_000_000, daily_limit=10**9) as hs,
    ):
        sfr._load(sf, args.records)
        hs.call("seed_companies", args.records)
        jobs = _jobs(sf, hs, workdir)
        for round_no in range(1, args.rounds + 1):
            loads.append(os.getloadavg()[0])
            print(f"round {round_no}: load average {loads[-1]:.2f}", flush=True)
            for system in ("sf", "hs"):
                for reader, python in pythons.items():
                    before = _calls(system, sf, hs)
                    run = _run_child(python, reader, system, jobs[system])
                    run["calls"] = _calls(system, sf, hs) - before
                    results[system].setdefault(reader, []).append(run)
        load = os.getloadavg()
    print(
        f"\n{args.records:,} records per CRM, {args.rounds} rounds, each reader in a fresh "
        f"process, interleaved; dlt: {dlt_note}; load average at the end "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} on {os.cpu_count()} CPUs"
    )
    if args.json:
        dump = {"records": args.records, "rounds": args.rounds, "dlt": dlt_note,
                "loads": [*loads, load[0]], "results": results}  # fmt: skip
        args.json.write_text(json.dumps(dump), encoding="utf-8")
    _print("sf", "Salesforce Referral__c (refsync: read + translation to canonical)", results["sf"])
    _print("hs", "HubSpot companies (refsync: read + translation to canonical)", results["hs"])
    print(
        "\ncalls: HTTP calls the sandbox served during the read (logins and describes included). "
        "rec/CPU-s: records per second of the reader process's own CPU."
    )


def _calls(system: str, sf: Any, hs: Any) -> int:
    if system == "sf":
        return int(sum(sf.stats.calls.values()))
    total, _writes, _faults = hs.call("stats")
    return int(total)


if __name__ == "__main__":
    main()
