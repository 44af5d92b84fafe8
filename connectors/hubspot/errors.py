"""The connector's edge: every hubspot-api-client error becomes a :mod:`mapping.errors` type.

hubspot-api-client generates one package per API, and each package has its **own, unrelated**
``ApiException`` (a contacts ``NotFoundException`` is not a companies ``ApiException``).
:data:`VENDOR_API_EXCEPTIONS` lists the exception class of every sub-API this connector
calls; :func:`translate` is the only function that looks at them. urllib3 errors (dropped
connections, timeouts) are translated here too, since the client lets them through.

Messages name the object, the action, HubSpot's category/code and the property, never a
value (HubSpot's own messages echo values, e.g. ``'x' was not one of the allowed options``).
"""

from __future__ import annotations

import json
import re
import ssl
from dataclasses import dataclass, field
from typing import Any

import hubspot.crm.associations.v4.exceptions as _assoc_exc
import hubspot.crm.objects.exceptions as _objects_exc
import hubspot.crm.pipelines.exceptions as _pipelines_exc
import hubspot.crm.properties.exceptions as _properties_exc
import hubspot.crm.schemas.exceptions as _schemas_exc
import hubspot.oauth.exceptions as _oauth_exc
import urllib3.exceptions

from mapping.errors import (
    AuthenticationError,
    ConnectorError,
    PermissionDenied,
    QuotaExhausted,
    RateLimited,
    RecordRejected,
    SchemaMismatch,
    ServiceUnavailable,
    SessionExpired,
    TlsVerificationFailed,
)

__all__ = [
    "VENDOR_API_EXCEPTIONS",
    "ErrorBody",
    "error_for",
    "is_vendor_error",
    "parse_error_body",
    "translate",
]

VENDOR_API_EXCEPTIONS: dict[str, type[Exception]] = {
    "hubspot.crm.objects": _objects_exc.ApiException,
    "hubspot.crm.associations.v4": _assoc_exc.ApiException,
    "hubspot.crm.properties": _properties_exc.ApiException,
    "hubspot.crm.pipelines": _pipelines_exc.ApiException,
    "hubspot.crm.schemas": _schemas_exc.ApiException,
    "hubspot.oauth": _oauth_exc.ApiException,
}
"""Package of each sub-API used -> that package's ``ApiException`` (base of its 401/403/...)."""

_API_EXCEPTION_TYPES = tuple(VENDOR_API_EXCEPTIONS.values())
_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)
_PROPERTY_NAME = re.compile(r'Property \\?"?([A-Za-z0-9_\-]+)\\?"? does not exist')


@dataclass(frozen=True)
class ErrorBody:
    """HubSpot's error JSON, every field optional (as their docs advise)."""

    status: int
    category: str = ""
    sub_category: str = ""
    message: str = ""
    policy: str = ""
    context: dict[str, list[str]] = field(default_factory=dict)
    errors: tuple[dict[str, Any], ...] = ()
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        """Detail codes (``INVALID_OPTION``, ``PROPERTY_DOESNT_EXIST``...), message-embedded too."""
        found = [str(e.get("code") or e.get("error") or "") for e in self.errors]
        found += re.findall(r'\\?"error\\?"\s*:\s*\\?"([A-Z_]+)', self.message)
        return [c for c in found if c]

    @property
    def property_names(self) -> list[str]:
        names = list(self.context.get("propertyName", []))
        for detail in self.errors:
            names += list((detail.get("context") or {}).get("propertyName", []))
            if detail.get("in"):
                names.append(str(detail["in"]))
        names += re.findall(r'\\?"name\\?"\s*:\s*\\?"([A-Za-z0-9_\-]+)', self.message)
        names += _PROPERTY_NAME.findall(self.message)
        return list(dict.fromkeys(names))


def is_vendor_error(exc: BaseException) -> bool:
    """True for the exceptions :func:`translate` understands."""
    return isinstance(exc, _API_EXCEPTION_TYPES + _TRANSPORT_ERRORS)


def parse_error_body(status: int, raw: Any, headers: Any = None) -> ErrorBody:
    """Parse an error body (bytes, str or dict) without trusting any field to be there."""
    data: Any = raw
    if isinstance(raw, bytes | bytearray):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, str):
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
    if not isinstance(data, dict):
        data = {}
    context = data.get("context") if isinstance(data.get("context"), dict) else {}
    return ErrorBody(
        status=status,
        category=str(data.get("category") or data.get("errorType") or ""),
        sub_category=str(data.get("subCategory") or ""),
        message=str(data.get("message") or ""),
        policy=str(data.get("policyName") or ""),
        context={
            str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
            for k, v in context.items()
        },
        errors=tuple(e for e in data.get("errors") or () if isinstance(e, dict)),
        headers={str(k).lower(): str(v) for k, v in dict(headers or {}).items()},
    )


