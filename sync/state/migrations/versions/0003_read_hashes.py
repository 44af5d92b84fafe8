"""Read hashes: the keyed hash of each native record as last read, to skip re-translation.

Revision ID: 0003_read_hashes
Revises: 0002_ledger_versions
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_read_hashes"
down_revision = "0002_ledger_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "read_hashes",
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("native_id", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system", "entity", "native_id", name="pk_read_hashes"),
    )


def downgrade() -> None:
    op.drop_table("read_hashes")
