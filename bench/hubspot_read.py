"""HubSpot read benchmark: refsync's connector + mapping vs the raw client loop.

Run: ``python bench/hubspot_read.py [--companies 100000] [--changes 1000]``

Against a local HubSpot sandbox (in its own process, rate limit raised so that only the
client's cost is measured; a real account allows 100-190 calls per 10 s, i.e. ~20 s of
pacing per 100k records whatever the client does):

1. full read of N companies **into canonical form** (connector read through the client's
   raw-response path + ``mapping.translate.to_canonical`` with the default HubSpot mapping);
2. beside it, the raw ``client.crm.companies.basic_api.get_page`` loop (model objects, no
   mapping), in the same run;
3. an incremental read after M changes (search, 200 per page), with its call count.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _hubspot import SandboxProcess, company_row, table
from ruamel.yaml import YAML

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from mapping.spec import MappingSpec
from mapping.transforms import TransformContext
from mapping.translate import native_fields, to_canonical

MAPPING = Path(__file__).resolve().parents[1] / "config/templates/mappings/hubspot.yaml"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _partner_mapping():
    spec = MappingSpec.model_validate(YAML(typ="safe").load(MAPPING.read_text()))
    return spec.entities["partner"]


def raw_loop(base_url: str, token: str, fields: list[str]) -> tuple[int, int, float, float]:
    from hubspot import HubSpot

    api = HubSpot(access_token=token, host=base_url).crm.companies.basic_api
    count = calls = 0
    after = None
    wall, cpu = time.perf_counter(), _cpu()
    while True:
        kwargs = {"after": after} if after else {}
        page = api.get_page(limit=100, properties=fields, **kwargs)
        calls += 1
        count += len(page.results)
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
    return count, calls, time.perf_counter() - wall, _cpu() - cpu


def refsync_read(connector: HubSpotConnector, em, fields: list[str], since, until):
    """Read through the connector; with ``em``, translate every record to canonical."""
    ctx = TransformContext("UTC")
    count = errors = 0
    bookmark = since
    wall, cpu = time.perf_counter(), _cpu()
    for page in connector.read("companies", since=since, fields=fields, until=until):
        for record in page.records:
            if record.deleted:
                continue
            count += 1
            if em is not None:
                errors += not to_canonical(em, record.fields, ctx).ok
        bookmark = page.bookmark
    return count, errors, time.perf_counter() - wall, _cpu() - cpu, bookmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=1_000)
    args = parser.parse_args()
    em = _partner_mapping()
    fields = [f for f in native_fields(em, "in") if not f.startswith("associations.")]
    with SandboxProcess(ten_second_limit=10_000_000, daily_limit=10**9) as sb:
        start = time.perf_counter()
        sb.call("seed_companies", args.companies)
        print(f"seeded {args.companies:,} companies in {time.perf_counter() - start:.1f}s")
        settings = HubSpotSettings(
            access_token=sb.token, host=sb.base_url, insecure_http=True, ten_second_budget=10**7
        )
        rows = []
        n, calls, wall, cpu = raw_loop(sb.base_url, sb.token, fields)
        rows.append(
            ("raw basic_api.get_page loop (models, no mapping)", n, calls, wall, cpu, n / wall)
        )
        # No ``until``: the full read takes everything and bookmarks its start time. (The
        # sandbox stamps each seeded record 1 ms after the previous one, so its clock runs
        # ahead of ours by the seeding count.)
        native = HubSpotConnector(settings)
        n1, _, wall1, cpu1, _ = refsync_read(native, None, fields, None, None)
        rows.append(
            (
                "refsync connector read (native records)",
                n1,
                native.transport.total_calls,
                wall1,
                cpu1,
                n1 / wall1,
            )
        )
        connector = HubSpotConnector(settings)
        n2, errors, wall2, cpu2, bookmark = refsync_read(connector, em, fields, None, None)
        assert errors == 0, f"{errors} records failed mapping"
        rows.append(
            (
                "refsync full read -> canonical (with mapping)",
                n2,
                connector.transport.total_calls,
                wall2,
                cpu2,
                n2 / wall2,
            )
        )
        # M changes after the full read's bookmark, then an incremental read with a fresh
        # connector (its properties read is counted).
        time.sleep(1.2)
        writer = HubSpotConnector(settings)
        changed = [
            company_row(i, " (moved)")
            for i in range(0, args.companies, max(1, args.companies // args.changes))
        ][: args.changes]
        writer.upsert("companies", changed, key="refsync_id")
        reader = HubSpotConnector(settings)
        later = datetime.now(UTC) + timedelta(seconds=args.companies / 1000 + 60)
        n3, _errors3, wall3, cpu3, _ = refsync_read(reader, em, fields, bookmark, later)
        rows.append(
            (
                f"refsync incremental after {len(changed):,} changes",
                n3,
                reader.transport.total_calls,
                wall3,
                cpu3,
                n3 / wall3,
            )
        )
    table(
        [
            "read",
            "records",
            "HTTP calls",
            "wall s",
            "client CPU s",
            "records/s (wall)",
            "records/CPU-s",
        ],
        [
            (r[0], r[1], r[2], f"{r[3]:.2f}", f"{r[4]:.2f}", r[5], r[1] / max(r[4], 1e-9))
            for r in rows
        ],
    )
    print("Sandbox in a separate process with its burst limit raised (client cost only).")
    print(f"incremental calls by endpoint: {dict(reader.transport.calls)}")


if __name__ == "__main__":
    main()
