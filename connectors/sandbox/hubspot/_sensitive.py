"""Sensitive-data properties and the scopes that guard them, as HubSpot documents them.

From HubSpot's "Access and manage Sensitive Data" guide (developers.hubspot.com/docs/api/
sensitive-data) and the ``dataSensitivity`` field of properties-v3.json:

- a property has ``dataSensitivity`` ``non_sensitive`` (the default), ``sensitive`` or
  ``highly_sensitive``; a sensitive one carries ``sensitiveDataCategories: ["HIPAA"]``;
- only an account with sensitive data turned on (Enterprise, a Super Admin's irreversible
  setting) can hold such properties (:attr:`SandboxState.sensitive_data`);
- ``GET /crm/v3/properties/{objectType}`` lists only non-sensitive properties unless the
  ``dataSensitivity`` query parameter asks for ``sensitive`` or ``highly_sensitive``;
- creating or editing such a property needs ``crm.objects.{object}.{level}.write``; reading or
  writing its values needs ``crm.objects.{object}.{level}.read`` / ``.write`` (``custom`` for
  custom objects). Schema reads need no sensitive scope.

A call without the scope answers 403 ``MISSING_SCOPES`` with the scope it needed in
``errors[].context.requiredGranularScopes``, the shape HubSpot uses for every missing scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.sandbox.hubspot._errors import HubSpotError, error_body, validation_error

__all__ = [
    "ALL_SENSITIVE_SCOPES",
    "LEVELS",
    "STANDARD_SCOPES",
    "check_new_property",
    "require_value_scopes",
    "scope_for",
    "visible_property",
]

LEVELS = ("sensitive", "highly_sensitive")
_OBJECTS = ("contacts", "companies", "deals", "custom")
_STANDARD_OBJECTS = (*_OBJECTS[:3], "custom", "owners")
STANDARD_SCOPES: frozenset[str] = frozenset(
    f"crm.{kind}.{obj}.{access}"
    for obj in _STANDARD_OBJECTS
    for kind in ("objects", "schemas")
    for access in ("read", "write")
) | {"oauth", "e-commerce", "sales-email-read", "crm.objects.custom.read"}
"""What a private app without sensitive scopes holds in the sandbox (object and schema
scopes; the sandbox checks only the sensitive ones)."""

ALL_SENSITIVE_SCOPES: frozenset[str] = frozenset(
    f"crm.objects.{obj}.{level}.{access}"
    for obj in _OBJECTS
    for level in LEVELS
    for access in ("read", "write")
)


def scope_for(object_name: str, level: str, access: str) -> str:
    """The scope that guards ``level`` values of ``object_name`` for ``access``."""
    obj = object_name if object_name in _OBJECTS else "custom"
    return f"crm.objects.{obj}.{level}.{access}"


def _missing(scopes: list[str]) -> HubSpotError:
    body = error_body(
        "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": scopes},
            }
        ],
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )
    return HubSpotError(403, body)


def visible_property(prop: dict[str, Any], asked: str | None) -> bool:
    """Whether a property listing with ``?dataSensitivity=asked`` shows ``prop``."""
    return bool(prop.get("dataSensitivity", "non_sensitive") == (asked or "non_sensitive"))


def check_new_property(
    object_name: str, body: dict[str, Any], enabled: bool, granted: frozenset[str]
) -> None:
    """Refuse a sensitive property the account or the token may not create."""
    level = body.get("dataSensitivity") or "non_sensitive"
    if level == "non_sensitive":
        return
    if level not in LEVELS:
        raise validation_error(
            f"Invalid dataSensitivity {level!r}; one of non_sensitive, sensitive, highly_sensitive"
        )
    if not enabled:
        raise validation_error(
            "Sensitive Data is not turned on for this account; a Super Admin must turn it on "
            "(Enterprise only) before sensitive properties can be created"
        )
    needed = scope_for(object_name, level, "write")
    if needed not in granted:
        raise _missing([needed])


def require_value_scopes(
    definitions: dict[str, dict[str, Any]],
    object_name: str,
    names: Iterable[str],
    access: str,
    granted: frozenset[str],
) -> None:
    """403 unless ``granted`` holds the scope of every sensitive property in ``names``."""
    needed = sorted(
        {
            scope_for(object_name, level, access)
            for name in names
            if (level := definitions.get(name, {}).get("dataSensitivity")) in LEVELS
        }
        - granted
    )
    if needed:
        raise _missing(needed)
