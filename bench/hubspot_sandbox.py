"""Throughput of the HubSpot sandbox on loopback, and its behaviour at 100k records.

Run: ``python bench/hubspot_sandbox.py [--records 100000] [--calls 3000]``. Prints calls per
second for raw HTTP (urllib3, several threads) and through the real hubspot-api-client, and
timings for list paging, unique-key reads, search and batch upserts against a table of
``--records`` companies.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

import urllib3

from connectors.sandbox.hubspot import HubSpotSandbox


def _rate(label: str, calls: int, seconds: float) -> None:
    print(f"{label:<58} {calls:>7} calls {seconds:7.2f}s {calls / seconds:9.0f} calls/s")


def raw_calls(hs: HubSpotSandbox, calls: int, threads: int) -> None:
    pool = urllib3.PoolManager(maxsize=threads)
    headers = {"Authorization": f"Bearer {hs.token}"}
    url = f"{hs.base_url}/crm/v3/objects/companies?limit=1"

    def one(_: int) -> int:
        return pool.request("GET", url, headers=headers).status

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        statuses = list(ex.map(one, range(calls)))
    _rate(f"raw GET get_page(limit=1), {threads} threads", calls, time.perf_counter() - start)
    assert set(statuses) == {200}, set(statuses)


def client_calls(hs: HubSpotSandbox, calls: int) -> None:
    api = hs.make_client().crm.companies.basic_api
    start = time.perf_counter()
    for _ in range(calls):
        api.get_page(limit=1)
    _rate("hubspot-api-client get_page(limit=1), 1 thread", calls, time.perf_counter() - start)
    batch = hs.make_client().crm.companies.batch_api
    start = time.perf_counter()
    n = max(1, calls // 10)
    for i in range(n):
        batch.upsert(
            {
                "inputs": [
                    {
                        "id": f"bench-{i}-{j}",
                        "idProperty": "refsync_id",
                        "properties": {"name": "x"},
                    }
                    for j in range(100)
                ]
            }
        )
    seconds = time.perf_counter() - start
    _rate("hubspot-api-client batch upsert x100, 1 thread", n, seconds)
    print(f"{'':<58} {n * 100 / seconds:9.0f} records/s")


def big_table(hs: HubSpotSandbox, records: int) -> None:
    start = time.perf_counter()
    hs.insert(
        "companies",
        (
            {"name": f"Clinic {i}", "refsync_id": f"org-{i}", "city": f"City {i % 50}"}
            for i in range(records)
        ),
    )
    print(f"insert {records} companies in-process: {time.perf_counter() - start:.2f}s")
    pool = urllib3.PoolManager()
    headers = {"Authorization": f"Bearer {hs.token}", "Content-Type": "application/json"}

    def timed(
        label: str, method: str, path: str, body: dict | None = None, repeat: int = 20
    ) -> None:
        data = json.dumps(body).encode() if body is not None else None
        start = time.perf_counter()
        for _ in range(repeat):
            answer = pool.request(method, hs.base_url + path, body=data, headers=headers)
            assert answer.status in (200, 207), answer.data[:200]
        per_call = (time.perf_counter() - start) / repeat * 1000
        print(f"  {label:<56} {per_call:8.2f} ms/call")

    last = records - 150
    timed(
        "list page 100, cursor near the end",
        "GET",
        f"/crm/v3/objects/companies?limit=100&after={last}",
    )
    timed(
        "get by idProperty=refsync_id",
        "GET",
        f"/crm/v3/objects/companies/org-{records - 1}?idProperty=refsync_id",
    )
    eq = {"filterGroups": [{"filters": [{"propertyName": "refsync_id", "operator": "EQ", "value": "org-7"}]}],
          "sorts": [], "properties": ["name"], "limit": 10, "after": "0"}  # fmt: skip
    timed(
        "search EQ on a unique property", "POST", "/crm/v3/objects/companies/search", eq, repeat=5
    )
    city = {"filterGroups": [{"filters": [{"propertyName": "city", "operator": "EQ", "value": "City 3"}]}],
            "sorts": ["hs_object_id"], "properties": ["name"], "limit": 200, "after": "0"}  # fmt: skip
    timed(
        "search EQ on a plain property (scan), first page",
        "POST",
        "/crm/v3/objects/companies/search",
        city,
        repeat=1,
    )
    timed(
        "same search, next pages (cached result ids)",
        "POST",
        "/crm/v3/objects/companies/search",
        {**city, "after": "200"},
        repeat=5,
    )
    upsert = {
        "inputs": [
            {"id": f"org-{i}", "idProperty": "refsync_id", "properties": {"name": "y"}}
            for i in range(100)
        ]
    }
    timed(
        "batch upsert 100 existing by refsync_id",
        "POST",
        "/crm/v3/objects/companies/batch/upsert",
        upsert,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with HubSpotSandbox(ten_second_limit=10**9, daily_limit=10**9) as hs:
        raw_calls(hs, args.calls, args.threads)
        client_calls(hs, args.calls // 3)
        hs.reset_data()
        big_table(hs, args.records)


if __name__ == "__main__":
    main()
