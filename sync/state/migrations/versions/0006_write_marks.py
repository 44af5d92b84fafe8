"""Write passes follow the changes: an index of the write ledger by change time, each job's
write mark per destination and entity, and the ids its last pass left unacknowledged.

Revision ID: 0006_write_marks
Revises: 0005_people_marks
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_write_marks"
down_revision = "0005_people_marks"
branch_labels = None
depends_on = None

_INDEX = "ix_write_ledger_destination_entity_written_at"


def upgrade() -> None:
    op.create_index(_INDEX, "write_ledger", ["destination", "entity", "written_at"])
    op.create_table(
        "write_marks",
        sa.Column("job", sa.String(100), nullable=False),
        sa.Column("destination", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("job", "destination", "entity", name="pk_write_marks"),
    )
    op.create_table(
        "write_retries",
        sa.Column("job", sa.String(100), nullable=False),
        sa.Column("destination", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint(
            "job", "destination", "entity", "record_id", name="pk_write_retries"
        ),
    )


def downgrade() -> None:
    op.drop_table("write_retries")
    op.drop_table("write_marks")
    op.drop_index(_INDEX, table_name="write_ledger")
