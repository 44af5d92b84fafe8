"""Incremental reads across a crash, and the failure-modes catalogue's faults, against the
sandbox: each ends with nothing lost, nothing duplicated and a clear, classified error."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sf_support import (  # noqa: F401
    START,
    Sleeps,
    ids_read,
    make_connector,
    referral,
    sandbox,
    sf_sandbox,
)

from connectors.sandbox import SalesforceSandbox
from mapping.errors import (
    AuthenticationError,
    QuotaExhausted,
    RecordRejected,
    ServiceUnavailable,
    StateError,
)

KEY = "Refsync_Id__c"
FIELDS = [KEY, "Stage__c", "Reason__c"]
UPSERT = "PATCH composite/sobjects upsert"


def _keys(n: int, tag: str = "r") -> list[str]:
    return [f"{tag}-{i:06d}" for i in range(n)]


# -- incremental reads ---------------------------------------------------------------------


def test_records_sharing_one_stamp_are_each_read_once_across_a_crash_and_resume(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: B2."""
    sandbox.insert("Referral__c", [referral(k) for k in _keys(5000)])  # frozen clock: one stamp
    sandbox.advance(1)
    connector = make_connector(sandbox)
    seen: list[str] = []
    bookmark = None
    for n, page in enumerate(connector.read("Referral__c", since=None, fields=FIELDS), 1):
        seen += [r.id for r in page.records]
        bookmark = page.bookmark  # committed once the page is merged
        if n == 2:
            break  # the process dies here
    assert len(seen) == 4000
    late = sandbox.insert("Referral__c", [referral("late-1")])  # same stamp, visible late
    sandbox.set_now(START + timedelta(seconds=1))
    sandbox.insert("Referral__c", [referral("next-1")])
    sandbox.advance(1)
    resumed = make_connector(sandbox)  # a new process: only the bookmark survives
    seen += ids_read(list(resumed.read("Referral__c", since=bookmark, fields=FIELDS)))
    counts = Counter(seen)
    assert len(counts) == 5002 and set(counts.values()) == {1}
    assert late[0] in counts


