"""The state store: what refsync remembers between runs (SQLite file or PostgreSQL).

Tables (see docs/state.md): canonical records and their natural keys, the id crosswalk,
bookmarks, the write ledger, runs, per-record errors, conflicts, job locks, people and write
marks. Open it with ``StateStore.open(url)``; migrations run automatically. PHI in canonical
records is encrypted at rest (``REFSYNC_STATE_KEY``; see :mod:`sync.state._sealing`).
"""

from sync.state._mentions import Mention
from sync.state._people import PeopleMark
from sync.state._records import DEFAULT_NATURAL_KEYS
from sync.state._sealing import SEALED, key_file_for, load_keys, new_key
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
from sync.state._write_marks import WriteMark
from sync.state.store import StateStore

__all__ = [
    "DEFAULT_NATURAL_KEYS",
    "SEALED",
    "ConflictInfo",
    "ConflictRow",
    "LockInfo",
    "Mention",
    "PeopleMark",
    "PutResult",
    "RecordErrorInfo",
    "RecordErrorRow",
    "RunInfo",
    "StateStore",
    "StoredRecord",
    "WriteMark",
    "content_hash",
    "key_file_for",
    "load_keys",
    "new_key",
    "utc_now",
]
