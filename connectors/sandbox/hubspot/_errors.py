"""HubSpot's error bodies, as the real API sends them (crm-api-behaviour.md B.2, B.10, B.11).

Handlers raise :class:`HubSpotError`; the app turns it into the JSON response. Per-input
errors of batch calls (207) are built with :func:`batch_error`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

__all__ = [
    "HubSpotError",
    "batch_error",
    "conflict",
    "error_body",
    "invalid_property_values",
    "not_found",
    "rate_limited",
    "unauthorized",
    "validation_error",
]


def _correlation_id() -> str:
    return str(uuid.uuid4())


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    """The standard error JSON (``status``, ``message``, ``correlationId``, ``category``)."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": _correlation_id(),
        "category": category,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


class HubSpotError(Exception):
    """An error response: HTTP ``status`` with HubSpot's JSON ``body``."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {body.get('category')}: {body.get('message')}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def validation_error(message: str, **extra: Any) -> HubSpotError:
    return HubSpotError(400, error_body(message, "VALIDATION_ERROR", **extra))


def invalid_property_values(problems: list[dict[str, Any]]) -> HubSpotError:
    """400 whose message embeds the per-property problems as JSON, as HubSpot does."""
    detail = json.dumps(problems, separators=(",", ":"))
    return validation_error(f"Property values were not valid: {detail}")


def not_found(message: str = "Object not found.  objectId are usually numeric.") -> HubSpotError:
    return HubSpotError(404, error_body(message, "OBJECT_NOT_FOUND"))


def conflict(message: str, **extra: Any) -> HubSpotError:
    return HubSpotError(409, error_body(message, "CONFLICT", **extra))


def unauthorized(expired_ms_ago: int | None = None, expire_iso: str | None = None) -> HubSpotError:
    if expired_ms_ago is None:
        return HubSpotError(
            401,
            error_body(
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            ),
        )
    seconds = max(0, expired_ms_ago // 1000)
    return HubSpotError(
        401,
        error_body(
            f"The OAuth token used to make this call expired {seconds} second(s) ago.",
            "EXPIRED_AUTHENTICATION",
            context={"expire time": [expire_iso or ""]},
        ),
    )


def rate_limited(policy: str, group: str) -> HubSpotError:
    """429 with ``policyName`` (``TEN_SECONDLY_ROLLING`` or ``DAILY``)."""
    word = policy.lower()
    body = {
        "status": "error",
        "message": f"You have reached your {word} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": _correlation_id(),
        "category": "RATE_LIMITS",
        "policyName": policy,
        "groupName": group,
    }
    return HubSpotError(429, body)


def batch_error(
    category: str,
    message: str,
    context: dict[str, list[str]],
    sub_category: str | None = None,
) -> dict[str, Any]:
    """One entry of ``errors[]`` in a 207 multi-status body (StandardError)."""
    # The spec types StandardError.subCategory as an object, so a string sub-category (as
    # HubSpot's live API sends it) would fail contract validation; it travels in context.
    if sub_category:
        context = {**context, "subCategory": [sub_category]}
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }
