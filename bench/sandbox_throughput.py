"""Throughput of the Salesforce sandbox on loopback, measured with the real simple-salesforce.

Run: ``python bench/sandbox_throughput.py [--records 100000] [--seconds 3] [--threads 4]``

Prints calls/s for small GETs (``sf.Account.get``, ``sf.limits``) from one and several
threads, and how long SOQL and upserts take with N records already stored (to show that
id/external-id look-ups do not slow down with size).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from simple_salesforce.format import format_external_id

from connectors.sandbox import SalesforceSandbox


def _rate(fn, seconds: float) -> float:
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return calls / (time.perf_counter() - start)


def _parallel_rate(make_fn, threads: int, seconds: float) -> float:
    with ThreadPoolExecutor(threads) as pool:
        rates = list(pool.map(lambda _: _rate(make_fn(), seconds), range(threads)))
    return sum(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with SalesforceSandbox() as sb:
        start = time.perf_counter()
        ids = sb.insert(
            "Account", ({"Name": f"A{i}", "Refsync_Id__c": f"p-{i}"} for i in range(args.records))
        )
        print(f"loaded {args.records} accounts in {time.perf_counter() - start:.1f}s")
        sf = sb.make_client()
        target = ids[len(ids) // 2]
        print(
            f"GET sobjects/Account/{{id}}, 1 thread: {_rate(lambda: sf.Account.get(target), args.seconds):.0f} calls/s"
        )
        print(f"GET limits, 1 thread: {_rate(sf.limits, args.seconds):.0f} calls/s")

        def make_get():
            client = sb.make_client()
            return lambda: client.Account.get(target)

        print(
            f"GET sobjects/Account/{{id}}, {args.threads} threads: {_parallel_rate(make_get, args.threads, args.seconds):.0f} calls/s"
        )
        key = format_external_id("Refsync_Id__c", f"p-{args.records // 3}")
        print(
            f"PATCH upsert by external id: {_rate(lambda: sf.Account.upsert(key, {'Phone': '1'}), args.seconds):.0f} calls/s"
        )
        start = time.perf_counter()
        rows = sum(
            1
            for _ in sf.query_all_iter(
                "SELECT Id, Refsync_Id__c FROM Account WHERE Name LIKE 'A1%'"
            )
        )
        print(
            f"query_all_iter of {rows} rows (of {args.records}): {time.perf_counter() - start:.2f}s"
        )
        start = time.perf_counter()
        sf.query("SELECT Id FROM Account WHERE Refsync_Id__c = 'p-5' ORDER BY SystemModstamp")
        print(
            f"one filtered query over {args.records} rows: {(time.perf_counter() - start) * 1000:.0f} ms"
        )
        print(f"server stats: {sb.stats.total_calls} calls, faults {sb.stats.faults}")


if __name__ == "__main__":
    main()
