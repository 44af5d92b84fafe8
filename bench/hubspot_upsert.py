"""HubSpot upsert benchmark: refsync's batch upserts vs the naive per-record loop.

Run: ``python bench/hubspot_upsert.py [--sizes 1000,10000,50000] [--naive-sample 300]``

Against a local HubSpot sandbox (own process) with HubSpot's real Professional/Enterprise
burst limit, 190 calls per 10 s. For each N, N referral deals (stage by label in the
"Referrals" pipeline) are written:

- **refsync**: ``HubSpotConnector.upsert("deals", ..., key="refsync_id")`` - batch upsert,
  100 per call, client-side limiter, 429s retried;
- **naive**: the usual per-record loop - ``basic_api.get_by_id(key, id_property=...)`` then
  ``basic_api.create`` (404) or ``basic_api.update``, sleeping 10 s on a 429. At 2 calls per
  record under 190 calls/10 s it needs ~105 s per 1,000 records, so it runs on a capped
  sample (``--naive-sample`` records) and its time for N is **extrapolated** linearly from
  that sample (calls are counted exactly: 2 per record).
"""

from __future__ import annotations

import argparse
import time

from _hubspot import SandboxProcess, table
from hubspot import HubSpot
from hubspot.crm.deals import ApiException

from connectors.hubspot import HubSpotConnector, HubSpotSettings

STAGES = ["Referred", "Intake Received", "Accepted", "Scheduled", "Completed"]


def deal(i: int, run: str) -> dict[str, str]:
    return {
        "refsync_id": f"referral-{run}-{i:07d}",
        "dealname": f"Referral R-{i:07d}",
        "dealstage": STAGES[i % len(STAGES)],
        "refsync_referral_number": f"R-{i:07d}",
        "refsync_service_line": "cardiology",
        "refsync_urgency": "routine",
        "refsync_received_at": "1710077400000",
    }


def run_refsync(sb: SandboxProcess, n: int) -> tuple[int, int, float, int]:
    settings = HubSpotSettings(access_token=sb.token, host=sb.base_url, insecure_http=True)
    connector = HubSpotConnector(settings)
    records = [deal(i, f"r{n}") for i in range(n)]
    start = time.perf_counter()
    results = connector.upsert("deals", records, key="refsync_id")
    elapsed = time.perf_counter() - start
    ok = sum(r.ok for r in results)
    return ok, connector.transport.total_calls, elapsed, connector.transport.rate_limited


def run_naive(sb: SandboxProcess, n: int, pipeline: dict[str, str]) -> tuple[int, int, float, int]:
    api = HubSpot(access_token=sb.token, host=sb.base_url).crm.deals.basic_api
    calls = limited = ok = 0
    start = time.perf_counter()
    for i in range(n):
        record = dict(deal(i, f"n{n}"))
        record["pipeline"], record["dealstage"] = pipeline["id"], pipeline[record["dealstage"]]
        key = record["refsync_id"]
        while True:
            try:
                calls += 1
                try:
                    found = api.get_by_id(key, id_property="refsync_id")
                except ApiException as exc:
                    if exc.status != 404:
                        raise
                    calls += 1
                    api.create({"properties": record, "associations": []})
                else:
                    calls += 1
                    api.update(found.id, {"properties": record})
                ok += 1
                break
            except ApiException as exc:
                if exc.status != 429:
                    raise
                limited += 1
                time.sleep(10)
    return ok, calls, time.perf_counter() - start, limited


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--naive-sample", type=int, default=300)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with SandboxProcess(ten_second_limit=190, daily_limit=10**9) as sb:
        probe = HubSpotConnector(
            HubSpotSettings(access_token=sb.token, host=sb.base_url, insecure_http=True)
        )
        referrals = probe.pipelines.pipeline("Referrals")
        pipeline = {"id": referrals.id, **referrals.stages}
        for n in sizes:
            sb.call("limits", 190)  # each run starts with a fresh 10 s window
            ok, calls, elapsed, limited = run_refsync(sb, n)
            rows.append(
                (
                    "refsync batch upsert",
                    n,
                    ok,
                    calls,
                    limited,
                    f"{elapsed:.1f}",
                    n / elapsed,
                    "measured",
                )
            )
        sb.call("limits", 190)
        sample = min(args.naive_sample, max(sizes))
        ok, calls, elapsed, limited = run_naive(sb, sample, pipeline)
        per_record = elapsed / sample
        rows.append(
            (
                "naive get+create/update loop",
                sample,
                ok,
                calls,
                limited,
                f"{elapsed:.1f}",
                sample / elapsed,
                "measured sample",
            )
        )
        for n in sizes:
            estimate = per_record * n
            rows.append(
                (
                    "naive get+create/update loop",
                    n,
                    "-",
                    2 * n,
                    f"~{limited * n // sample}",
                    f"~{estimate:,.0f}",
                    n / estimate,
                    f"extrapolated from {sample}",
                )
            )
    table(["writer", "N", "ok", "HTTP calls", "429s", "seconds", "records/s", "how"], rows)
    print(
        "Sandbox limit: 190 calls / 10 s (HubSpot Professional/Enterprise); refsync paces itself."
    )


if __name__ == "__main__":
    main()
