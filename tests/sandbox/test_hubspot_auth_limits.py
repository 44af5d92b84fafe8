"""OAuth token refresh and rate limits in the HubSpot sandbox, via the real client."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hubspot.crm.contacts import ApiException


def _access_token(hs) -> str:
    oauth = hs.oauth
    answer = hs.make_client().oauth.tokens_api.create(
        grant_type="refresh_token",
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        refresh_token=oauth.issue_refresh_token(),
    )
    assert (answer.token_type, answer.expires_in) == ("bearer", 1800)
    return answer.access_token


def test_a_refreshed_access_token_works_and_each_refresh_rotates_it(hs_sandbox):
    first, second = _access_token(hs_sandbox), _access_token(hs_sandbox)
    assert first != second
    client = hs_sandbox.make_client(access_token=first)
    assert client.crm.contacts.basic_api.get_page().results == []


def test_an_unknown_refresh_token_answers_400_bad_refresh_token(hs_sandbox):
    oauth = hs_sandbox.oauth
    with pytest.raises(Exception) as info:
        hs_sandbox.make_client().oauth.tokens_api.create(
            grant_type="refresh_token",
            client_id=oauth.client_id,
            client_secret=oauth.client_secret,
            refresh_token="na1-stolen",
        )
    assert info.value.status == 400
    assert json.loads(info.value.body)["status"] == "BAD_REFRESH_TOKEN"


def test_an_access_token_expires_after_its_lifetime(hs_sandbox):
    now = datetime.now(UTC)
    hs_sandbox.set_now(now)
    client = hs_sandbox.make_client(access_token=_access_token(hs_sandbox))
    hs_sandbox.set_now(now + timedelta(minutes=31))
    with pytest.raises(ApiException) as info:
        client.crm.contacts.basic_api.get_page()
    body = json.loads(info.value.body)
    assert info.value.status == 401
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["message"].startswith("The OAuth token used to make this call expired ")


def test_an_access_token_can_expire_after_a_number_of_calls_or_on_demand(hs_sandbox):
    hs_sandbox.oauth.expire_after_calls = 2
    client = hs_sandbox.make_client(access_token=_access_token(hs_sandbox))
    client.crm.contacts.basic_api.get_page()
    client.crm.contacts.basic_api.get_page()
    with pytest.raises(ApiException) as info:
        client.crm.contacts.basic_api.get_page()
    assert info.value.status == 401
    hs_sandbox.oauth.expire_after_calls = None
    fresh = hs_sandbox.make_client(access_token=_access_token(hs_sandbox))
    fresh.crm.contacts.basic_api.get_page()
    hs_sandbox.oauth.expire_all()
    with pytest.raises(ApiException):
        fresh.crm.contacts.basic_api.get_page()


def test_every_answer_carries_the_rate_limit_headers(hs_sandbox):
    api = hs_sandbox.make_client().crm.contacts.basic_api
    _, status, first = api.get_page_with_http_info()
    _, _, second = api.get_page_with_http_info()
    assert status == 200
    assert first["X-HubSpot-RateLimit-Max"] == "190"
    assert first["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert first["X-HubSpot-RateLimit-Daily"] == "1000000"
    assert int(first["X-HubSpot-RateLimit-Remaining"]) - 1 == int(
        second["X-HubSpot-RateLimit-Remaining"]
    )
    assert int(second["X-HubSpot-RateLimit-Daily-Remaining"]) == 1_000_000 - 2
    assert {"X-HubSpot-RateLimit-Secondly", "X-HubSpot-RateLimit-Secondly-Remaining"} <= set(first)


def test_oauth_answers_leave_out_the_daily_headers(hs_sandbox):
    client = hs_sandbox.make_client(access_token=_access_token(hs_sandbox))
    _, _, headers = client.crm.contacts.basic_api.get_page_with_http_info()
    assert "X-HubSpot-RateLimit-Max" in headers
    assert "X-HubSpot-RateLimit-Daily" not in headers


def test_the_ten_second_window_answers_429_ten_secondly_rolling(hs_sandbox):
    hs_sandbox.limits.ten_second_limit = 3
    api = hs_sandbox.make_client().crm.contacts.basic_api
    for _ in range(3):
        api.get_page()
    with pytest.raises(ApiException) as info:
        api.get_page()
    body = json.loads(info.value.body)
    assert info.value.status == 429
    assert (body["policyName"], body["errorType"]) == ("TEN_SECONDLY_ROLLING", "RATE_LIMIT")
    assert info.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert hs_sandbox.stats.total_calls == 4
    assert hs_sandbox.stats.faults == {"rate_limited:TEN_SECONDLY_ROLLING": 1}


def test_the_daily_allowance_answers_429_daily(hs_sandbox):
    hs_sandbox.limits.daily_limit = 2
    api = hs_sandbox.make_client().crm.companies.basic_api
    api.get_page()
    api.get_page()
    with pytest.raises(Exception) as info:
        api.get_page()
    assert info.value.status == 429
    assert json.loads(info.value.body)["policyName"] == "DAILY"
    assert info.value.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_an_enforced_search_limit_answers_429_secondly(hs_sandbox):
    hs_sandbox.limits.search_per_second = 2
    api = hs_sandbox.make_client().crm.contacts.search_api
    body = {"filterGroups": [], "sorts": [], "properties": [], "limit": 10, "after": "0"}
    api.do_search(body)
    api.do_search(body)
    with pytest.raises(ApiException) as info:
        api.do_search(body)
    assert info.value.status == 429
    assert json.loads(info.value.body)["policyName"] == "SECONDLY"
