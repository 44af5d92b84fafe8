"""One test per fault kind: what the real hubspot-api-client sees when the sandbox misbehaves."""

from __future__ import annotations

import json

import pytest
import urllib3
from hubspot.crm.contacts import ApiException
from hubspot.crm.contacts.exceptions import ServiceException


def _contacts(hs):
    return hs.make_client().crm.contacts


@pytest.mark.parametrize("status", [429, 500, 503])
def test_every_nth_call_fails_with_the_planned_status_and_a_hubspot_body(hs_sandbox, status):
    hs_sandbox.faults.configure(fail_every=2, fail_status=status)
    api = _contacts(hs_sandbox).basic_api
    api.get_page()
    with pytest.raises(ApiException) as info:
        api.get_page()
    body = json.loads(info.value.body)
    assert info.value.status == status
    assert body["status"] == "error" and body["correlationId"]
    if status == 429:
        assert body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert "X-HubSpot-RateLimit-Max" in info.value.headers
    else:
        assert isinstance(info.value, ServiceException)
    api.get_page()  # the third call is served again
    assert hs_sandbox.stats.faults == {f"fail_{status}": 1}
    assert hs_sandbox.stats.total_calls == 3


def test_failures_can_target_one_endpoint(hs_sandbox):
    hs_sandbox.faults.configure(fail_endpoints=["batch/upsert"])
    hs_sandbox.faults.fail_next(1, 503)
    contacts = _contacts(hs_sandbox)
    contacts.basic_api.get_page()  # not targeted
    upsert = {"inputs": [{"id": "a@example.org", "idProperty": "email", "properties": {}}]}
    with pytest.raises(ServiceException):
        contacts.batch_api.upsert(upsert)
    assert contacts.batch_api.upsert(upsert).results[0].new is True
    assert hs_sandbox.stats.calls["POST /crm/v3/objects/contacts/batch/upsert"] == 2


def test_session_expiry_turns_oauth_tokens_into_401_until_refreshed(hs_sandbox):
    oauth = hs_sandbox.oauth
    refresh = oauth.issue_refresh_token()

    def fresh_client():
        token = hs_sandbox.make_client().oauth.tokens_api.create(
            grant_type="refresh_token",
            client_id=oauth.client_id,
            client_secret=oauth.client_secret,
            refresh_token=refresh,
        )
        return hs_sandbox.make_client(access_token=token.access_token)

    hs_sandbox.faults.configure(expire_session_after=2)
    client = fresh_client()
    client.crm.contacts.basic_api.get_page()
    client.crm.contacts.basic_api.get_page()
    with pytest.raises(ApiException) as info:
        client.crm.contacts.basic_api.get_page()
    assert info.value.status == 401
    assert json.loads(info.value.body)["category"] == "EXPIRED_AUTHENTICATION"
    assert fresh_client().crm.contacts.basic_api.get_page().results == []
    assert hs_sandbox.stats.faults == {"session_expired": 1}


def test_session_expiry_leaves_private_app_tokens_working(hs_sandbox):
    hs_sandbox.faults.configure(expire_session_after=1)
    api = _contacts(hs_sandbox).basic_api
    for _ in range(3):
        api.get_page()


def test_a_locked_record_refuses_a_single_update_with_409_concurrent_update(hs_sandbox):
    [cid] = hs_sandbox.insert("contacts", [{"email": "a@example.org"}])
    hs_sandbox.faults.lock_rows([cid], times=1)
    api = _contacts(hs_sandbox).basic_api
    with pytest.raises(ApiException) as info:
        api.update(cid, {"properties": {"firstname": "Ann"}})
    body = json.loads(info.value.body)
    assert (info.value.status, body["category"], body["subCategory"]) == (
        409,
        "CONFLICT",
        "CONCURRENT_UPDATE",
    )
    assert "Existing ID" not in body["message"]
    assert api.update(cid, {"properties": {"firstname": "Ann"}}).properties["firstname"] == "Ann"
    assert hs_sandbox.stats.faults == {"row_lock": 1}


def test_a_locked_key_fails_only_its_own_input_of_a_batch(hs_sandbox):
    hs_sandbox.faults.lock_rows(["org-2"])
    batch = hs_sandbox.make_client().crm.companies.batch_api
    answer = batch.upsert(
        {
            "inputs": [
                {"id": "org-1", "idProperty": "refsync_id", "properties": {"name": "A"}},
                {"id": "org-2", "idProperty": "refsync_id", "properties": {"name": "B"}},
            ]
        }
    )
    assert [r.properties["refsync_id"] for r in answer.results] == ["org-1"]
    [error] = answer.errors
    assert error.category == "CONFLICT"
    assert error.context == {"ids": ["org-2"], "subCategory": ["CONCURRENT_UPDATE"]}


def test_a_dropped_connection_after_a_write_leaves_the_write_applied(hs_sandbox):
    hs_sandbox.faults.drop_next_writes(1)
    api = _contacts(hs_sandbox).basic_api
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.create({"properties": {"email": "a@example.org"}})
    [record] = hs_sandbox.records("contacts")
    assert record["properties"]["email"] == "a@example.org"
    with pytest.raises(ApiException) as info:  # the naive retry now conflicts
        api.create({"properties": {"email": "a@example.org"}})
    assert info.value.status == 409
    assert hs_sandbox.stats.faults == {"drop_after_write": 1}


def test_drops_can_recur_on_every_nth_write(hs_sandbox):
    hs_sandbox.faults.configure(drop_after_write_every=2)
    api = _contacts(hs_sandbox).basic_api
    api.create({"properties": {"email": "a@example.org"}})
    with pytest.raises(urllib3.exceptions.ProtocolError):
        api.create({"properties": {"email": "b@example.org"}})
    api.get_page()  # reads are not writes
    api.create({"properties": {"email": "c@example.org"}})
    assert len(hs_sandbox.records("contacts")) == 3


def test_latency_beyond_the_client_timeout_surfaces_as_a_read_timeout(hs_sandbox):
    hs_sandbox.faults.configure(latency=0.3)
    api = _contacts(hs_sandbox).search_api
    body = {"filterGroups": [], "sorts": [], "properties": [], "limit": 10, "after": "0"}
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        api.do_search(body, _request_timeout=0.05)
    hs_sandbox.faults.configure(latency=0.0)
    assert api.do_search(body).total == 0
