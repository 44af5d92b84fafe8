"""An index of each record's version and tombstone flag, so the write ledger's diff and the
record counts never read the records' data (a no-change run at 100k records reads none).

Revision ID: 0004_records_state_index
Revises: 0003_read_hashes
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0004_records_state_index"
down_revision = "0003_read_hashes"
branch_labels = None
depends_on = None

_NAME = "ix_records_entity_id_version_tombstone"


def upgrade() -> None:
    op.create_index(_NAME, "records", ["entity", "id", "version", "tombstone"])


def downgrade() -> None:
    op.drop_index(_NAME, table_name="records")
