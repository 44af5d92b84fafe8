"""Live records counted per entity as they change: the counts table, built from the records
there are.

Revision ID: 0008_record_counts
Revises: 0007_referrer_tallies
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_record_counts"
down_revision = "0007_referrer_tallies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_counts",
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("live", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("entity", name="pk_record_counts"),
    )
    op.execute(
        "INSERT INTO record_counts (entity, live)"
        " SELECT entity, count(*) FROM records WHERE NOT tombstone GROUP BY entity"
    )


def downgrade() -> None:
    op.drop_table("record_counts")
