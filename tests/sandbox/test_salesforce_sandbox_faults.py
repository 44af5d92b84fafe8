"""One test per fault kind: what the real simple-salesforce sees when the sandbox misbehaves."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceGeneralError
from simple_salesforce.format import format_external_id

from connectors.sandbox.common import FaultPlan


@pytest.fixture
def sf(sf_sandbox):
    return sf_sandbox.make_client()


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "REQUEST_LIMIT_EXCEEDED"), (500, "UNKNOWN_EXCEPTION"), (503, "SERVER_UNAVAILABLE")],
)
def test_every_nth_call_fails_with_the_status_and_a_rest_error_body(sf_sandbox, sf, status, code):
    sf_sandbox.faults.configure(fail_every=3, fail_status=status)
    outcomes = []
    for _ in range(6):
        try:
            sf.query("SELECT Id FROM Account")
            outcomes.append("ok")
        except SalesforceGeneralError as exc:
            assert exc.status == status
            assert exc.content[0]["errorCode"] == code
            outcomes.append(status)
    assert outcomes == ["ok", "ok", status, "ok", "ok", status]
    assert sf_sandbox.stats.faults == {f"status_{status}": 2}


def test_failures_can_target_one_endpoint_and_the_next_calls_only(sf_sandbox, sf):
    sf_sandbox.faults.configure(fail_endpoints=["composite/sobjects"])
    sf_sandbox.faults.fail_next(1, status=503)
    sf.query("SELECT Id FROM Account")  # not targeted
    body = {"records": [{"attributes": {"type": "Account"}, "Name": "A"}]}
    with pytest.raises(SalesforceGeneralError):
        sf.restful("composite/sobjects", method="POST", json=body)
    assert sf_sandbox.records("Account") == []  # a failed call does no work
    assert sf.restful("composite/sobjects", method="POST", json=body)[0]["success"] is True


def test_session_expiry_after_n_calls_makes_a_credentialed_client_log_in_again(sf_sandbox):
    sf = sf_sandbox.make_client(login="password")
    sf_sandbox.faults.configure(expire_session_after=2)
    for _ in range(5):
        sf.query("SELECT Id FROM Account")
    assert sf_sandbox.stats.calls["POST soap login"] == 3  # first login + 2 re-logins
    assert sf_sandbox.stats.faults == {"session_expired": 2}


def test_session_expiry_reaches_a_session_id_client_as_expired_session(sf_sandbox, sf):
    sf_sandbox.faults.configure(expire_session_after=1)
    sf.query("SELECT Id FROM Account")
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")


def test_row_lock_fails_only_the_locked_records_and_clears_after_the_given_times(sf_sandbox, sf):
    sf_sandbox.faults.lock_rows(["r-2"], times=1)
    records = [{"attributes": {"type": "Referral__c"}, "Refsync_Id__c": f"r-{i}"} for i in (1, 2)]
    body = {"allOrNone": False, "records": records}
    first = sf.restful("composite/sobjects/Referral__c/Refsync_Id__c", method="PATCH", json=body)
    assert [r["success"] for r in first] == [True, False]
    assert first[1]["errors"][0] == {
        "statusCode": "UNABLE_TO_LOCK_ROW",
        "message": "unable to obtain exclusive access to this record or 1 records",
        "fields": [],
    }
    retry = sf.restful("composite/sobjects/Referral__c/Refsync_Id__c", method="PATCH", json=body)
    assert [(r["success"], r["created"]) for r in retry] == [(True, False), (True, True)]


def test_a_dropped_connection_after_a_write_still_applies_the_write(sf_sandbox, sf):
    sf_sandbox.faults.drop_next_writes(1)
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.Account.upsert(format_external_id("Refsync_Id__c", "p-1"), {"Name": "A"})
    assert [r["Refsync_Id__c"] for r in sf_sandbox.records("Account")] == ["p-1"]
    assert sf_sandbox.stats.faults == {"drop_after_write": 1}
    # the client's retry is an update, not a duplicate
    assert sf.Account.upsert(format_external_id("Refsync_Id__c", "p-1"), {"Name": "A"}) == 200


def test_latency_beyond_the_client_timeout_surfaces_as_a_read_timeout(sf_sandbox):
    sf = sf_sandbox.make_client()
    sf_sandbox.faults.configure(latency=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.query("SELECT Id FROM Account", timeout=0.05)


def test_fault_plan_counts_are_independent_of_other_settings():
    plan = FaultPlan(fail_every=2, drop_after_write_every=3, locked_keys=["k"])
    assert [plan.failure_for("GET x") for _ in range(4)] == [None, 503, None, 503]
    assert [plan.should_drop_after_write() for _ in range(3)] == [False, False, True]
    assert plan.is_row_locked(None, "k") and plan.is_row_locked("k")
    plan.unlock_rows()
    assert not plan.is_row_locked("k")
    with pytest.raises(TypeError, match="unknown fault settings"):
        plan.configure(fail_evry=2)