def test_a_bookmark_never_passes_until(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    """Failure catalogue: C1."""
    connector = make_connector(sandbox)
    connector.upsert("Referral__c", [referral("r-1")], key=KEY)
    until = sandbox.now() + timedelta(seconds=1)
    sandbox.advance(5)
    connector.upsert("Referral__c", [referral("r-2")], key=KEY)
    sandbox.advance(1)
    pages = list(connector.read("Referral__c", since=None, fields=FIELDS, until=until))
    assert [r.fields[KEY] for p in pages for r in p.records] == ["r-1"]
    assert pages[-1].bookmark["SystemModstamp"] <= until.isoformat()
    rest = list(connector.read("Referral__c", since=pages[-1].bookmark, fields=FIELDS))
    assert [r.fields[KEY] for p in rest for r in p.records] == ["r-2"]


def test_a_lookback_window_picks_up_a_record_that_became_visible_late(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: C2."""
    connector = make_connector(sandbox, lookback_seconds=60)
    connector.upsert("Referral__c", [referral("r-1")], key=KEY)
    sandbox.advance(30)
    connector.upsert("Referral__c", [referral("r-2")], key=KEY)
    sandbox.advance(1)
    _, *_ = pages = list(connector.read("Referral__c", since=None, fields=FIELDS))
    bookmark = pages[-1].bookmark
    sandbox.set_now(START + timedelta(seconds=10))  # committed late, stamped in the past
    sandbox.insert("Referral__c", [referral("late")])
    sandbox.set_now(START + timedelta(seconds=40))
    again = list(connector.read("Referral__c", since=bookmark, fields=FIELDS))
    assert "late" in {r.fields[KEY] for p in again for r in p.records}


def test_1000_changes_are_read_in_one_call(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    for n in range(30):  # 3,000 records created over 30 seconds
        sandbox.insert("Referral__c", [referral(k) for k in _keys(3000)[n * 100 : n * 100 + 100]])
        sandbox.advance(1)
    connector = make_connector(sandbox)
    *_, last = connector.read("Referral__c", since=None, fields=FIELDS)
    sandbox.advance(60)
    keys = _keys(3000)[:1000]
    connector.upsert("Referral__c", [referral(k, Reason__c="changed") for k in keys], key=KEY)
    sandbox.advance(1)
    sandbox.stats.reset()
    pages = list(connector.read("Referral__c", since=last.bookmark, fields=FIELDS))
    assert sorted(r.fields[KEY] for p in pages for r in p.records) == keys
    assert sandbox.stats.calls == {"GET queryAll": 1}


def test_deleted_records_come_back_as_tombstones(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    """Failure catalogue: D1."""
    connector = make_connector(sandbox)
    written = connector.upsert("Referral__c", [referral(k) for k in _keys(3)], key=KEY)
    sandbox.advance(1)
    *_, last = connector.read("Referral__c", since=None, fields=FIELDS)
    connector.archive("Referral__c", ["r-000001"], key=KEY)
    sandbox.advance(1)
    pages = list(connector.read("Referral__c", since=last.bookmark, fields=FIELDS))
    records = [r for p in pages for r in p.records]
    assert [(r.id, r.deleted) for r in records] == [(written[1].id, True)]


# -- faults --------------------------------------------------------------------------------


def test_503_every_fifth_call_loses_and_duplicates_nothing(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    sleeps = Sleeps()
    connector = make_connector(sandbox, sleeps)
    sandbox.faults.configure(fail_every=5, fail_status=503)
    keys = _keys(2000)
    results = connector.upsert("Referral__c", [referral(k) for k in keys], key=KEY)
    sandbox.advance(1)
    read = ids_read(list(connector.read("Referral__c", since=None, fields=FIELDS)))
    assert all(r.ok for r in results)
    assert len(sandbox.records("Referral__c")) == 2000
    assert sorted(read) == sorted(r.id for r in results)
    assert sandbox.stats.faults["status_503"] >= 2 and len(sleeps) >= 2


def test_a_session_expiring_mid_run_is_renewed_and_the_run_completes(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: K1."""
    connector = make_connector(sandbox)
    connector.check()
    sandbox.faults.configure(expire_session_after=3)
    results = connector.upsert("Referral__c", [referral(k) for k in _keys(1200)], key=KEY)
    assert all(r.ok for r in results)
    assert len(sandbox.records("Referral__c")) == 1200
    assert sandbox.stats.calls["POST oauth2/token"] >= 3
    assert sandbox.stats.faults["session_expired"] >= 2


def test_a_session_that_cannot_be_renewed_ends_with_an_authentication_error(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    token = {"auth": "token", "access_token": sandbox.new_session()}
    connector = make_connector(sandbox, instance_url=sandbox.instance_url, **token)
    connector.check()
    sandbox.expire_sessions()
    with pytest.raises(AuthenticationError):
        connector.upsert("Referral__c", [referral("r-1")], key=KEY)
    assert sandbox.records("Referral__c") == []
    # one 401, one (token) re-login, one more 401: no loop
    assert sandbox.stats.calls.get(UPSERT, 0) == 0
    assert sandbox.stats.calls["GET describe"] == 2


def test_row_locks_are_retried_for_the_locked_records_only(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    """Failure catalogue: F3."""
    sleeps = Sleeps()
    connector = make_connector(sandbox, sleeps)
    keys = _keys(300)
    sandbox.faults.lock_rows(keys[10:13], times=1)
    results = connector.upsert("Referral__c", [referral(k) for k in keys], key=KEY)
    assert all(r.ok for r in results)
    assert sandbox.stats.calls[UPSERT] == 3  # 2 batches + 1 re-send of the 3 locked records
    assert sandbox.stats.records_written == 300
    assert len(sleeps) == 1


def test_a_lasting_row_lock_is_reported_against_those_records(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    """Failure catalogue: F3."""
    connector = make_connector(sandbox, lock_retries=2)
    keys = _keys(10)
    sandbox.faults.lock_rows([keys[4]])
    results = connector.upsert("Referral__c", [referral(k) for k in keys], key=KEY)
    assert [i for i, r in enumerate(results) if not r.ok] == [4]
    error = results[4].error
    assert isinstance(error, RecordRejected) and error.code == "UNABLE_TO_LOCK_ROW"
    assert error.key == keys[4]
    assert sandbox.stats.calls[UPSERT] == 3


def test_a_dropped_connection_after_commit_is_retried_without_duplicates(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: E1."""
    connector = make_connector(sandbox)
    sandbox.faults.drop_next_writes(1)
    keys = _keys(300)
    results = connector.upsert("Referral__c", [referral(k) for k in keys], key=KEY)
    assert all(r.ok for r in results)
    assert sandbox.stats.faults["drop_after_write"] == 1
    assert sandbox.stats.calls[UPSERT] == 3  # the dropped batch was sent twice
    assert len(sandbox.records("Referral__c")) == 300
    assert [r.created for r in results[:200]] == [False] * 200  # committed by the dropped call


def test_daily_allowance_share_stops_the_run_with_nothing_lost(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    """Failure catalogue: A3."""
    sandbox.set_daily_limit(100, used=70)
    connector = make_connector(sandbox, quota_share=0.8)
    keys = _keys(4000)
    records = [referral(k) for k in keys]
    with pytest.raises(QuotaExhausted, match=r"/100 .*quota_share=0\.8") as info:
        connector.upsert("Referral__c", records, key=KEY)
    assert info.value.exit_code == 3
    assert sandbox.api_usage == 80  # stopped at the share, not at the org's hard limit
    written = len(sandbox.records("Referral__c"))
    assert 0 < written < 4000
    sandbox.set_daily_limit(100, used=0)  # the next day: the re-run completes the work
    rerun = make_connector(sandbox, quota_share=0.8).upsert("Referral__c", records, key=KEY)
    assert all(r.ok for r in rerun)
    assert sum(r.created is True for r in rerun) == 4000 - written
    assert len(sandbox.records("Referral__c")) == 4000


def test_the_orgs_hard_limit_is_quota_exhausted_and_not_retried(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    """Failure catalogue: A3."""
    sleeps = Sleeps()
    connector = make_connector(sandbox, sleeps, quota_share=1.0)
    connector.check()
    sandbox.set_daily_limit(10, used=10)
    with pytest.raises(QuotaExhausted, match="REQUEST_LIMIT_EXCEEDED"):
        connector.upsert("Referral__c", [referral("r-1")], key=KEY)
    assert sleeps == []


def test_a_stalled_server_ends_in_a_timeout_not_a_hang(sandbox: SalesforceSandbox) -> None:  # noqa: F811
    sleeps = Sleeps()
    connector = make_connector(sandbox, sleeps, timeout_seconds=0.2, max_attempts=2)
    connector.check()
    sandbox.faults.configure(latency=0.5)
    with pytest.raises(ServiceUnavailable, match="ReadTimeout"):
        connector.upsert("Referral__c", [referral("r-1")], key=KEY)
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    "bookmark",
    [
        {"SystemModstamp": "yesterday"},
        {"SystemModstamp": "2024-05-01T10:00:00"},
        {"SystemModstamp": 5},
    ],
)
def test_a_malformed_bookmark_is_a_state_error_not_a_silent_full_read(
    sandbox: SalesforceSandbox,  # noqa: F811
    bookmark: dict[str, object],
) -> None:
    """Failure catalogue: C3."""
    with pytest.raises(StateError, match="bookmark"):
        list(make_connector(sandbox).read("Referral__c", since=bookmark, fields=FIELDS))


def test_a_server_error_that_outlasts_the_retries_says_it_gave_up_not_retrying(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    sleeps = Sleeps()
    connector = make_connector(sandbox, sleeps, max_attempts=3)
    connector.check()
    sandbox.faults.configure(fail_every=1, fail_status=503)
    with pytest.raises(ServiceUnavailable) as info:
        connector.upsert("Referral__c", [referral("r-1")], key=KEY)
    sandbox.faults.clear()
    message = str(info.value)
    assert "gave up after 3 attempts" in message and "next run" in message
    assert "retrying" not in message and "waiting" not in message
    assert len(sleeps) == 2


def test_a_lasting_row_lock_says_the_next_run_writes_it_not_fix_the_value(
    sandbox: SalesforceSandbox,  # noqa: F811
) -> None:
    connector = make_connector(sandbox, lock_retries=1)
    sandbox.faults.lock_rows(["r-1"])
    [result] = connector.upsert("Referral__c", [referral("r-1")], key=KEY)
    assert result.error is not None and result.error.code == "UNABLE_TO_LOCK_ROW"
    assert "fix the value" not in result.error.message
    assert "next run" in result.error.message
