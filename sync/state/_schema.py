"""The state store's tables (SQLAlchemy Core). The migrations create exactly these.

Timestamps are stored as UTC and always come back timezone-aware (SQLite keeps no zone, so
:class:`UtcDateTime` restores it); naive datetimes are refused on the way in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = [
    "JSON_TYPE",
    "UtcDateTime",
    "bookmarks",
    "conflicts",
    "crosswalk",
    "job_locks",
    "metadata",
    "people_marks",
    "people_seen",
    "read_hashes",
    "record_counts",
    "record_errors",
    "record_keys",
    "records",
    "referrer_mentions",
    "referrer_tallies",
    "runs",
    "store_meta",
    "write_ledger",
    "write_marks",
    "write_retries",
]

# Deterministic constraint names, so migrations can refer to them on every backend.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# JSONB on PostgreSQL (queryable by admins), JSON text elsewhere.
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_ENTITY = 40
_NAME = 100
_ID = 255


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC that comes back timezone-aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused by the state store; pass a UTC-aware one")
        value = value.astimezone(UTC)
        # SQLite has no zone type: store naive UTC text, restored on the way out.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # SQLite: one function each way instead of ours wrapped around SQLAlchemy's DATETIME
    # (which formats through a dict per value); the same text, "YYYY-MM-DD HH:MM:SS.ffffff"
    # (the comparisons SQL makes on it are textual), and the same values back.
    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_text

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _sqlite_utc


def _sqlite_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime refused by the state store; pass a UTC-aware one")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_utc(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


records = sa.Table(
    "records",
    metadata,
    sa.Column("entity", sa.String(_ENTITY), primary_key=True),
    sa.Column("id", sa.String(_ID), primary_key=True),
    sa.Column("data", JSON_TYPE, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("tombstone", sa.Boolean, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # What the write ledger's diff and the counts read, without the data column: in SQLite a
    # row's columns after its JSON (kilobytes, on overflow pages) cost reading all of it.
    sa.Index(None, "entity", "id", "version", "tombstone"),
    # The records changed since a time (people files kept up to date from the changes).
    sa.Index(None, "entity", "updated_at"),
)

# Per entity, how many of its records are live (not tombstoned): kept in the transaction of
# every change that makes a record live or not, so a count costs a row, not an index scan.
record_counts = sa.Table(
    "record_counts",
    metadata,
    sa.Column("entity", sa.String(_ENTITY), primary_key=True),
    sa.Column("live", sa.BigInteger, nullable=False),
)

record_keys = sa.Table(
    "record_keys",
    metadata,
    sa.Column("entity", sa.String(_ENTITY), primary_key=True),
    sa.Column("key_name", sa.String(_NAME), primary_key=True),
    sa.Column("value", sa.String(_ID), primary_key=True),
    sa.Column("record_id", sa.String(_ID), nullable=False),
    sa.Index(None, "entity", "record_id"),
)

crosswalk = sa.Table(
    "crosswalk",
    metadata,
    sa.Column("entity", sa.String(_ENTITY), primary_key=True),
    sa.Column("system", sa.String(_NAME), primary_key=True),
    sa.Column("canonical_id", sa.String(_ID), primary_key=True),
    sa.Column("native_id", sa.String(_ID), nullable=False),
    sa.Column("linked_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("entity", "system", "native_id"),
)

bookmarks = sa.Table(
    "bookmarks",
    metadata,
    sa.Column("connection", sa.String(_NAME), primary_key=True),
    sa.Column("object", sa.String(_NAME), primary_key=True),
    sa.Column("bookmark", JSON_TYPE, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

write_ledger = sa.Table(
    "write_ledger",
    metadata,
    sa.Column("destination", sa.String(_NAME), primary_key=True),
    sa.Column("entity", sa.String(_ENTITY), primary_key=True),
    sa.Column("canonical_id", sa.String(_ID), primary_key=True),
    sa.Column("content_hash", sa.String(128), nullable=False),
    sa.Column("native_id", sa.String(_ID), nullable=True),
    sa.Column("written_at", UtcDateTime, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=True),
    # The record version and mapping it acknowledged: equal ones are skipped unopened.
    sa.Column("record_version", sa.Integer, nullable=True),
    sa.Column("mapping_fingerprint", sa.String(64), nullable=True),
    # The rows changed since a time (a write pass follows the changes; see write_marks).
    sa.Index(None, "destination", "entity", "written_at"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job", sa.String(_NAME), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    sa.Column("counts", JSON_TYPE, nullable=False),
    sa.Column("host", sa.String(_ID), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Index(None, "job", "started_at"),
)

record_errors = sa.Table(
    "record_errors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job", sa.String(_NAME), nullable=False),
    sa.Column("system", sa.String(_NAME), nullable=False),
    sa.Column("object", sa.String(_NAME), nullable=False),
    sa.Column("key", sa.String(_ID), nullable=False),
    sa.Column("field", sa.String(_ID), nullable=False),
    sa.Column("code", sa.String(_NAME), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("first_seen", UtcDateTime, nullable=False),
    sa.Column("last_seen", UtcDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("resolved", sa.Boolean, nullable=False),
    sa.UniqueConstraint("job", "system", "object", "key", "field"),
    sa.Index(None, "job", "resolved"),
)

conflicts = sa.Table(
    "conflicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(_ENTITY), nullable=False),
    sa.Column("canonical_id", sa.String(_ID), nullable=False),
    sa.Column("field", sa.String(_ID), nullable=False),
    sa.Column("proposing_system", sa.String(_NAME), nullable=False),
    sa.Column("owner", sa.String(_NAME), nullable=False),
    sa.Column("proposed_hash", sa.String(128), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=True),
    sa.Index(None, "entity", "canonical_id"),
    sa.Index(None, "run_id"),
)

job_locks = sa.Table(
    "job_locks",
    metadata,
    sa.Column("job", sa.String(_NAME), primary_key=True),
    sa.Column("host", sa.String(_ID), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("ttl_seconds", sa.Integer, nullable=False),
    sa.Column("acquired_at", UtcDateTime, nullable=False),
    sa.Column("heartbeat_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

# Small per-store settings, e.g. the key of keyed hashes (it never leaves the store).
store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("name", sa.String(_NAME), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# The keyed hash of each native record as last read and merged (per connection and entity):
# a re-read of the same content skips translation. Keyed, so no PHI can be guessed from it.
read_hashes = sa.Table(
    "read_hashes",
    metadata,
    sa.Column("system", sa.String(_NAME), primary_key=True),
    sa.Column("entity", sa.String(_ENTITY), primary_key=True),
    sa.Column("native_id", sa.String(_ID), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("read_at", UtcDateTime, nullable=False),
)

# Per connection, what its people files were written from: when (the records changed since
# are the ones to list again), a fingerprint of everything else their rows depend on, and
# the SHA-256 of each file written (a file changed since on disk is written whole again).
people_marks = sa.Table(
    "people_marks",
    metadata,
    sa.Column("connection", sa.String(_NAME), primary_key=True),
    sa.Column("watermark", UtcDateTime, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("files", JSON_TYPE, nullable=False),
)

# Per connection, the version of each record stored shortly before its people mark, as the
# people files read it: a record stamped then but changed later is listed again next time.
people_seen = sa.Table(
    "people_seen",
    metadata,
    sa.Column("connection", sa.String(_NAME), primary_key=True),
    sa.Column("entity", sa.String(_ENTITY), primary_key=True),
    sa.Column("record_id", sa.String(_ID), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

# Per connection, each referral whose referring NPI no clinician holds: what the new
# referrers list counts (provider fields kept in clear in ``records`` too; no PHI).
referrer_mentions = sa.Table(
    "referrer_mentions",
    metadata,
    sa.Column("connection", sa.String(_NAME), primary_key=True),
    sa.Column("referral_id", sa.String(_ID), primary_key=True),
    sa.Column("npi", sa.String(_NAME), nullable=False),
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("practice", sa.Text, nullable=True),
    sa.Column("service_line", sa.Text, nullable=True),  # '' when none (NULL before 0007)
    # A group's first mention, and (below) its last that gives a name, without a scan.
    sa.Index(None, "connection", "npi", "service_line", "referral_id"),
)
sa.Index(
    "ix_referrer_mentions_named",
    referrer_mentions.c.connection,
    referrer_mentions.c.npi,
    referrer_mentions.c.service_line,
    referrer_mentions.c.referral_id,
    sqlite_where=referrer_mentions.c.name != "",
    postgresql_where=referrer_mentions.c.name != "",
)

# Per connection, NPI and service line ('' for none) of the referrer mentions: how many,
# the first referral id and the last that gives a name. Kept as the mentions change, so the
# new referrers list is counted from its NPIs and lines, not from every mention.
referrer_tallies = sa.Table(
    "referrer_tallies",
    metadata,
    sa.Column("connection", sa.String(_NAME), primary_key=True),
    sa.Column("npi", sa.String(_NAME), primary_key=True),
    sa.Column("service_line", sa.Text, primary_key=True),
    sa.Column("mentions", sa.Integer, nullable=False),
    sa.Column("first_id", sa.String(_ID), nullable=False),
    sa.Column("last_named_id", sa.String(_ID), nullable=True),
)

# Per job, destination and entity: when its last complete write pass began and the
# fingerprint of the mapping it wrote with. The next pass lists only the records stored, or
# whose ledger rows changed, since then, plus the ids that pass left unacknowledged.
write_marks = sa.Table(
    "write_marks",
    metadata,
    sa.Column("job", sa.String(_NAME), primary_key=True),
    sa.Column("destination", sa.String(_NAME), primary_key=True),
    sa.Column("entity", sa.String(_ENTITY), primary_key=True),
    sa.Column("watermark", UtcDateTime, nullable=False),
    sa.Column("ledger_watermark", UtcDateTime, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
)

write_retries = sa.Table(
    "write_retries",
    metadata,
    sa.Column("job", sa.String(_NAME), primary_key=True),
    sa.Column("destination", sa.String(_NAME), primary_key=True),
    sa.Column("entity", sa.String(_ENTITY), primary_key=True),
    sa.Column("record_id", sa.String(_ID), primary_key=True),
)
