"""Authentication and the one place that builds the ``simple_salesforce.Salesforce`` client.

Every flow ends the same way: an access token and an instance host, from which a *direct*
(session-id) client is built. simple-salesforce therefore never holds credentials of its own,
so its built-in re-login on ``INVALID_SESSION_ID`` (which recurses without bound on a permanent
401 for ``SFType`` calls) cannot run; :class:`~connectors.salesforce.calls.CallRunner`
re-authenticates once itself through :func:`login` and :func:`apply_session`.

The token and SOAP requests go to ``settings.resolved_login_url``, so the same code talks to
``login.salesforce.com``, ``test.salesforce.com``, a My Domain host or the local sandbox.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from xml.sax.saxutils import escape

import jwt
import requests
import requests.adapters
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import soap_login, token_login

from connectors.salesforce.settings import SalesforceSettings
from mapping.errors import (
    AuthenticationError,
    ConfigurationError,
    ServiceUnavailable,
    TlsVerificationFailed,
)

__all__ = ["Session", "apply_session", "build_client", "login", "new_http_session"]

_JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_SOAP_BODY = """<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:urn="urn:partner.soap.sforce.com">
  <env:Header><urn:CallOptions><urn:client>refsync</urn:client>
    <urn:defaultNamespace>sf</urn:defaultNamespace></urn:CallOptions></env:Header>
  <env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">
    <n1:username>{username}</n1:username><n1:password>{password}</n1:password>
  </n1:login></env:Body>
</env:Envelope>"""


@dataclass(frozen=True, slots=True)
class Session:
    """An access token and the instance it is valid for (``host[:port]``)."""

    access_token: str
    instance: str


class _Adapter(requests.adapters.HTTPAdapter):
    """Enforces the configured CA bundle and a default timeout on every request.

    ``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override ``Session.verify``
    (psf/requests#3829), and simple-salesforce passes no ``verify`` per request, so a
    configured ``ca_file`` must be enforced at the adapter. simple-salesforce passes no
    timeout either, and a stalled connection must end as a (retried) timeout, not a hang.
    """

    def __init__(self, ca_file: str | None, timeout: float) -> None:
        super().__init__()
        self._ca_file = ca_file
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self._ca_file:
            kwargs["verify"] = self._ca_file
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def new_http_session(settings: SalesforceSettings) -> requests.Session:
    """A ``requests`` session with TLS verification on (against ``ca_file`` when given) and
    ``timeout_seconds`` on every request."""
    http = requests.Session()
    http.verify = settings.ca_file or True
    http.mount("https://", _Adapter(settings.ca_file, settings.timeout_seconds))
    return http


def login(settings: SalesforceSettings, http: requests.Session) -> Session:
    """Authenticate with the configured flow; AuthenticationError if Salesforce refuses."""
    try:
        if settings.auth == "token":
            return _token_session(settings)
        if settings.auth == "jwt":
            return _jwt_login(settings, http)
        if settings.auth == "client_credentials":
            return _client_credentials_login(settings, http)
        if settings.client_secret is not None:
            return _oauth_password_login(settings, http)
        return _soap_login(settings, http)
    except SalesforceAuthenticationFailed as exc:
        if isinstance(exc.code, int) and exc.code >= 500:
            raise ServiceUnavailable(f"the Salesforce login endpoint answered {exc.code}") from exc
        raise AuthenticationError(
            f"Salesforce refused the {settings.auth!r} login for this connection "
            f"({exc.code}); check the connection's credentials and connected app"
        ) from exc
    except requests.exceptions.SSLError as exc:
        # Not retried: a certificate does not get trusted by waiting.
        raise TlsVerificationFailed(
            f"TLS verification of the Salesforce login endpoint {settings.resolved_login_url} "
            "failed; set ca_file in this connection's settings to the server's CA bundle "
            "(a path relative to the program directory works; verification stays on)"
        ) from exc
    except requests.RequestException as exc:
        raise ServiceUnavailable(
            f"could not reach the Salesforce login endpoint {settings.resolved_login_url} "
            f"({type(exc).__name__}); check login_url/domain and the network"
        ) from exc


def build_client(settings: SalesforceSettings, http: requests.Session | None = None) -> Salesforce:
    """The one place a ``Salesforce`` client is built: log in, then a direct client."""
    http = http or new_http_session(settings)
    session = login(settings, http)
    return Salesforce(
        session_id=session.access_token,
        instance=session.instance,
        session=http,
        version=settings.api_version,
        object_pairs_hook=dict,
    )


def apply_session(client: Salesforce, session: Session) -> None:
    """Point an existing client at a fresh token (after a re-login)."""
    client.session_id = session.access_token
    client.headers = {**client.headers, "Authorization": f"Bearer {session.access_token}"}


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]


def _token_url(settings: SalesforceSettings) -> str:
    return f"{settings.resolved_login_url}/services/oauth2/token"


def _token_session(settings: SalesforceSettings) -> Session:
    url = urlparse(settings.instance_url or "")
    if not url.hostname:
        raise ConfigurationError(
            "auth 'token' needs instance_url like https://acme.my.salesforce.com"
        )
    instance = url.hostname if url.port in (None, 443) else f"{url.hostname}:{url.port}"
    return Session(_secret(settings.access_token), instance)


def _from_token_login(result: tuple[str, str]) -> Session:
    token, instance = result
    return Session(str(token), str(instance).rstrip("/"))


def _jwt_login(settings: SalesforceSettings, http: requests.Session) -> Session:
    try:
        key = Path(settings.private_key_file or "").read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            "cannot read the JWT private key file named by private_key_file; check the path"
        ) from exc
    claims = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": settings.resolved_audience,
        "exp": int((datetime.now(UTC) + timedelta(minutes=3)).timestamp()),
    }
    assertion = jwt.encode(claims, key, algorithm="RS256")
    data = {"grant_type": _JWT_GRANT, "assertion": assertion}
    return _from_token_login(
        token_login(
            _token_url(settings), data, settings.domain, settings.client_id or "", None, None, http
        )
    )


def _client_credentials_login(settings: SalesforceSettings, http: requests.Session) -> Session:
    pair = f"{settings.client_id}:{_secret(settings.client_secret)}".encode()
    headers = {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
    data = {"grant_type": "client_credentials"}
    return _from_token_login(
        token_login(
            _token_url(settings),
            data,
            settings.domain,
            settings.client_id or "",
            headers,
            None,
            http,
        )
    )


def _oauth_password_login(settings: SalesforceSettings, http: requests.Session) -> Session:
    data = {
        "grant_type": "password",
        "client_id": settings.client_id,
        "client_secret": _secret(settings.client_secret),
        "username": settings.username,
        "password": _secret(settings.password) + _secret(settings.security_token),
    }
    return _from_token_login(
        token_login(
            _token_url(settings), data, settings.domain, settings.client_id or "", None, None, http
        )
    )


def _soap_login(settings: SalesforceSettings, http: requests.Session) -> Session:
    body = _SOAP_BODY.format(
        username=escape(settings.username or ""),
        password=escape(_secret(settings.password) + _secret(settings.security_token)),
    )
    url = f"{settings.resolved_login_url}/services/Soap/u/{settings.api_version}"
    headers = {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"}
    token, instance = soap_login(url, body, headers, None, http)
    return Session(token, instance)