def translate(exc: BaseException, *, what: str, can_refresh: bool = False) -> ConnectorError:
    """The refsync error for a vendor exception; ``what`` names object and action.

    Use as ``raise translate(exc, what="deals upsert") from exc``.
    """
    if _is_tls_failure(exc):
        # Not retried: a certificate does not get trusted by waiting.
        return TlsVerificationFailed(
            f"HubSpot {what}: TLS verification of the HubSpot host failed; check `host` and "
            "that this machine's CA bundle (SSL_CERT_FILE) trusts it (verification stays on)"
        )
    if isinstance(exc, _TRANSPORT_ERRORS):
        return ServiceUnavailable(
            f"HubSpot {what}: connection failed ({type(exc).__name__}); will retry"
        )
    if not isinstance(exc, _API_EXCEPTION_TYPES):
        raise TypeError(f"not a hubspot-api-client error: {type(exc).__name__}") from exc
    status = int(getattr(exc, "status", 0) or 0)
    body = parse_error_body(status, getattr(exc, "body", None), getattr(exc, "headers", None))
    return error_for(body, what=what, can_refresh=can_refresh)


def _is_tls_failure(exc: BaseException) -> bool:
    if isinstance(exc, urllib3.exceptions.SSLError | ssl.SSLError):
        return True
    reason = getattr(exc, "reason", None)  # MaxRetryError wraps the SSLError
    return isinstance(reason, urllib3.exceptions.SSLError | ssl.SSLError)


def error_for(body: ErrorBody, *, what: str, can_refresh: bool = False) -> ConnectorError:
    """The refsync error for a parsed HubSpot error response (``.hubspot`` keeps the body)."""
    error = _error_for(body, what=what, can_refresh=can_refresh)
    error.hubspot = body  # type: ignore[attr-defined]  # for batch isolation in writes.py
    return error


def _error_for(body: ErrorBody, *, what: str, can_refresh: bool) -> ConnectorError:
    status, label = body.status, _label(body)
    if status == 0 or status >= 500:
        return ServiceUnavailable(
            f"HubSpot {what}: server error {status or 'before a response'}{label}; will retry",
            retry_after=_retry_after(body),
        )
    if status == 401:
        if can_refresh:
            return SessionExpired(f"HubSpot {what}: access token expired{label}; refreshing")
        return AuthenticationError(
            f"HubSpot {what}: authentication failed{label}; check the connection's access token"
        )
    if status == 403:
        scopes = _scopes(body)
        need = f" (needs scopes: {', '.join(scopes)})" if scopes else ""
        return PermissionDenied(
            f"HubSpot {what}: permission denied{label}{need}; grant the app the scope"
        )
    if status == 429:
        return _rate_error(body, what)
    return _client_error(body, what, label)


def _client_error(body: ErrorBody, what: str, label: str) -> ConnectorError:
    props = body.property_names
    prop = props[0] if props else None
    if "PROPERTY_DOESNT_EXIST" in body.codes or (body.status == 404 and "propert" in what):
        return SchemaMismatch(
            f"HubSpot {what}: property {', '.join(props) or '(unnamed)'} does not exist{label}; "
            "run `refsync provision hubspot --apply` or fix the mapping"
        )
    if body.status == 404:
        return SchemaMismatch(
            f"HubSpot {what}: not found{label}; check the object type exists in this account "
            "(custom objects need `refsync provision hubspot --apply`)"
        )
    code = body.codes[0] if body.codes else (body.category or f"HTTP_{body.status}")
    return RecordRejected(
        f"HubSpot {what}: rejected{label}" + (f" on property {prop}" if prop else ""),
        field=prop,
        code=code,
    )


def _rate_error(body: ErrorBody, what: str) -> ConnectorError:
    if body.policy.upper() == "DAILY":
        return QuotaExhausted(
            f"HubSpot {what}: the account's daily API limit is used up; the run stops with "
            "its state saved and resumes after the daily reset"
        )
    return RateLimited(
        f"HubSpot {what}: rate limited ({body.policy or 'burst'})",
        retry_after=_retry_after(body) or _interval(body),
    )


def _retry_after(body: ErrorBody) -> float | None:
    value = body.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _interval(body: ErrorBody) -> float:
    value = body.headers.get("x-hubspot-ratelimit-interval-milliseconds")
    try:
        return max(0.1, float(value) / 1000.0) if value else 10.0
    except ValueError:
        return 10.0


def _scopes(body: ErrorBody) -> list[str]:
    scopes: list[str] = []
    for detail in body.errors:
        ctx = detail.get("context") or {}
        for key in ("requiredGranularScopes", "missingScopes", "requiredScopes"):
            scopes += [str(s) for s in ctx.get(key, [])]
    for key in ("requiredGranularScopes", "missingScopes", "requiredScopes"):
        scopes += body.context.get(key, [])
    return list(dict.fromkeys(scopes))


def _label(body: ErrorBody) -> str:
    parts = [p for p in (body.category, body.sub_category) if p]
    codes = [c for c in body.codes if c not in parts]
    parts += codes[:3]
    return f" [{', '.join(parts)}]" if parts else ""
