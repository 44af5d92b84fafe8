"""Logins (SOAP, OAuth password, JWT bearer, client credentials) and session expiry, as the real
simple-salesforce performs and sees them."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession


@pytest.mark.parametrize("login", ["password", "oauth_password", "jwt", "client_credentials"])
def test_each_login_flow_yields_a_working_client(sf_sandbox, login):
    sf = sf_sandbox.make_client(login=login)
    assert sf.sf_instance == sf_sandbox.instance_url.removeprefix("https://")
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
    label = "POST soap login" if login == "password" else "POST oauth2/token"
    assert sf_sandbox.stats.calls[label] == 1


def test_wrong_password_raises_authentication_failed_with_the_soap_fault_code(sf_sandbox):
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        Salesforce(
            username=sf_sandbox.username,
            password="wrong",
            security_token=sf_sandbox.security_token,
            session=sf_sandbox.login_session(),
            version=sf_sandbox.api_version,
        )
    assert exc.value.code == "INVALID_LOGIN"


def test_soap_login_is_refused_from_api_version_65(sf_sandbox):
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        sf_sandbox.make_client(login="password", version="65.0")
    assert exc.value.code == "INVALID_OPERATION"


def test_jwt_signed_by_another_key_is_an_invalid_grant(sf_sandbox, tmp_path):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "other.pem"
    key_file.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        sf_sandbox.make_client(login="jwt", privatekey_file=str(key_file))
    assert exc.value.code == "invalid_grant"
    assert str(exc.value) == "Authentication failed (code: invalid_grant): invalid assertion"


def test_jwt_for_another_user_or_audience_is_refused(sf_sandbox):
    key = Path(sf_sandbox.private_key_file).read_bytes()
    session = sf_sandbox.login_session()
    url = f"{sf_sandbox.instance_url}/services/oauth2/token"
    claims = {
        "iss": sf_sandbox.client_id,
        "sub": sf_sandbox.username,
        "exp": int(time.time()) + 180,
    }
    for extra, expected in [
        ({"sub": "someone@else"}, "user hasn't approved this consumer"),
        ({"aud": "https://evil.example"}, "audience is invalid"),
        (
            {"aud": "https://login.salesforce.com", "exp": int(time.time()) - 10},
            "expired authorization code",
        ),
    ]:
        assertion = jwt.encode(
            {"aud": "https://login.salesforce.com", **claims, **extra}, key, algorithm="RS256"
        )
        answer = session.post(
            url,
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
        )
        assert answer.status_code == 400
        assert answer.json() == {"error": "invalid_grant", "error_description": expected}


def test_client_credentials_with_a_wrong_secret_is_invalid_client(sf_sandbox):
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        sf_sandbox.make_client(login="client_credentials", consumer_secret="nope")
    assert exc.value.code == "invalid_client"


def test_expired_session_answers_401_with_a_json_array(sf_sandbox):
    session = sf_sandbox.login_session()
    sf_sandbox.expire_sessions()
    answer = session.get(
        f"{sf_sandbox.instance_url}/services/data/v62.0/limits/",
        headers={"Authorization": f"Bearer {sf_sandbox.session_id}"},
    )
    assert answer.status_code == 401
    assert answer.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_a_client_with_credentials_logs_in_again_after_expiry_and_retries(sf_sandbox):
    sf = sf_sandbox.make_client(login="jwt")
    sf_sandbox.expire_sessions()
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
    assert sf_sandbox.stats.calls["POST oauth2/token"] == 2
    assert sf_sandbox.stats.calls["GET query"] == 2


def test_a_session_id_only_client_raises_expired_session(sf_sandbox):
    sf = sf_sandbox.make_client()
    sf_sandbox.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf.Account.create({"Name": "A"})
    assert exc.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    assert sf_sandbox.records("Account") == []


def test_jwt_is_checked_against_a_configured_certificate(sf_sandbox, tmp_path):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "refsync connected app")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_file = tmp_path / "app.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    default_key = sf_sandbox._org.creds.jwt_public_key
    sf_sandbox.set_jwt_public_key(cert.public_bytes(serialization.Encoding.PEM))
    try:
        sf = sf_sandbox.make_client(login="jwt", privatekey_file=str(key_file))
        assert sf.limits()["DailyApiRequests"]["Max"] == 5_000_000
        with pytest.raises(SalesforceAuthenticationFailed):
            sf_sandbox.make_client(login="jwt")  # the sandbox's own key no longer matches
    finally:
        sf_sandbox.set_jwt_public_key(default_key)
