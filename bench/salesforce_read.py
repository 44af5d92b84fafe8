"""Read throughput of the Salesforce connector against the local sandbox.

Run: ``python bench/salesforce_read.py [--records 100000] [--changes 1000]``

Loads N Referral__c records into the sandbox (stamped over N/1000 seconds, as a real org's
data is), then measures, each in a fresh process:

1. the raw loop a user would write: ``sf.query_all_iter(soql)`` over the same fields;
2. refsync's full read (``connector.read``) as native records, no mapping;
3. refsync's full read translated to canonical values with the default mapping
   (``mapping.translate.to_canonical``);
4. after ``--changes`` records change, refsync's incremental read from the bookmark of (3),
   translated to canonical.

Prints HTTP calls, records/s and peak memory of each as a table.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _salesforce import (
    Result,
    connector,
    measure,
    print_table,
    referral,
    sandbox_settings,
    settings,
)

from connectors.sandbox import SalesforceSandbox

MAPPING = Path(__file__).resolve().parent.parent / "config/templates/mappings/salesforce.yaml"


def _referral_mapping() -> Any:
    from ruamel.yaml import YAML

    from mapping.spec import MappingSpec

    spec = MappingSpec.model_validate(YAML(typ="safe").load(MAPPING.read_text()))
    return spec.entities["referral"]


def _fields() -> list[str]:
    from mapping.translate import native_fields

    return native_fields(_referral_mapping(), "in")


def raw_loop(phase: str, values: dict[str, Any], prepared: Any = None) -> Any:
    """What a user scripts: simple-salesforce's query_all_iter over the same columns."""
    from simple_salesforce import Salesforce, format_soql

    from connectors.salesforce.auth import login, new_http_session

    if phase == "prepare":
        http = new_http_session(settings(values))
        session = login(settings(values), http)
        client = Salesforce(
            session_id=session.access_token, instance=session.instance, session=http, version="62.0"
        )
        columns = ", ".join(["Id", "SystemModstamp", "IsDeleted", *_fields()])
        return client, format_soql(
            "SELECT {:literal} FROM Referral__c ORDER BY SystemModstamp, Id", columns
        )
    client, soql = prepared
    count = sum(1 for _ in client.query_all_iter(soql, include_deleted=True))
    return count, None


def refsync_read(
    phase: str, values: dict[str, Any], canonical: bool, since: Any, prepared: Any = None
) -> Any:
    """refsync's read, optionally translated to canonical values; returns the last bookmark."""
    from mapping.transforms import TransformContext
    from mapping.translate import to_canonical

    if phase == "prepare":
        sf = connector(values)
        _ = sf.client  # logged in before timing; the describe the read needs is timed
        return sf, _referral_mapping(), _fields()
    sf, em, fields = prepared
    ctx = TransformContext(field="")
    count, errors, bookmark = 0, 0, since
    for page in sf.read("Referral__c", since=since, fields=fields):
        for record in page.records:
            if canonical:
                errors += len(to_canonical(em, record.fields, ctx).errors)
            count += 1
        bookmark = page.bookmark
    if errors:
        raise RuntimeError(f"{errors} records failed to translate")
    return count, bookmark


def _load(sb: SalesforceSandbox, records: int) -> None:
    sb.set_now(datetime(2024, 5, 1, tzinfo=UTC))
    sb.insert("Account", [{"Name": f"Practice {i}", "Refsync_Id__c": f"p-{i}"} for i in range(100)])
    accounts = [a["Id"] for a in sb.records("Account")]
    for start in range(0, records, 1000):
        chunk = range(start, min(start + 1000, records))
        sb.insert("Referral__c", [referral(i, Partner__c=accounts[i % 100]) for i in chunk])
        sb.advance(1)


def _change(sb: SalesforceSandbox, values: dict[str, Any], records: int, changes: int) -> None:
    """A minute later, ``changes`` records spread over the data set change."""
    sb.advance(60)
    step = max(records // changes, 1)
    changed = [referral(i, Reason__c="arrhythmia") for i in range(0, records, step)][:changes]
    connector(values).upsert("Referral__c", changed, key="Refsync_Id__c")
    sb.advance(1)


def _runs(sb: SalesforceSandbox, records: int, changes: int) -> list[Result]:
    values = sandbox_settings(sb)
    results = [
        measure(sb, "raw sf.query_all_iter loop", raw_loop, values, note="no mapping"),
        measure(sb, "refsync read (native)", refsync_read, values, False, None),
        measure(sb, "refsync read -> canonical", refsync_read, values, True, None),
    ]
    _change(sb, values, records, changes)
    label = f"incremental after {changes:,} changes -> canonical"
    results.append(measure(sb, label, refsync_read, values, True, results[-1].payload))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=1_000)
    args = parser.parse_args()
    with SalesforceSandbox(daily_limit=10_000_000) as sb:
        _load(sb, args.records)
        results = _runs(sb, args.records, args.changes)
    print_table(
        f"Salesforce read: {args.records:,} Referral__c records, {len(_fields())} mapped fields",
        results,
        [
            "HTTP calls: query/queryMore calls of the read + setup calls (the login, before "
            "timing; the describe the read validates its fields with, timed).",
            "records/s is wall time against the in-process sandbox (the server's speed bounds it); "
            "records/client-CPU-s is the client's own cost.",
            "Each run is a fresh process; peak RSS is that process's; +MB is its growth during the run.",
        ],
        calls=lambda r: (
            f"{r.calls_matching('GET query')} + {r.calls - r.calls_matching('GET query')}"
        ),
        calls_title="HTTP calls (read + setup)",
    )


if __name__ == "__main__":
    main()
