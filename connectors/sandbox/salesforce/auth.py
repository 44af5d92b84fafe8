"""Sessions and the three ways simple-salesforce logs in: SOAP ``login()`` and OAuth 2.0
(username-password, client credentials, JWT bearer with a real RS256 signature check).

Failures answer as Salesforce does: SOAP faults (HTTP 500, ``sf:exceptionCode``) for SOAP and
``{"error", "error_description"}`` with 400 for the token endpoint. Tokens look like real ones
(``00D...!AQ...``) and are opaque; :meth:`Sessions.expire_all` invalidates every live one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import jwt

__all__ = ["Credentials", "LoginFailed", "Sessions", "soap_fault", "soap_login_response"]

_PARTNER_NS = "{urn:partner.soap.sforce.com}"
SOAP_LOGIN_LAST_VERSION = 64.0  # SOAP login() is gone from API v65.0


class LoginFailed(Exception):
    """A rejected login: ``code`` is the SOAP exceptionCode or the OAuth ``error``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Credentials:
    """What the sandbox org accepts. ``jwt_public_key`` is a PEM public key or certificate."""

    username: str = "integration@refsync.sandbox"
    password: str = "sandbox-password"
    security_token: str = "SANDBOXTOKEN"
    client_id: str = "3MVG9refsyncSandboxConsumerKey"
    client_secret: str = "refsync-sandbox-consumer-secret"
    jwt_public_key: bytes | None = None
    audiences: set[str] = field(default_factory=set)


@dataclass
class Sessions:
    """Live access tokens of the sandbox org (thread-safe)."""

    org_id: str
    user_id: str
    _live: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self) -> str:
        token = f"{self.org_id}!AQ{secrets.token_urlsafe(72)}"
        with self._lock:
            self._live[token] = time.time()
        return token

    def valid(self, token: str | None) -> bool:
        with self._lock:
            return token is not None and token in self._live

    def expire_all(self) -> None:
        with self._lock:
            self._live.clear()

    # -- SOAP ---------------------------------------------------------------------------------

    def soap_login(self, creds: Credentials, body: bytes, version: str) -> str:
        """Check a SOAP ``login()`` envelope; return a new session id."""
        if float(version) > SOAP_LOGIN_LAST_VERSION:
            raise LoginFailed(
                "INVALID_OPERATION",
                f"SOAP login() is not available in API version {version}; use OAuth 2.0",
            )
        try:
            root = ET.fromstring(body)  # noqa: S314 - loopback sandbox, our clients' bodies
        except ET.ParseError as exc:
            raise LoginFailed("INVALID_LOGIN", "Malformed SOAP login request") from exc
        username = root.findtext(f".//{_PARTNER_NS}username") or ""
        password = root.findtext(f".//{_PARTNER_NS}password") or ""
        if username != creds.username or password != creds.password + creds.security_token:
            raise LoginFailed(
                "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
            )
        return self.issue()

    # -- OAuth 2.0 ----------------------------------------------------------------------------

    def token(self, creds: Credentials, form: dict[str, str], authorization: str | None) -> str:
        """Check a token request; return a new access token or raise :class:`LoginFailed`."""
        grant = form.get("grant_type", "")
        if grant == "password":
            self._check_client(creds, form.get("client_id"), form.get("client_secret"))
            expected = {creds.password, creds.password + creds.security_token}
            if form.get("username") != creds.username or form.get("password") not in expected:
                raise LoginFailed("invalid_grant", "authentication failure")
        elif grant == "client_credentials":
            client_id, secret = _basic(authorization) or (
                form.get("client_id"),
                form.get("client_secret"),
            )
            self._check_client(creds, client_id, secret)
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            self._check_assertion(creds, form.get("assertion", ""))
        else:
            raise LoginFailed("unsupported_grant_type", "grant type not supported")
        return self.issue()

    @staticmethod
    def _check_client(creds: Credentials, client_id: str | None, secret: str | None) -> None:
        if client_id != creds.client_id:
            raise LoginFailed("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(secret or "", creds.client_secret):
            raise LoginFailed("invalid_client", "invalid client credentials")

    @staticmethod
    def _check_assertion(creds: Credentials, assertion: str) -> None:
        if creds.jwt_public_key is None:
            raise LoginFailed("invalid_grant", "no certificate is configured for this app")
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                _public_key(creds.jwt_public_key),
                algorithms=["RS256"],
                audience=sorted(creds.audiences),
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise LoginFailed("invalid_grant", "expired authorization code") from exc
        except jwt.InvalidAudienceError as exc:
            raise LoginFailed("invalid_grant", "audience is invalid") from exc
        except jwt.PyJWTError as exc:
            raise LoginFailed("invalid_grant", "invalid assertion") from exc
        if claims["iss"] != creds.client_id:
            raise LoginFailed("invalid_client_id", "client identifier invalid")
        if claims["sub"] != creds.username:
            raise LoginFailed("invalid_grant", "user hasn't approved this consumer")


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.startswith("Basic "):
        return None
    decoded = base64.b64decode(authorization[6:]).decode()
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _public_key(pem: bytes) -> Any:
    if b"CERTIFICATE" in pem:
        from cryptography.x509 import load_pem_x509_certificate

        return load_pem_x509_certificate(pem).public_key()
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(pem)


def token_response(instance_url: str, sessions: Sessions, token: str) -> dict[str, str]:
    """The 200 body of ``/services/oauth2/token``."""
    issued = str(int(time.time() * 1000))
    ident = f"{instance_url}/id/{sessions.org_id}/{sessions.user_id}"
    digest = hmac.new(token.encode(), (ident + issued).encode(), hashlib.sha256).digest()
    return {
        "access_token": token,
        "instance_url": instance_url,
        "id": ident,
        "token_type": "Bearer",
        "issued_at": issued,
        "signature": base64.b64encode(digest).decode(),
        "scope": "api",
    }


_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns="urn:partner.soap.sforce.com" xmlns:sf="urn:fault.partner.soap.sforce.com" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}'
    "</soapenv:Body></soapenv:Envelope>"
)


def soap_login_response(
    instance_url: str, version: str, sessions: Sessions, token: str, username: str
) -> str:
    org, user, name = sessions.org_id, sessions.user_id, escape(username)
    body = (
        "<loginResponse><result>"
        f"<metadataServerUrl>{instance_url}/services/Soap/m/{version}/{org}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{instance_url}/services/Soap/u/{version}/{org}</serverUrl>"
        f"<sessionId>{escape(token)}</sessionId><userId>{user}</userId>"
        f"<userInfo><organizationId>{org}</organizationId>"
        "<organizationName>refsync sandbox</organizationName>"
        "<sessionSecondsValid>7200</sessionSecondsValid>"
        f"<userEmail>{name}</userEmail><userId>{user}</userId><userName>{name}</userName>"
        "</userInfo></result></loginResponse>"
    )
    return _ENVELOPE.format(body=body)


def soap_fault(code: str, message: str) -> str:
    text = escape(message)
    body = (
        f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{code}: {text}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{text}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault>"
    )
    return _ENVELOPE.format(body=body)
