"""Value types the state store takes and returns (plain dataclasses: cheap at 100k rows)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mapping.errors import RecordError

__all__ = [
    "ConflictInfo",
    "ConflictRow",
    "LockInfo",
    "PutResult",
    "RecordErrorInfo",
    "RecordErrorRow",
    "RunInfo",
    "StoredRecord",
    "content_hash",
    "utc_now",
]

# Record error messages are for humans; a runaway vendor message must not bloat the table.
_MESSAGE_LIMIT = 2000


def utc_now() -> datetime:
    """The default clock: the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def content_hash(data: Any) -> str:
    """SHA-256 of the canonical JSON of ``data`` (sorted keys, no whitespace).

    The write ledger stores this per destination so that an unchanged record is never
    written twice; equal content gives an equal hash whatever the key order.
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """The current canonical version of one record.

    ``data`` is the JSON form of the canonical model (``model.model_dump(mode="json")``).
    ``version`` starts at 1 and grows by one on every stored change; ``put_records`` ignores
    the ``version`` and ``updated_at`` you pass (the store assigns them).
    """

    id: str
    data: dict[str, Any]
    tombstone: bool = False
    version: int = 0
    updated_at: datetime | None = None
    # The encrypted token ``data``'s PHI was opened from: stored again as it is when a new
    # version leaves those fields unchanged (no re-encryption).
    sealed: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class PutResult:
    """What ``put_records`` changed: ids inserted, ids updated, count left unchanged."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> list[str]:
        """Every id whose stored version moved (inserted or updated)."""
        return [*self.inserted, *self.updated]


@dataclass(frozen=True, slots=True)
class RecordErrorRow:
    """One per-record failure to remember: never a value, only where and why.

    ``system`` is the connection name, ``object`` the native object (or canonical entity),
    ``key`` the record's match key, ``field`` the field at fault ("" when not known).
    """

    system: str
    object: str
    key: str
    code: str
    message: str
    field: str = ""

    @classmethod
    def from_error(cls, system: str, object: str, exc: RecordError) -> RecordErrorRow:
        """Build a row from a :class:`~mapping.errors.RecordError` (its message has no values)."""
        return cls(
            system=system,
            object=object,
            key=exc.key or "",
            field=exc.field or "",
            code=exc.code,
            message=exc.message[:_MESSAGE_LIMIT],
        )


@dataclass(frozen=True, slots=True)
class RecordErrorInfo:
    """A stored record error with its history."""

    job: str
    system: str
    object: str
    key: str
    field: str
    code: str
    message: str
    first_seen: datetime
    last_seen: datetime
    attempts: int
    resolved: bool


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """A change the merge refused because another system owns the field.

    Carry ``proposed_hash`` (``StateStore.keyed_hash`` of the value) and/or a redacted
    ``summary`` -- never the raw value, which may be PHI.
    """

    entity: str
    canonical_id: str
    field: str
    proposing_system: str
    owner: str
    proposed_hash: str = ""
    summary: str = ""
    run_id: int | None = None


@dataclass(frozen=True, slots=True)
class ConflictInfo:
    """A stored conflict."""

    id: int
    entity: str
    canonical_id: str
    field: str
    proposing_system: str
    owner: str
    proposed_hash: str
    summary: str
    run_id: int | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One sync run: ``status`` is ``running`` until ``finish_run``."""

    id: int
    job: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]
    host: str
    pid: int


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds a job lock, and until when (unless they heartbeat)."""

    job: str
    host: str
    pid: int
    run_id: int
    acquired_at: datetime
    heartbeat_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        """A one-line, value-free description for messages."""
        return (
            f"run {self.run_id} on host {self.host} (pid {self.pid}) since "
            f"{self.acquired_at.isoformat()}, expires {self.expires_at.isoformat()}"
        )
