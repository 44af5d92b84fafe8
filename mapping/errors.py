"""The one error hierarchy of refsync.

The recovery decision lives in the type. An error is **fatal** unless it carries one of two
markers:

- :class:`RetryableError` - back off and try again (honour ``retry_after`` when set);
- :class:`RecordError` - record it against that one record and carry on with the rest.

Hierarchy (markers in brackets)::

    RefsyncError
    +-- ConfigurationError                 exit 2: fix refsync.yaml / mapping files
    |   +-- SecretError                    a ${VAR} is missing or a literal secret is in YAML
    +-- MappingError                       a mapping cannot be applied as written
    |   +-- TransformError [RecordError]   one value of one record could not be transformed
    |   +-- StageTransitionRefused [RecordError]
    +-- ValidationFailed [RecordError]     a canonical record is invalid (field named)
    +-- ConnectorError                     exit 3 unless marked
    |   +-- AuthenticationError            credentials wrong or expired beyond refresh
    |   +-- PermissionDenied               the integration user may not do this
    |   +-- TlsVerificationFailed          the server's certificate is not trusted (ca_file)
    |   +-- SchemaMismatch                 a mapped field/object is missing or has the wrong type
    |   +-- QuotaExhausted                 daily allowance reached: stop, state saved
    |   +-- RateLimited [RetryableError]   short-window limit: wait retry_after and retry
    |   +-- ServiceUnavailable [RetryableError]  5xx, timeouts, dropped connections, row locks
    |   +-- SessionExpired [RetryableError]      re-authenticate once, then retry
    |   +-- RecordRejected [RecordError]   the system refused one record (code + field)
    |   +-- DuplicateKey [RecordError]     the match key matches several records
    +-- SyncError
        +-- StateError                     exit 4: state store unreachable or inconsistent
        +-- LockHeld                       exit 4: another live run holds the job lock

Messages never carry PHI or secrets: they name the object, the key, the field and the fix,
not the value. Vendor errors are translated once, at the connector edge, with
``raise OurError(...) from exc``.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConnectorError",
    "DuplicateKey",
    "LockHeld",
    "MappingError",
    "PermissionDenied",
    "QuotaExhausted",
    "RateLimited",
    "RecordError",
    "RecordRejected",
    "RefsyncError",
    "RetryableError",
    "SchemaMismatch",
    "SecretError",
    "ServiceUnavailable",
    "SessionExpired",
    "StageTransitionRefused",
    "StateError",
    "SyncError",
    "TlsVerificationFailed",
    "TransformError",
    "ValidationFailed",
    "exit_code_for",
]


class RefsyncError(Exception):
    """Root of every error refsync raises on purpose.

    ``exit_code`` is what the CLI exits with when this error ends a command.
    """

    exit_code: int = 3

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryableError(RefsyncError):
    """Marker: the operation may succeed if retried after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def gave_up(self, attempts: int) -> RetryableError:
        """The same error once retries are exhausted: its message says so (no "retrying")."""
        message = (
            f"{self.message}; gave up after {attempts} attempt{'s' if attempts != 1 else ''} "
            "(the run stops with its state saved; the next run tries again)"
        )
        return type(self)(message, retry_after=self.retry_after)


class RecordError(RefsyncError):
    """Marker: one record failed; record it against that record and carry on.

    ``key`` is the record's match key (never PHI), ``field`` the field at fault (if known),
    ``code`` a short machine code (the vendor's code when it came from a vendor).
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        field: str | None = None,
        code: str = "INVALID",
    ) -> None:
        super().__init__(message)
        self.key = key
        self.field = field
        self.code = code


class ConfigurationError(RefsyncError):
    """The program directory is wrong; ``problems`` lists every ``file:line:col: message``."""

    exit_code = 2

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class SecretError(ConfigurationError):
    """A ``${VAR}`` is not set, or a literal secret was written into YAML."""


class MappingError(RefsyncError):
    """A mapping cannot be applied as written."""

    exit_code = 2


class TransformError(RecordError, MappingError):
    """One value of one record could not be transformed (names transform and field)."""

    exit_code = 1


class StageTransitionRefused(RecordError, MappingError):
    """The stage machine refused a move; the reason says why and who may make it."""

    exit_code = 1


class ValidationFailed(RecordError):
    """A canonical record failed validation (the field is named, the value is not)."""


class ConnectorError(RefsyncError):
    """Something went wrong talking to an external system. Fatal unless marked."""

    exit_code = 3


class AuthenticationError(ConnectorError):
    """Credentials are wrong, revoked, or expired beyond refresh. Fix the connection's secrets."""


class PermissionDenied(ConnectorError):
    """The integration user lacks a permission, scope or field-level access."""


class TlsVerificationFailed(ConnectorError):
    """The server's TLS certificate did not verify. Fatal, never retried: point the
    connection's ``ca_file`` at the CA that signed it (verification is never switched off)."""


class SchemaMismatch(ConnectorError):
    """A mapped object or field does not exist, or has an incompatible type."""


class QuotaExhausted(ConnectorError):
    """The system's daily allowance (or the configured share of it) is used up."""


class RateLimited(RetryableError, ConnectorError):
    """A short-window rate limit was hit; wait ``retry_after`` seconds and retry."""


class ServiceUnavailable(RetryableError, ConnectorError):
    """5xx, timeout, dropped connection or row lock: transient, retry with backoff."""


class SessionExpired(RetryableError, ConnectorError):
    """The session or access token expired: re-authenticate once, then retry."""


class RecordRejected(RecordError, ConnectorError):
    """The destination refused one record; ``code`` is the vendor's error code."""

    exit_code = 1


class DuplicateKey(RecordError, ConnectorError):
    """The match key matched more than one record in the destination."""

    exit_code = 1


class SyncError(RefsyncError):
    """The sync engine or its state cannot proceed."""

    exit_code = 4


class StateError(SyncError):
    """The state store is unreachable, unmigrated or inconsistent."""


class LockHeld(SyncError):
    """Another live run holds this job's lock; ``holder`` says who (host, pid, since)."""

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


def exit_code_for(exc: BaseException) -> int:
    """The CLI exit code for an exception that ended a command."""
    if isinstance(exc, RefsyncError):
        return exc.exit_code
    return 3
