"""Upsert cost of N referrals: refsync vs the per-record loop a user would script.

Run: ``python bench/salesforce_upsert.py [--sizes 1000,10000,100000] [--naive-cap 10000]``

For each N, against a fresh sandbox org, each in a fresh process:

- ``refsync collections``: ``connector.upsert`` below the Bulk threshold (sObject Collections,
  200 records per call);
- ``refsync bulk 2.0``: ``connector.upsert`` at or above the threshold (default 10,000): one
  Bulk API 2.0 ingest job, results parsed back per record;
- ``refsync re-send``: the same N records upserted again (nothing is created);
- ``naive per-record``: ``sf.Referral__c.upsert("Refsync_Id__c/<id>", record)`` in a loop.
  Above ``--naive-cap`` records the loop is run on the first ``--naive-cap`` records and its
  time and calls are extrapolated linearly to N (the row says so).

Prints HTTP calls, records/s and peak memory as a table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _salesforce import Result, connector, measure, print_table, referral, sandbox_settings

from connectors.sandbox import SalesforceSandbox

KEY = "Refsync_Id__c"
PARTNERS = 100


def _records(n: int) -> list[dict[str, Any]]:
    return [referral(i, partner=f"p-{i % PARTNERS}") for i in range(n)]


def refsync_upsert(
    phase: str, values: dict[str, Any], n: int, threshold: int, prepared: Any = None
) -> Any:
    """connector.upsert of n records; the payload says how many were created/failed."""
    if phase == "prepare":
        sf = connector(values, bulk_threshold=threshold, bulk_poll_seconds=0.2)
        _ = sf.client  # logged in before timing; the describe the upsert needs is timed
        return sf, _records(n)
    sf, records = prepared
    results = sf.upsert("Referral__c", records, key=KEY)
    created = sum(r.created is True for r in results)
    failed = sum(not r.ok for r in results)
    return len(results), {"created": created, "failed": failed, "jobs": len(sf.bulk_jobs)}


def naive_upsert(phase: str, values: dict[str, Any], n: int, prepared: Any = None) -> Any:
    """The per-record loop: one PATCH sobjects/Referral__c/Refsync_Id__c/<id> per record."""
    from _salesforce import settings
    from simple_salesforce import Salesforce
    from simple_salesforce.format import format_external_id

    from connectors.salesforce.auth import login, new_http_session

    if phase == "prepare":
        http = new_http_session(settings(values))
        session = login(settings(values), http)
        sf = Salesforce(
            session_id=session.access_token, instance=session.instance, session=http, version="62.0"
        )
        return sf, _records(n)
    sf, records = prepared
    for record in records:
        body = {k: v for k, v in record.items() if k != KEY}
        sf.Referral__c.upsert(format_external_id(KEY, record[KEY]), body)
    return len(records), None


def _fresh(sb: SalesforceSandbox) -> None:
    sb.reset_data()
    sb.insert("Account", [{"Name": f"Practice {i}", KEY: f"p-{i}"} for i in range(PARTNERS)])


def _extrapolate(sample: Result, n: int) -> Result:
    factor = n / sample.records
    return Result(
        sample.label,
        n,
        sample.seconds * factor,
        round(sample.calls * factor),
        sample.peak_mb,
        sample.extra_mb,
        sample.cpu_seconds * factor,
        {},
        f"EXTRAPOLATED from {sample.records:,} records ({sample.calls:,} calls, "
        f"{sample.seconds:.1f}s)",
    )


def _runs_for(sb: SalesforceSandbox, values: dict[str, Any], n: int, cap: int) -> list[Result]:
    out = []
    _fresh(sb)
    out.append(measure(sb, "refsync collections", refsync_upsert, values, n, n + 1))
    if n >= 10_000:
        _fresh(sb)
        bulk = measure(sb, "refsync bulk 2.0", refsync_upsert, values, n, 10_000)
        bulk.note = f"{bulk.payload['jobs']} job(s)"
        out.append(bulk)
    again = measure(sb, "refsync re-send (same records)", refsync_upsert, values, n, 10_000)
    again.note = f"created {again.payload['created']}"
    out.append(again)
    _fresh(sb)
    if n <= cap:
        out.append(measure(sb, "naive per-record upsert loop", naive_upsert, values, n))
    else:
        sample = measure(sb, "naive per-record upsert loop", naive_upsert, values, cap)
        out.append(_extrapolate(sample, n))
    for result in out:
        if result.payload and result.payload.get("failed"):
            raise RuntimeError(f"{result.label}: {result.payload['failed']} records failed")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--naive-cap", type=int, default=10_000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with SalesforceSandbox(daily_limit=10_000_000) as sb:
        values = sandbox_settings(sb)
        for n in sizes:
            print_table(
                f"Salesforce upsert of {n:,} Referral__c records (lookup to Account by external id)",
                _runs_for(sb, values, n, args.naive_cap),
                [
                    "HTTP calls include each run's login (before timing) and describe (timed); "
                    "Bulk rows include job creation, upload, close, polls and results.",
                    "Each run is a fresh process; peak RSS is that process's (building the N "
                    "records is part of it); +MB is its growth during the upsert itself.",
                ],
            )


if __name__ == "__main__":
    main()
