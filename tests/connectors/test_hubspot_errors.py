"""The connector's edge: every hubspot-api-client exception class it can meet is translated."""

from __future__ import annotations

import importlib
import json

import pytest
import urllib3
from hubspot_support import hs, hubspot_sandbox, settings_for  # noqa: F401

from connectors.hubspot import HubSpotConnector, build_hubspot_client
from connectors.hubspot.errors import VENDOR_API_EXCEPTIONS, translate
from connectors.hubspot.transport import SUB_APIS, Transport
from connectors.sandbox.hubspot import HubSpotSandbox
from mapping.errors import (
    AuthenticationError,
    ConnectorError,
    PermissionDenied,
    QuotaExhausted,
    RateLimited,
    RecordRejected,
    RetryableError,
    SchemaMismatch,
    ServiceUnavailable,
    SessionExpired,
    TlsVerificationFailed,
)


def _package_of(api: object) -> str:
    module = type(api).__module__  # e.g. hubspot.crm.objects.api.basic_api
    return module.rsplit(".api.", 1)[0].removesuffix(".api_client")  # or its ApiClient


def test_every_sub_api_the_connector_uses_has_its_exception_class_translated(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    transport = Transport(build_hubspot_client(settings_for(hs)), settings_for(hs))
    packages = {_package_of(transport.api(name)) for name in SUB_APIS}
    assert packages == set(VENDOR_API_EXCEPTIONS)
    for package in packages:
        base = importlib.import_module(f"{package}.exceptions").ApiException
        assert VENDOR_API_EXCEPTIONS[package] is base


@pytest.mark.parametrize("package", sorted(VENDOR_API_EXCEPTIONS))
@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"category": "EXPIRED_AUTHENTICATION"}, AuthenticationError),
        (403, {"category": "MISSING_SCOPES"}, PermissionDenied),
        (404, {"category": "OBJECT_NOT_FOUND"}, SchemaMismatch),
        (
            400,
            {"category": "VALIDATION_ERROR", "errors": [{"code": "INVALID_OPTION"}]},
            RecordRejected,
        ),
        (
            409,
            {"category": "CONFLICT", "message": "Contact already exists. Existing ID: 12"},
            RecordRejected,
        ),
        (429, {"policyName": "TEN_SECONDLY_ROLLING", "errorType": "RATE_LIMIT"}, RateLimited),
        (429, {"policyName": "DAILY", "errorType": "RATE_LIMIT"}, QuotaExhausted),
        (500, {}, ServiceUnavailable),
        (503, {}, ServiceUnavailable),
    ],
)
def test_each_status_of_each_package_becomes_a_refsync_error(
    package: str, status: int, body: dict, expected: type[ConnectorError]
) -> None:
    exceptions = importlib.import_module(f"{package}.exceptions")
    cls = {
        401: "UnauthorizedException",
        403: "ForbiddenException",
        404: "NotFoundException",
        500: "ServiceException",
        503: "ServiceException",
    }.get(status, "ApiException")
    exc = getattr(exceptions, cls)(status=status, reason="x")
    exc.body = json.dumps(body)
    exc.headers = {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    error = translate(exc, what="companies batch upsert")
    assert isinstance(error, expected)
    assert "companies batch upsert" in str(error)


def test_a_401_with_oauth_is_a_session_to_refresh_not_a_fatal_error() -> None:
    exc = VENDOR_API_EXCEPTIONS["hubspot.crm.objects"](status=401, reason="Unauthorized")
    exc.body = json.dumps({"category": "EXPIRED_AUTHENTICATION"})
    assert isinstance(translate(exc, what="deals search", can_refresh=True), SessionExpired)


def test_a_burst_429_waits_the_interval_the_headers_give() -> None:
    exc = VENDOR_API_EXCEPTIONS["hubspot.crm.objects"](status=429, reason="Too Many Requests")
    exc.body = json.dumps({"policyName": "TEN_SECONDLY_ROLLING"})
    exc.headers = {"X-HubSpot-RateLimit-Interval-Milliseconds": "2000"}
    error = translate(exc, what="deals upsert")
    assert isinstance(error, RateLimited) and error.retry_after == 2.0


def test_dropped_connections_and_timeouts_are_service_unavailable() -> None:
    for exc in (
        urllib3.exceptions.ProtocolError("Connection aborted."),
        urllib3.exceptions.ReadTimeoutError(None, "/crm", "timed out"),
        urllib3.exceptions.NewConnectionError(None, "refused"),
    ):
        assert isinstance(translate(exc, what="companies list"), ServiceUnavailable)


def test_tls_failures_are_fatal_not_retried_whether_bare_or_wrapped() -> None:
    bare = urllib3.exceptions.SSLError("certificate verify failed")
    wrapped = urllib3.exceptions.MaxRetryError(None, "/crm", reason=bare)
    for exc in (bare, wrapped):
        error = translate(exc, what="companies list")
        assert isinstance(error, TlsVerificationFailed)
        assert not isinstance(error, RetryableError)


def test_messages_name_the_property_and_code_but_never_the_value() -> None:
    """Failure catalogue: L2."""
    problems = [
        {
            "isValid": False,
            "message": "CANARY-DOB-19310228 was not one of the allowed options",
            "error": "INVALID_OPTION",
            "name": "refsync_urgency",
        }
    ]
    exc = VENDOR_API_EXCEPTIONS["hubspot.crm.objects"](status=400, reason="Bad Request")
    exc.body = json.dumps(
        {
            "category": "VALIDATION_ERROR",
            "message": f"Property values were not valid: {json.dumps(problems)}",
        }
    )
    error = translate(exc, what="deals batch upsert")
    assert isinstance(error, RecordRejected)
    assert error.code == "INVALID_OPTION" and error.field == "refsync_urgency"
    assert "CANARY" not in str(error)


def test_a_mapped_property_that_does_not_exist_is_a_schema_mismatch_naming_it(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    """Failure catalogue: G2."""
    connector = HubSpotConnector(settings_for(hs))
    with pytest.raises(SchemaMismatch) as info:
        connector.upsert(
            "companies", [{"refsync_id": "e-1", "refsync_missing_prop": "x"}], key="refsync_id"
        )
    assert "refsync_missing_prop" in str(info.value)


def test_no_vendor_exception_escapes_a_call_to_an_unknown_object_type(
    hs: HubSpotSandbox,  # noqa: F811
) -> None:
    connector = HubSpotConnector(settings_for(hs))
    with pytest.raises(ConnectorError):
        list(connector.read("p_no_such_object", since=None, fields=["refsync_id"]))
