"""People files kept from the changes: an index of records by change time, each connection's
people-files mark, the record versions it saw last, and the referrer mentions the new
referrers list counts.

Revision ID: 0005_people_marks
Revises: 0004_records_state_index
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_people_marks"
down_revision = "0004_records_state_index"
branch_labels = None
depends_on = None

_INDEX = "ix_records_entity_updated_at"
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_index(_INDEX, "records", ["entity", "updated_at"])
    op.create_table(
        "people_marks",
        sa.Column("connection", sa.String(100), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("files", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("connection", name="pk_people_marks"),
    )
    op.create_table(
        "people_seen",
        sa.Column("connection", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("connection", "entity", "record_id", name="pk_people_seen"),
    )
    op.create_table(
        "referrer_mentions",
        sa.Column("connection", sa.String(100), nullable=False),
        sa.Column("referral_id", sa.String(255), nullable=False),
        sa.Column("npi", sa.String(100), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("practice", sa.Text, nullable=True),
        sa.Column("service_line", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("connection", "referral_id", name="pk_referrer_mentions"),
    )


def downgrade() -> None:
    op.drop_table("referrer_mentions")
    op.drop_table("people_seen")
    op.drop_table("people_marks")
    op.drop_index(_INDEX, table_name="records")
