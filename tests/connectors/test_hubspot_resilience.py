"""Rate limits, injected 429s, 5xx, token expiry and the daily quota, against the sandbox."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hubspot_support import (  # noqa: F401
    companies,
    connector_for,
    fake_time_connector,
    hs,
    hubspot_sandbox,
    settings_for,
)

from connectors.hubspot import HubSpotConnector
from connectors.sandbox.hubspot import HubSpotSandbox
from mapping.errors import AuthenticationError, QuotaExhausted, RateLimited, exit_code_for


def _prefix() -> str:
    return f"x{uuid.uuid4().hex[:8]}-"


def _stored(hs: HubSpotSandbox, prefix: str) -> list[dict]:  # noqa: F811
    return [
        r
        for r in hs.records("companies")
        if str(r["properties"].get("refsync_id", "")).startswith(prefix)
    ]


def _read_keys(connector: HubSpotConnector, prefix: str) -> list[str]:
    until = datetime.now(UTC) + timedelta(seconds=30)
    pages = connector.read("companies", since=None, fields=["refsync_id"], until=until)
    return [
        str(r.fields["refsync_id"])
        for p in pages
        for r in p.records
        if str(r.fields.get("refsync_id", "")).startswith(prefix)
    ]


def test_a_429_on_every_third_call_still_writes_and_reads_everything(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: A1."""
    (connector, sleep), prefix = fake_time_connector(hs), _prefix()
    hs.faults.configure(fail_every=3, fail_status=429)
    results = connector.upsert("companies", companies(prefix, 1000), key="refsync_id")
    keys = _read_keys(connector, prefix)
    hs.faults.clear()
    assert all(r.ok for r in results)
    assert sorted(keys) == sorted(r.key for r in results)
    assert len(_stored(hs, prefix)) == 1000
    assert connector.transport.rate_limited >= 5
    assert sleep.waits  # every 429 waited (through the injected sleep), then retried


def test_server_errors_on_every_other_call_are_retried_with_backoff(hs: HubSpotSandbox) -> None:  # noqa: F811
    """Failure catalogue: A2."""
    (connector, sleep), prefix = fake_time_connector(hs), _prefix()
    hs.faults.configure(fail_every=2, fail_status=503)
    results = connector.upsert("companies", companies(prefix, 300), key="refsync_id")
    hs.faults.clear()
    assert all(r.ok for r in results)
    assert len(_stored(hs, prefix)) == 300
    assert connector.transport.retried >= 2
    assert sleep.waits and min(sleep.waits) >= 0.25  # exponential backoff, not a hot loop


def test_the_daily_limit_stops_the_run_with_quota_exhausted(hs: HubSpotSandbox) -> None:  # noqa: F811
    """Failure catalogue: A1."""
    (connector, _), prefix = fake_time_connector(hs), _prefix()
    daily = hs.limits.daily_limit
    hs.limits.daily_limit = 2
    try:
        with pytest.raises(QuotaExhausted) as info:
            connector.upsert("companies", companies(prefix, 500), key="refsync_id")
    finally:
        hs.limits.daily_limit = daily
        hs.limits.reset()
    assert exit_code_for(info.value) == 3
    # the properties read and one batch fit the allowance; the refused batch is not retried
    assert connector.transport.total_calls == 3


def test_an_expired_oauth_token_is_refreshed_once_mid_run(hs: HubSpotSandbox) -> None:  # noqa: F811
    """Failure catalogue: K1."""
    oauth, prefix = hs.oauth, _prefix()
    settings = settings_for(
        hs,
        auth="oauth",
        access_token=None,
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        refresh_token=oauth.issue_refresh_token(),
    )
    connector = HubSpotConnector(settings)
    issued = oauth.tokens_issued
    oauth.expire_after_calls = 4
    try:
        results = connector.upsert("companies", companies(prefix, 1000), key="refsync_id")
        keys = _read_keys(connector, prefix)
    finally:
        oauth.expire_after_calls = None
    assert all(r.ok for r in results)
    assert len(keys) == 1000 and len(_stored(hs, prefix)) == 1000
    # first token + one refresh per expiry (every 4 calls), never two for one expiry
    assert connector.tokens_refreshed == oauth.tokens_issued - issued
    assert 2 <= connector.tokens_refreshed <= connector.transport.total_calls // 4 + 1


def test_threads_that_see_401_together_share_one_refresh(hs: HubSpotSandbox) -> None:  # noqa: F811
    """Failure catalogue: K1."""
    oauth = hs.oauth
    settings = settings_for(
        hs,
        auth="oauth",
        access_token=None,
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        refresh_token=oauth.issue_refresh_token(),
    )
    connector = HubSpotConnector(settings)
    connector.check()
    assert connector.tokens_refreshed == 1
    oauth.expire_all()
    barrier, errors = threading.Barrier(8), []

    def call() -> None:
        barrier.wait()
        try:
            connector.check()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert connector.tokens_refreshed == 2


def test_a_refused_refresh_token_is_an_authentication_error(hs: HubSpotSandbox) -> None:  # noqa: F811
    settings = settings_for(
        hs,
        auth="oauth",
        access_token=None,
        client_id=hs.oauth.client_id,
        client_secret=hs.oauth.client_secret,
        refresh_token="na1-revoked",
    )
    with pytest.raises(AuthenticationError) as info:
        HubSpotConnector(settings).check()
    assert "na1-revoked" not in str(info.value)


def test_a_wrong_private_app_token_is_an_authentication_error(hs: HubSpotSandbox) -> None:  # noqa: F811
    connector = HubSpotConnector(settings_for(hs, access_token="pat-na1-wrong"))
    with pytest.raises(AuthenticationError) as info:
        connector.check()
    assert "pat-na1-wrong" not in str(info.value)


@pytest.mark.slow
def test_a_20000_record_sync_at_100_calls_per_10_seconds_loses_nothing(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    prefix = _prefix()
    connector = connector_for(hs)  # real sleep: the limiter paces the calls
    hs.limits.ten_second_limit = 100
    hs.limits.reset()
    try:
        results = connector.upsert("companies", companies(prefix, 20_000), key="refsync_id")
    finally:
        hs.limits.ten_second_limit = 190
    assert all(r.ok for r in results)
    assert len({r["id"] for r in _stored(hs, prefix)}) == 20_000
    assert connector.transport.calls["objects_batch.upsert"] == 200
    assert connector.transport.rate_limited <= 3, connector.transport.calls


def test_a_429_storm_that_outlasts_the_retries_says_it_gave_up_not_waiting(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    (connector, _), prefix = fake_time_connector(hs, retries=2), _prefix()
    connector.check()
    hs.faults.configure(fail_every=1, fail_status=429)
    try:
        with pytest.raises(RateLimited) as info:
            connector.upsert("companies", companies(prefix, 1), key="refsync_id")
    finally:
        hs.faults.clear()
    message = str(info.value)
    assert "gave up after 3 attempts" in message and "next run" in message
    assert "waiting" not in message and "retrying" not in message
    assert connector.transport.rate_limited == 3
