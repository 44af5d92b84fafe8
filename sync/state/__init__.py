"""The state store: what refsync remembers between runs (SQLite file or PostgreSQL).

Tables (see docs/state.md): canonical records and their natural keys, the id crosswalk,
bookmarks, the write ledger, runs, per-record errors, conflicts, job locks. Open it with
``StateStore.open(url)``; migrations run automatically.
"""

from sync.state._records import DEFAULT_NATURAL_KEYS
from sync.state._types import (
    ConflictInfo,
    ConflictRow,
    LockInfo,
    PutResult,
    RecordErrorInfo,
    RecordErrorRow,
    RunInfo,
    StoredRecord,
    content_hash,
    utc_now,
)
from sync.state.store import StateStore

__all__ = [
    "DEFAULT_NATURAL_KEYS",
    "ConflictInfo",
    "ConflictRow",
    "LockInfo",
    "PutResult",
    "RecordErrorInfo",
    "RecordErrorRow",
    "RunInfo",
    "StateStore",
    "StoredRecord",
    "content_hash",
    "utc_now",
]
