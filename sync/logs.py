"""Logging for refsync: every record passes one redaction filter before any handler sees it.

The filter (a :class:`mapping.redact.Redactor`) replaces the secret values of the program's
connections, and token-shaped strings (Bearer tokens, Salesforce session ids, HubSpot
private-app tokens, JWTs, PEM keys) wherever they appear: in the message, its arguments and
an exception's text. Vendor libraries log through the same root logger, so their debug output
is covered too.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, SecretStr

from mapping.redact import Redactor

__all__ = ["RedactingFilter", "configure_logging", "secrets_of"]


class RedactingFilter(logging.Filter):
    """Rewrites each record's text through ``redactor`` (never drops a record)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            message = f"{message}\n{text}"
            record.exc_info = None
            record.exc_text = None
        record.msg = self.redactor.redact(message)
        record.args = None
        return True


class _JsonFormatter(logging.Formatter):
    """One JSON object per line; a record's ``extra={"refsync": {...}}`` fields (events such
    as ``run_started``/``run_finished``: job, run id, status, counts) are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "refsync", None)
        return json.dumps(
            {
                "time": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                **(fields if isinstance(fields, dict) else {}),
            },
            default=str,
        )


def secrets_of(settings: Iterable[Any]) -> list[str]:
    """Every secret value held by connection settings models (SecretStr fields)."""
    found: list[str] = []
    for model in settings:
        if isinstance(model, BaseModel):
            for name in type(model).model_fields:
                value = getattr(model, name, None)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append(value.get_secret_value())
    return found


def configure_logging(
    *, json_lines: bool = False, verbose: bool = False, secrets: Iterable[str] = ()
) -> RedactingFilter:
    """Route all logging to stderr through the redaction filter; return the filter."""
    redactor = Redactor()
    for secret in secrets:
        redactor.add_secret(secret)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    redacting = RedactingFilter(redactor)
    handler.addFilter(redacting)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose or json_lines else logging.WARNING)
    return redacting
