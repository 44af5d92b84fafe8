"""Salesforce REST error bodies, as the real API sends them.

Request-level errors are a JSON *array* of ``{"message", "errorCode", "fields"}`` (simple-salesforce
reads ``body[0]["errorCode"]`` on a 401 to decide on re-login). Per-record errors inside sObject
Collections and upsert results use ``statusCode`` instead of ``errorCode``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "RecordFailure", "record_error"]


class ApiError(Exception):
    """A request-level error: HTTP ``status`` and one REST error entry."""

    def __init__(
        self, status: int, code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            entry["fields"] = self.fields
        return [entry]


@dataclass
class RecordFailure(Exception):
    """A per-record failure (``statusCode`` style) found while validating or applying a write."""

    code: str
    message: str
    fields: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. ``duplicateResult``

    def entry(self) -> dict[str, Any]:
        return {
            **self.extra,
            "statusCode": self.code,
            "message": self.message,
            "fields": self.fields,
        }

    def as_api_error(self) -> ApiError:
        """The same failure answered by a single-record endpoint (400 with ``errorCode``)."""
        return ApiError(400, self.code, self.message, self.fields)

    def csv_text(self) -> str:
        """The ``sf__Error`` column text of Bulk API 2.0 failed results."""
        return f"{self.code}:{self.message}:{','.join(self.fields)} --"


def record_error(code: str, message: str, *fields: str) -> RecordFailure:
    return RecordFailure(code, message, list(fields))
