"""Large Salesforce reads continue through a Bulk API 2.0 query job (CSV pages by locator)."""

from __future__ import annotations

import math

import pytest
from sf_support import (  # noqa: F401
    Sleeps,
    make_connector,
    referral,
    sandbox,
    sf_sandbox,
)

from connectors.base import NativeRecord, ReadPage
from connectors.salesforce.bulk_read import cell_parsers, decode_csv
from connectors.sandbox import SalesforceSandbox
from mapping.errors import ServiceUnavailable
from mapping.schema import FieldSchema, ObjectSchema

FIELDS = ["Refsync_Id__c", "Stage__c", "Reason__c", "Received_At__c", "Partner__r.Refsync_Id__c"]
RECORDS = 450


def _seed(sb: SalesforceSandbox) -> list[str]:
    """RECORDS referrals over 9 seconds (50 share each stamp), every third without a partner
    or a reason, and one deleted."""
    [partner] = sb.insert("Account", [{"Name": "P", "Refsync_Id__c": "p-1"}])
    ids: list[str] = []
    for second in range(RECORDS // 50):
        rows = []
        for i in range(second * 50, second * 50 + 50):
            extra = (
                {}
                if i % 3 == 0
                else {"Partner__c": partner, "Received_At__c": "2024-04-30T08:15:00Z"}
            )
            rows.append(
                referral(f"r-{i:04d}", **extra, **({"Reason__c": None} if i % 3 == 0 else {}))
            )
        ids += sb.insert("Referral__c", rows)
        sb.advance(1)
    sb.make_client().Referral__c.delete(ids[7])
    sb.advance(1)
    return ids


def _read(sb: SalesforceSandbox, since: dict | None = None, **overrides) -> list[ReadPage]:
    sf = make_connector(sb, read_batch_size=200, bulk_read_page_records=100, **overrides)
    return list(sf.read("Referral__c", since=since, fields=FIELDS))


def _view(pages: list[ReadPage]) -> list[tuple[str, dict, bool, object]]:
    records: list[NativeRecord] = [r for p in pages for r in p.records]
    return [(r.id, dict(r.fields), r.deleted, r.modified_at) for r in records]


def test_a_read_of_the_threshold_or_more_goes_on_through_a_bulk_job_and_reads_what_rest_reads(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: B3."""
    _seed(sandbox)
    rest = _read(sandbox, bulk_read_threshold=10_000)
    assert sandbox.stats.calls.get("POST jobs/query", 0) == 0
    sandbox.stats.reset()

    bulk = _read(sandbox, bulk_read_threshold=RECORDS)

    assert _view(bulk) == _view(rest)
    assert len(_view(bulk)) == RECORDS
    assert bulk[-1].bookmark == rest[-1].bookmark
    deleted = [r for r in _view(bulk) if r[2]]
    assert len(deleted) == 1 and deleted[0][1]["IsDeleted"] is True
    calls = sandbox.stats.calls
    # One REST page of 200, then the other 250 records in result pages of 100.
    assert (calls.get("GET queryAll", 0), calls.get("GET queryAll more", 0)) == (1, 0)
    assert calls.get("POST jobs/query", 0) == 1
    assert calls.get("GET jobs/query results", 0) == math.ceil((RECORDS - 200) / 100)


def test_a_read_below_the_threshold_makes_no_bulk_job(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    _seed(sandbox)
    pages = _read(sandbox, bulk_read_threshold=RECORDS + 1)
    assert len(_view(pages)) == RECORDS
    assert sandbox.stats.calls.get("POST jobs/query", 0) == 0
    assert sandbox.stats.calls.get("GET queryAll more", 0) == math.ceil(RECORDS / 200) - 1


def test_the_bookmark_of_a_bulk_read_starts_the_next_read_after_its_last_record(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    _seed(sandbox)
    first = _read(sandbox, bulk_read_threshold=RECORDS)
    sandbox.insert("Referral__c", [referral("r-late")])
    sandbox.advance(1)
    again = _read(sandbox, since=first[-1].bookmark, bulk_read_threshold=RECORDS)
    assert [r[1]["Refsync_Id__c"] for r in _view(again)] == ["r-late"]


def test_a_bulk_job_still_running_past_the_timeout_is_aborted_and_reported_unavailable(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    _seed(sandbox)
    sandbox.set_bulk_polls(1_000)
    sleeps = Sleeps()
    try:
        with pytest.raises(ServiceUnavailable, match="aborted it, the run will retry"):
            _read(sandbox, bulk_read_threshold=RECORDS, bulk_timeout_seconds=0.001, sleeps=sleeps)
    finally:
        sandbox.set_bulk_polls(1)
    assert sandbox.stats.calls.get("PATCH jobs/query", 0) == 1
    assert sandbox.stats.calls.get("GET jobs/query results", 0) == 0
    [job] = sandbox.bulk_jobs("query")
    assert job["state"] == "Aborted"


def test_polls_wait_a_short_time_first_and_back_off_to_the_poll_interval(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    _seed(sandbox)
    sandbox.set_bulk_polls(4)
    sleeps = Sleeps()
    try:
        _read(sandbox, bulk_read_threshold=RECORDS, bulk_poll_seconds=0.3, sleeps=sleeps)
    finally:
        sandbox.set_bulk_polls(1)
    assert sleeps == [0.05, 0.1, 0.2, 0.3]


def test_csv_cells_are_typed_as_rest_json_types_them() -> None:
    text = (
        '"Id","Flag","Count","Amount","At","Name"\n'
        '"a1","true","3","2.5","2024-05-01T10:00:00.000Z","x, ""y"""\n'
        '"a2","false","","","",""\n'
    )
    kinds = {"Id": "id", "Flag": "boolean", "Count": "int", "Amount": "currency",
             "At": "datetime", "Name": "string"}  # fmt: skip
    schema = ObjectSchema("X", {n: FieldSchema(n, k) for n, k in kinds.items()})
    columns = list(kinds)
    rows = decode_csv(text, dict(zip(columns, cell_parsers(schema, columns), strict=True)))
    assert rows == [
        {"Id": "a1", "Flag": True, "Count": 3, "Amount": 2.5,
         "At": "2024-05-01T10:00:00.000+0000", "Name": 'x, "y"'},
        {"Id": "a2", "Flag": False, "Count": None, "Amount": None, "At": None, "Name": None},
    ]  # fmt: skip


def test_csv_column_names_are_read_as_names_and_a_short_row_is_refused() -> None:
    odd = "x'] or None} for v in reader]; raise SystemExit; [{'"
    rows = decode_csv(f'"Id","{odd}"\n"a1","v"\n"a2",""\n', {"Id": None, odd: None})
    assert rows == [{"Id": "a1", odd: "v"}, {"Id": "a2", odd: None}]
    assert decode_csv('"Id","Name"\n', {}) == []
    assert decode_csv("", {}) == []
    with pytest.raises(IndexError):
        decode_csv('"Id","Name"\n"a1"\n', {})
