"""The Salesforce connector's HTTP edge, unit-tested with ``responses`` through the real client.

Covers what is awkward to provoke on a sandbox: each vendor status/body becoming exactly one
refsync error type (and nothing from simple-salesforce or requests escaping), Retry-After,
the quota guard, the login requests of each auth flow, and settings validation.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from connectors.salesforce import SalesforceConnector, SalesforceSettings
from mapping.errors import (
    AuthenticationError,
    ConnectorError,
    DuplicateKey,
    PermissionDenied,
    QuotaExhausted,
    RefsyncError,
    SchemaMismatch,
    ServiceUnavailable,
    TlsVerificationFailed,
)

INSTANCE = "https://acme.my.salesforce.com"
BASE = f"{INSTANCE}/services/data/v62.0/"
LOGIN = "https://login.salesforce.com"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _token_connector(sleeps: Sleeps | None = None, **settings: object) -> SalesforceConnector:
    values = {"auth": "token", "instance_url": INSTANCE, "access_token": "tok-1", **settings}
    return SalesforceConnector(
        SalesforceSettings(**values), sleep=Sleeps() if sleeps is None else sleeps
    )


def _error(code: str, message: str = "m") -> list[dict[str, str]]:
    return [{"errorCode": code, "message": message}]


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _public_pem(key_file: Path) -> bytes:
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _token_body(token: str) -> dict[str, str]:
    return {"access_token": token, "instance_url": INSTANCE, "token_type": "Bearer"}


# -- settings ------------------------------------------------------------------------------


def test_soap_password_login_is_refused_from_api_v65() -> None:
    with pytest.raises(ValidationError, match="retired from API v65"):
        SalesforceSettings(
            auth="password", username="u", password="p", security_token="t", api_version="65.0"
        )


def test_oauth_password_flow_is_allowed_on_v65() -> None:
    settings = SalesforceSettings(
        auth="password",
        username="u",
        password="p",
        client_id="c",
        client_secret="s",
        api_version="65.0",
    )
    assert settings.api_version == "65.0"


def test_each_auth_flow_names_its_missing_settings() -> None:
    with pytest.raises(ValidationError, match="private_key_file"):
        SalesforceSettings(auth="jwt", client_id="c", username="u")
    with pytest.raises(ValidationError, match="client_secret"):
        SalesforceSettings(auth="client_credentials", client_id="c")


def test_secrets_are_not_shown_in_the_settings_repr() -> None:
    settings = SalesforceSettings(auth="client_credentials", client_id="c", client_secret="s3cr3t")
    assert "s3cr3t" not in repr(settings)


def test_login_url_defaults_to_the_domain() -> None:
    assert SalesforceSettings(auth="token", access_token="t", instance_url=INSTANCE, domain="test")
    settings = SalesforceSettings(
        auth="client_credentials", client_id="c", client_secret="s", domain="acme.my"
    )
    assert settings.resolved_login_url == "https://acme.my.salesforce.com"


# -- login flows ---------------------------------------------------------------------------


@responses.activate
def test_jwt_login_posts_a_signed_assertion_to_the_configured_token_endpoint(
    key_file: Path,
) -> None:
    responses.post(TOKEN_URL, json=_token_body("tok-jwt"))
    responses.get(f"{BASE}limits/", json={"DailyApiRequests": {"Max": 1, "Remaining": 1}})
    settings = SalesforceSettings(
        auth="jwt", client_id="ck", username="int@example.org", private_key_file=str(key_file)
    )
    SalesforceConnector(settings).check()
    form = parse_qs(responses.calls[0].request.body)
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(
        form["assertion"][0], _public_pem(key_file), algorithms=["RS256"], audience=LOGIN
    )
    assert (claims["iss"], claims["sub"]) == ("ck", "int@example.org")
    assert responses.calls[1].request.headers["Authorization"] == "Bearer tok-jwt"


@responses.activate
def test_client_credentials_login_sends_basic_auth_to_the_my_domain() -> None:
    url = "https://acme.my.salesforce.com/services/oauth2/token"
    responses.post(url, json=_token_body("tok-cc"))
    responses.get(f"{BASE}limits/", json={})
    settings = SalesforceSettings(
        auth="client_credentials", client_id="ck", client_secret="cs", domain="acme.my"
    )
    SalesforceConnector(settings).check()
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"ck:cs").decode()
    assert parse_qs(request.body) == {"grant_type": ["client_credentials"]}


@responses.activate
def test_a_refused_login_is_an_authentication_error_without_the_secret() -> None:
    """Failure catalogue: L2."""
    responses.post(
        TOKEN_URL, status=400, json={"error": "invalid_client", "error_description": "x"}
    )
    settings = SalesforceSettings(
        auth="password", username="u", password="hunter2", client_id="c", client_secret="s3"
    )
    with pytest.raises(AuthenticationError) as info:
        SalesforceConnector(settings).check()
    assert "hunter2" not in str(info.value) and "s3" not in str(info.value)


# -- error translation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, _error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), QuotaExhausted),
        (403, _error("INSUFFICIENT_ACCESS"), PermissionDenied),
        (
            400,
            _error("INVALID_FIELD", "No such column 'Foo__c' on entity 'Account'"),
            SchemaMismatch,
        ),
        (404, _error("NOT_FOUND"), SchemaMismatch),
        (400, _error("MALFORMED_QUERY"), ConnectorError),
        (300, ["/services/data/v62.0/sobjects/Account/001A", "/x/001B"], DuplicateKey),
        (409, _error("CONFLICT"), ConnectorError),
    ],
)
@responses.activate
def test_vendor_errors_become_one_refsync_error_type(
    status: int, body: object, expected: type[RefsyncError]
) -> None:
    responses.get(f"{BASE}limits/", status=status, json=body)
    with pytest.raises(expected) as info:
        _token_connector().check()
    assert isinstance(info.value.__cause__, Exception)
    assert len(responses.calls) == 1  # fatal errors are not retried


@responses.activate
def test_an_unknown_column_names_the_field_in_the_schema_error() -> None:
    """Failure catalogue: G2."""
    body = _error(
        "INVALID_FIELD", "\nSELECT Foo__c FROM Account\nNo such column 'Foo__c' on entity"
    )
    responses.get(f"{BASE}limits/", status=400, json=body)
    with pytest.raises(SchemaMismatch, match="Foo__c"):
        _token_connector().check()


@responses.activate
def test_concurrent_request_limit_is_retried_as_a_rate_limit() -> None:
    """Failure catalogue: A3."""
    sleeps = Sleeps()
    body = _error("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
    responses.get(f"{BASE}limits/", status=403, json=body)
    responses.get(f"{BASE}limits/", json={})
    _token_connector(sleeps).check()
    assert sleeps == [30.0]


@responses.activate
def test_503s_are_retried_with_backoff_until_success() -> None:
    sleeps = Sleeps()
    for _ in range(3):
        responses.get(f"{BASE}limits/", status=503, body="Service Unavailable")
    responses.get(f"{BASE}limits/", json={})
    _token_connector(sleeps).check()
    assert len(responses.calls) == 4
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2]


@responses.activate
def test_retries_stop_after_max_attempts_with_service_unavailable() -> None:
    sleeps = Sleeps()
    responses.get(f"{BASE}limits/", status=500, body="oops")
    with pytest.raises(ServiceUnavailable):
        _token_connector(sleeps, max_attempts=3).check()
    assert len(responses.calls) == 3 and len(sleeps) == 2


@responses.activate
def test_retry_after_header_is_honoured_on_the_fast_read_path() -> None:
    sleeps = Sleeps()
    describe = {
        "fields": [{"name": n, "type": "string"} for n in ("Id", "SystemModstamp", "IsDeleted")]
    }
    responses.get(f"{BASE}sobjects/Account/describe/", json=describe)
    responses.get(f"{BASE}queryAll/", status=503, headers={"Retry-After": "7"}, body="busy")
    responses.get(f"{BASE}queryAll/", json={"done": True, "totalSize": 0, "records": []})
    assert list(_token_connector(sleeps).read("Account", since=None, fields=[])) == []
    assert sleeps == [7.0]


@responses.activate
def test_429_is_a_rate_limit_with_its_retry_after() -> None:
    sleeps = Sleeps()
    responses.get(f"{BASE}limits/", status=429, json=_error("TOO_MANY"))
    responses.get(f"{BASE}limits/", json={})
    _token_connector(sleeps).check()
    assert sleeps == [30.0]


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("reset"),
        requests.Timeout("slow"),
        requests.exceptions.ChunkedEncodingError("cut"),
    ],
)
@responses.activate
def test_network_failures_are_retried_then_reported_as_unavailable(failure: Exception) -> None:
    responses.get(f"{BASE}limits/", body=failure)
    with pytest.raises(ServiceUnavailable) as info:
        _token_connector(max_attempts=2).check()
    assert not isinstance(info.value, requests.RequestException)


@responses.activate
def test_tls_failures_are_fatal_and_name_ca_file() -> None:
    responses.get(f"{BASE}limits/", body=requests.exceptions.SSLError("bad cert"))
    with pytest.raises(ConnectorError, match="ca_file") as info:
        _token_connector().check()
    assert not isinstance(info.value, ServiceUnavailable)


@responses.activate
def test_a_tls_failure_at_login_is_not_retried_and_names_ca_file(key_file: Path) -> None:
    responses.post(TOKEN_URL, body=requests.exceptions.SSLError("certificate verify failed"))
    sleeps = Sleeps()
    settings = SalesforceSettings(
        auth="jwt", client_id="ck", username="u", private_key_file=str(key_file)
    )
    with pytest.raises(TlsVerificationFailed, match="ca_file") as info:
        SalesforceConnector(settings, sleep=sleeps).check()
    assert not isinstance(info.value, ServiceUnavailable)
    assert len(responses.calls) == 1
    assert sleeps == []  # no backoff: the failure is reported at once


# -- session expiry ------------------------------------------------------------------------


@responses.activate
def test_an_expired_session_is_renewed_once_and_the_call_retried(key_file: Path) -> None:
    responses.post(TOKEN_URL, json=_token_body("tok-1"))
    responses.post(TOKEN_URL, json=_token_body("tok-2"))
    responses.get(f"{BASE}limits/", status=401, json=_error("INVALID_SESSION_ID"))
    responses.get(f"{BASE}limits/", json={})
    settings = SalesforceSettings(
        auth="jwt", client_id="ck", username="u", private_key_file=str(key_file)
    )
    SalesforceConnector(settings).check()
    urls = [c.request.url for c in responses.calls]
    assert urls == [TOKEN_URL, f"{BASE}limits/", TOKEN_URL, f"{BASE}limits/"]
    assert responses.calls[3].request.headers["Authorization"] == "Bearer tok-2"


@responses.activate
def test_a_second_expiry_after_relogin_is_an_authentication_error(key_file: Path) -> None:
    responses.post(TOKEN_URL, json=_token_body("tok-1"))
    responses.get(f"{BASE}limits/", status=401, json=_error("INVALID_SESSION_ID"))
    settings = SalesforceSettings(
        auth="jwt", client_id="ck", username="u", private_key_file=str(key_file)
    )
    with pytest.raises(AuthenticationError):
        SalesforceConnector(settings).check()
    # one login, one call, one re-login, one retry: no recursion, no loop
    assert len(responses.calls) == 4


# -- quota guard ---------------------------------------------------------------------------


@responses.activate
def test_quota_guard_stops_before_passing_the_configured_share() -> None:
    responses.get(f"{BASE}limits/", json={}, headers={"Sforce-Limit-Info": "api-usage=80/100"})
    connector = _token_connector(quota_share=0.8)
    connector.check()
    with pytest.raises(QuotaExhausted, match=r"80/100.*quota_share=0\.8"):
        connector.check()
    assert len(responses.calls) == 1


@responses.activate
def test_quota_guard_reads_usage_alongside_per_app_usage() -> None:
    header = "api-usage=10/15000; per-app-api-usage=17/250(appName=refsync)"
    responses.get(f"{BASE}limits/", json={}, headers={"Sforce-Limit-Info": header})
    connector = _token_connector()
    connector.check()
    assert (connector.quota.used, connector.quota.total) == (10, 15000)


# -- no vendor exception escapes -----------------------------------------------------------


@pytest.mark.parametrize("status", [300, 400, 401, 403, 404, 405, 409, 410, 414, 500, 502, 503])
@responses.activate
def test_no_vendor_exception_escapes_any_operation(status: int) -> None:
    names = ("Id", "SystemModstamp", "IsDeleted", "Ext__c")
    describe = {
        "fields": [{"name": n, "type": "string", "externalId": n == "Ext__c"} for n in names]
    }
    responses.get(f"{BASE}sobjects/Account/describe/", json=describe)
    connector = _token_connector(max_attempts=1)
    connector.describe("Account")  # cached: every later call hits the failing endpoint
    responses.reset()
    body = json.dumps(_error("SOMETHING"))
    for method in (responses.GET, responses.PATCH, responses.DELETE, responses.POST):
        responses.add(method, re.compile(f"{re.escape(BASE)}.*"), status=status, body=body)
    operations = [
        connector.check,
        lambda: list(connector.read("Account", since=None, fields=["Ext__c"])),
        lambda: connector.upsert("Account", [{"Ext__c": "a"}], key="Ext__c"),
        lambda: connector.archive("Account", ["a"], key="Ext__c"),
    ]
    for operation in operations:
        with pytest.raises(RefsyncError) as info:
            operation()
        assert type(info.value).__module__ == "mapping.errors"


# -- Bulk API 2.0 job states ---------------------------------------------------------------

JOBS = f"{BASE}jobs/ingest/"
EXT_DESCRIBE = {
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "Ext__c", "type": "string", "externalId": True, "createable": True},
        {"name": "Name", "type": "string", "createable": True},
    ]
}


def _bulk_connector(**settings: object) -> SalesforceConnector:
    responses.get(f"{BASE}sobjects/Account/describe/", json=EXT_DESCRIBE)
    responses.post(JOBS, json={"id": "750J", "state": "Open"})
    responses.put(f"{JOBS}750J/batches/", status=201)
    responses.patch(f"{JOBS}750J/", json={"id": "750J", "state": "UploadComplete"})
    return _token_connector(bulk_threshold=2, bulk_poll_seconds=0, **settings)


@responses.activate
def test_a_failed_bulk_job_is_a_connector_error_naming_the_job() -> None:
    """Failure catalogue: F2."""
    connector = _bulk_connector()
    responses.get(f"{JOBS}750J/", json={"id": "750J", "state": "Failed", "errorMessage": "x"})
    with pytest.raises(ConnectorError, match="750J ended Failed"):
        connector.upsert("Account", [{"Ext__c": "a"}, {"Ext__c": "b"}], key="Ext__c")


@responses.activate
def test_a_stuck_bulk_job_is_aborted_and_reported_as_unavailable() -> None:
    """Failure catalogue: F2."""
    connector = _bulk_connector(bulk_timeout_seconds=0.001, max_attempts=1)
    responses.get(f"{JOBS}750J/", json={"id": "750J", "state": "InProgress"})
    with pytest.raises(ServiceUnavailable, match="aborted"):
        connector.upsert("Account", [{"Ext__c": "a"}, {"Ext__c": "b"}], key="Ext__c")
    aborts = [
        c for c in responses.calls if c.request.method == "PATCH" and b"Aborted" in c.request.body
    ]
    assert len(aborts) == 1


@responses.activate
def test_bulk_results_are_matched_by_key_whatever_their_order() -> None:
    connector = _bulk_connector()
    responses.get(f"{JOBS}750J/", json={"id": "750J", "state": "JobComplete"})
    ok = '"sf__Id","sf__Created",Ext__c,Name\n"001B","false","b","B"\n"001A","true","a","A"\n'
    failed = '"sf__Id","sf__Error",Ext__c,Name\n"","STRING_TOO_LONG:Name: data value too large:Name --","c","C"\n'
    responses.get(f"{JOBS}750J/successfulResults/", body=ok)
    responses.get(f"{JOBS}750J/failedResults/", body=failed)
    records = [{"Ext__c": k, "Name": k.upper()} for k in ("a", "b", "c", "d")]
    results = connector.upsert("Account", records, key="Ext__c")
    assert [(r.key, r.id, r.created) for r in results[:2]] == [
        ("a", "001A", True),
        ("b", "001B", False),
    ]
    assert (results[2].error.code, results[2].error.field) == ("STRING_TOO_LONG", "Name")
    assert results[3].error.code == "UNPROCESSED"
    upload = next(c for c in responses.calls if c.request.method == "PUT")
    assert upload.request.body.decode().splitlines()[0] == "Ext__c,Name"
