"""HubSpot sensitive-data properties: where a ``privacy: full`` HubSpot keeps PHI.

HubSpot's BAA (Annex I of its Sensitive Data Terms) covers PHI only in *sensitive-data
properties* of an Enterprise account whose Super Admin turned the HIPAA setting on. A
property's ``dataSensitivity`` is ``non_sensitive``, ``sensitive`` or ``highly_sensitive``;
the properties API lists the sensitive ones only when asked
(``GET /crm/v3/properties/{objectType}?dataSensitivity=sensitive``), and an app needs the
scopes ``crm.objects.{object}.{level}.read`` and ``.write`` per object (``custom`` for
custom objects) to create such properties and to read or write their values
(developers.hubspot.com/docs/api/sensitive-data). A call without them answers 403
``MISSING_SCOPES``, which :mod:`connectors.hubspot.errors` turns into a
:class:`~mapping.errors.PermissionDenied` naming the scope.

The settings say which level a ``full`` connection uses (``sensitive_data: sensitive``);
:func:`required_scopes` lists what the app must be granted, and :func:`list_properties`
lists a type's properties at that level too (hubspot-api-client 12 has no parameter for
it, so the call goes through its ``ApiClient``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from connectors.hubspot.transport import Transport

__all__ = [
    "LEVELS",
    "SensitiveLevel",
    "granted_scopes",
    "list_properties",
    "required_scopes",
    "scope_object",
]

SensitiveLevel = Literal["sensitive", "highly_sensitive"]
LEVELS: tuple[SensitiveLevel, ...] = ("sensitive", "highly_sensitive")
_SCOPED = ("contacts", "companies", "deals")


def scope_object(object_type: str) -> str:
    """The object word of a sensitive scope (``custom`` for custom objects)."""
    return object_type if object_type in _SCOPED else "custom"


def required_scopes(object_types: Iterable[str], level: SensitiveLevel) -> list[str]:
    """The read and write scopes of ``level`` for every object type, sorted."""
    return sorted(
        f"crm.objects.{scope_object(t)}.{level}.{access}"
        for t in {scope_object(t) for t in object_types}
        for access in ("read", "write")
    )


def list_properties(
    transport: Transport, object_type: str, level: SensitiveLevel | None
) -> list[dict[str, Any]]:
    """Every property of ``object_type``: the non-sensitive ones, and those of ``level``."""
    found = transport.call("properties", "get_all", object_type, what=f"{object_type} properties")
    results: list[dict[str, Any]] = list((found.data or {}).get("results", []))
    if level is None:
        return results
    sensitive = transport.call(
        "properties_client",
        "call_api",
        "/crm/v3/properties/{objectType}",
        "GET",
        {"objectType": object_type},
        [("dataSensitivity", level)],
        {"Accept": "application/json"},
        auth_settings=["oauth2"],
        response_types_map={},
        what=f"{object_type} {level} properties",
    )
    return results + list((sensitive.data or {}).get("results", []))


def granted_scopes(transport: Transport, oauth: bool) -> frozenset[str]:
    """The scopes the connector's token holds, as HubSpot reports them: an OAuth token's
    metadata (``GET /oauth/v1/access-tokens/{token}``), or a private app's
    (``POST /oauth/v2/private-apps/get/access-token-info``, which hubspot-api-client 12
    does not wrap: called through its ``ApiClient``)."""
    token = transport.tokens.current()
    if oauth:
        found = transport.call("oauth_access_tokens", "get", token, what="token scopes")
    else:
        found = transport.call(
            "oauth_client",
            "call_api",
            "/oauth/v2/private-apps/get/access-token-info",
            "POST",
            {},
            [],
            {"Accept": "application/json", "Content-Type": "application/json"},
            body={"tokenKey": token},
            auth_settings=["oauth2"],
            response_types_map={},
            what="token scopes",
        )
    return frozenset(str(s) for s in (found.data or {}).get("scopes", []))
