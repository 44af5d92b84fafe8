"""The one place Salesforce and HTTP failures become refsync errors.

:func:`translate` maps a simple-salesforce or ``requests`` exception to a
:mod:`mapping.errors` type; :func:`raise_for_response` does the same for responses read
directly from the HTTP session (the fast read path and Bulk 2.0). :func:`record_error` turns
one per-record error of a collection or Bulk result into a :class:`RecordError`.

Messages name the object, key, field and Salesforce's error code, never field values
(Salesforce messages can quote them, so they are not copied).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.util import exception_handler

from mapping.errors import (
    AuthenticationError,
    ConnectorError,
    DuplicateKey,
    PermissionDenied,
    QuotaExhausted,
    RateLimited,
    RecordError,
    RecordRejected,
    RefsyncError,
    SchemaMismatch,
    ServiceUnavailable,
    SessionExpired,
    TlsVerificationFailed,
)

__all__ = ["LOCK_CODE", "matched_ids", "raise_for_response", "record_error", "translate"]

LOCK_CODE = "UNABLE_TO_LOCK_ROW"
_SCHEMA_CODES = frozenset({"INVALID_FIELD", "INVALID_TYPE", "INVALID_FIELD_FOR_INSERT_UPDATE"})
_DUPLICATE_CODES = frozenset({"DUPLICATE_EXTERNAL_ID", "MULTIPLE_RECORDS_FOUND"})
DUPLICATE_RULE_CODE = "DUPLICATES_DETECTED"
_NO_SUCH_COLUMN = re.compile(r"No such column '([A-Za-z0-9_.]+)'")
_UNSUPPORTED_TYPE = re.compile(r"sObject type '([A-Za-z0-9_]+)' is not supported")


def _first_error(content: Any) -> tuple[str, str]:
    """(errorCode, message) of a REST error body (a JSON array of errors, or a dict)."""
    item = content[0] if isinstance(content, list) and content else content
    if isinstance(item, dict):
        code = item.get("errorCode") or item.get("statusCode") or item.get("error") or ""
        return str(code), str(item.get("message") or item.get("error_description") or "")
    return "", ""


def _schema_detail(message: str) -> str:
    for pattern in (_NO_SUCH_COLUMN, _UNSUPPORTED_TYPE):
        match = pattern.search(message)
        if match:
            return f" ({match.group(1)!r})"
    return ""


def _translate_refused(
    exc: SalesforceRefusedRequest, where: str, code: str, message: str
) -> RefsyncError:
    if code == "REQUEST_LIMIT_EXCEEDED" and "Concurrent" in message:
        return RateLimited(
            f"Salesforce refused {where}: too many concurrent long-running requests in the org "
            "(REQUEST_LIMIT_EXCEEDED)",
            retry_after=30.0,
        )
    if code == "REQUEST_LIMIT_EXCEEDED":
        return QuotaExhausted(
            f"Salesforce refused {where}: the org's daily API request allowance is used up "
            "(REQUEST_LIMIT_EXCEEDED); the run stops with its state saved and resumes on the "
            "next run once the 24-hour window frees calls"
        )
    return PermissionDenied(
        f"Salesforce refused {where} ({code or exc.status}); grant the integration user the "
        "object/field permission or API access it needs"
    )


def translate(exc: BaseException, where: str, *, retry_after: float | None = None) -> RefsyncError:
    """The refsync error for a vendor/HTTP exception raised while doing ``where``."""
    if isinstance(exc, RefsyncError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        return AuthenticationError(
            f"Salesforce login failed ({exc.code}) during {where}; check the credentials"
        )
    if isinstance(exc, SalesforceError):
        return _translate_salesforce(exc, where, retry_after)
    if isinstance(exc, SalesforceOperationError):
        return ConnectorError(f"Salesforce Bulk API failed during {where}; see the job in Setup")
    if isinstance(exc, requests.exceptions.SSLError):
        return TlsVerificationFailed(
            f"TLS verification failed during {where}; set ca_file to the server's CA bundle "
            "(verification stays on)"
        )
    if isinstance(exc, requests.RequestException | ValueError):
        return ServiceUnavailable(
            f"Salesforce did not answer {where} ({type(exc).__name__})",
            retry_after=retry_after,
        )
    return ConnectorError(f"unexpected {type(exc).__name__} during {where}")


def _translate_salesforce(
    exc: SalesforceError, where: str, retry_after: float | None
) -> RefsyncError:
    code, message = _first_error(exc.content)
    if isinstance(exc, SalesforceMoreThanOneRecord):
        return DuplicateKey(
            f"{where}: the external id matches several Salesforce records; merge them",
            code="MULTIPLE_RECORDS",
        )
    if isinstance(exc, SalesforceExpiredSession):
        return SessionExpired(f"Salesforce session expired during {where} ({code or 401})")
    if isinstance(exc, SalesforceRefusedRequest):
        return _translate_refused(exc, where, code, message)
    if isinstance(exc, SalesforceResourceNotFound):
        return SchemaMismatch(
            f"Salesforce has no resource for {where} ({code or 404}); check the object and "
            "external-id field names in the mapping and the integration user's access"
        )
    if isinstance(exc, SalesforceMalformedRequest):
        if code == LOCK_CODE:
            return ServiceUnavailable(
                f"Salesforce row lock during {where} ({LOCK_CODE}): another process or user "
                "was changing the same records"
            )
        if code in _SCHEMA_CODES:
            return SchemaMismatch(
                f"Salesforce rejected {where}: {code}{_schema_detail(message)}; create the field "
                "or object, grant field-level access to the integration user, or fix the mapping"
            )
        return ConnectorError(f"Salesforce rejected {where} as malformed ({code or 400})")
    if isinstance(exc, SalesforceGeneralError) and exc.status == 429:
        return RateLimited(f"Salesforce rate-limited {where}", retry_after=retry_after or 30.0)
    if isinstance(exc, SalesforceGeneralError) and (exc.status >= 500 or exc.status == 420):
        return ServiceUnavailable(
            f"Salesforce answered {exc.status} to {where}", retry_after=retry_after
        )
    return ConnectorError(f"Salesforce answered {exc.status} ({code}) to {where}")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def raise_for_response(response: requests.Response, where: str) -> None:
    """Raise the translated error for a non-2xx response read from the session directly."""
    if response.status_code < 300:
        return
    try:
        exception_handler(response, name=where)
    except SalesforceError as exc:
        raise translate(exc, where, retry_after=_retry_after(response)) from exc


def matched_ids(error: Mapping[str, Any]) -> list[str]:
    """Ids of the existing records a duplicate rule matched (``DUPLICATES_DETECTED``).

    Salesforce puts them in ``duplicateResult.matchResults[].matchRecords[].record.Id``.
    """
    result = error.get("duplicateResult") or {}
    return [
        str(match["record"]["Id"])
        for group in result.get("matchResults") or ()
        for match in group.get("matchRecords") or ()
        if (match.get("record") or {}).get("Id")
    ]


def record_error(
    object_name: str,
    key_field: str,
    key: str,
    code: str,
    fields: list[str] | None,
    *,
    matched: Sequence[str] = (),
) -> RecordError:
    """A per-record error for one failed record of a write.

    ``matched``: the existing records a duplicate rule matched (named in the message, so an
    admin can merge them or exempt the integration user from the rule).
    """
    field = fields[0] if fields else None
    on = f" on {field}" if field else ""
    if code == DUPLICATE_RULE_CODE:
        found = f" existing record {', '.join(matched)}" if matched else " an existing record"
        return RecordRejected(
            f"a Salesforce duplicate rule refused {object_name} {key_field}={key} "
            f"({code}): it matches{found}; merge the records in Salesforce, or have the admin "
            "exempt the integration user from the rule; the record stays pending until then",
            key=key,
            field=field,
            code=code,
        )
    if code in _DUPLICATE_CODES:
        return DuplicateKey(
            f"{object_name} {key_field}={key}: the key matches several records ({code}); "
            "merge the duplicates in Salesforce",
            key=key,
            field=field,
            code=code,
        )
    if code == LOCK_CODE:
        return RecordRejected(
            f"Salesforce could not lock {object_name} {key_field}={key} ({code}): another "
            "process or user was changing it; the record stays pending and the next run "
            "writes it again",
            key=key,
            field=field,
            code=code,
        )
    return RecordRejected(
        f"Salesforce refused {object_name} {key_field}={key} ({code}{on}); fix the value or the "
        "mapping for that field",
        key=key,
        field=field,
        code=code or "UNKNOWN",
    )
