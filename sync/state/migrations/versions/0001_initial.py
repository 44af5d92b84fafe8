"""Initial state store: records, keys, crosswalk, bookmarks, ledger, runs, errors, conflicts, locks.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-27

Frozen copy of the schema at this revision (do not import sync.state._schema here: later
changes to the live schema must not rewrite history).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("tombstone", sa.Boolean, nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("entity", "id", name="pk_records"),
    )
    op.create_table(
        "record_keys",
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("key_name", sa.String(100), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("entity", "key_name", "value", name="pk_record_keys"),
    )
    op.create_index("ix_record_keys_entity_record_id", "record_keys", ["entity", "record_id"])
    op.create_table(
        "crosswalk",
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("canonical_id", sa.String(255), nullable=False),
        sa.Column("native_id", sa.String(255), nullable=False),
        _ts("linked_at"),
        sa.PrimaryKeyConstraint("entity", "system", "canonical_id", name="pk_crosswalk"),
        sa.UniqueConstraint(
            "entity", "system", "native_id", name="uq_crosswalk_entity_system_native_id"
        ),
    )
    op.create_table(
        "bookmarks",
        sa.Column("connection", sa.String(100), nullable=False),
        sa.Column("object", sa.String(100), nullable=False),
        sa.Column("bookmark", _JSON, nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("connection", "object", name="pk_bookmarks"),
    )
    op.create_table(
        "write_ledger",
        sa.Column("destination", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("canonical_id", sa.String(255), nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("native_id", sa.String(255), nullable=True),
        _ts("written_at"),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("destination", "entity", "canonical_id", name="pk_write_ledger"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("job", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("counts", _JSON, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_job_started_at", "runs", ["job", "started_at"])
    op.create_table(
        "record_errors",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("job", sa.String(100), nullable=False),
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("object", sa.String(100), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("field", sa.String(255), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        _ts("first_seen"),
        _ts("last_seen"),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("resolved", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_record_errors"),
        sa.UniqueConstraint(
            "job", "system", "object", "key", "field",
            name="uq_record_errors_job_system_object_key_field",
        ),
    )
    op.create_index("ix_record_errors_job_resolved", "record_errors", ["job", "resolved"])
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("canonical_id", sa.String(255), nullable=False),
        sa.Column("field", sa.String(255), nullable=False),
        sa.Column("proposing_system", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("proposed_hash", sa.String(128), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        _ts("recorded_at"),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_conflicts"),
    )
    op.create_index("ix_conflicts_entity_canonical_id", "conflicts", ["entity", "canonical_id"])
    op.create_index("ix_conflicts_run_id", "conflicts", ["run_id"])
    op.create_table(
        "job_locks",
        sa.Column("job", sa.String(100), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("ttl_seconds", sa.Integer, nullable=False),
        _ts("acquired_at"),
        _ts("heartbeat_at"),
        _ts("expires_at"),
        sa.PrimaryKeyConstraint("job", name="pk_job_locks"),
    )
    op.create_table(
        "store_meta",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_store_meta"),
    )


def downgrade() -> None:
    for table in (
        "store_meta",
        "job_locks",
        "conflicts",
        "record_errors",
        "runs",
        "write_ledger",
        "bookmarks",
        "crosswalk",
        "record_keys",
        "records",
    ):
        op.drop_table(table)
