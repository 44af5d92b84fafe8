"""How many live records each entity has, kept as records change (``record_counts``): the
write phase and the report ask it on every run, and counting the records costs an index
scan (70 ms at a million). Every change to a record's liveness goes through
:meth:`RecordsMixin.put_records`, which adds the change in its own transaction, so the count
is what a count of the records would give whatever other processes commit meanwhile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from sync.state._schema import record_counts
from sync.state._types import StoredRecord

__all__ = ["count_live", "live_change"]


def live_change(
    existing: Mapping[str, StoredRecord],
    inserts: list[dict[str, Any]],
    updates: list[dict[str, Any]],
) -> int:
    """How many more live records an entity has after ``inserts`` and ``updates`` of its
    records that were ``existing`` (each row with its new ``tombstone``)."""
    added = sum(not row["tombstone"] for row in inserts)
    revived = sum(int(existing[row["id"]].tombstone) - int(row["tombstone"]) for row in updates)
    return added + revived


def count_live(conn: Connection, entity: str, change: int) -> None:
    """Add ``change`` to ``entity``'s count of live records, in ``conn``'s transaction."""
    if not change:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(record_counts).values(entity=entity, live=change)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[record_counts.c.entity],
            set_={"live": record_counts.c.live + change},
        )
    )
