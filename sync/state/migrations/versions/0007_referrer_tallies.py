"""The new referrers list counted from tallies kept per NPI and service line: the tallies
table, built from the mentions there are, and the indexes that find a group's first
mention and its last that gives a name. A mention without a service line holds '' from now
on (a line of NULL would not be one group in a key).

Revision ID: 0007_referrer_tallies
Revises: 0006_write_marks
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_referrer_tallies"
down_revision = "0006_write_marks"
branch_labels = None
depends_on = None

_GROUP = ["connection", "npi", "service_line", "referral_id"]
_INDEX = "ix_referrer_mentions_connection_npi_service_line_referral_id"
_NAMED = "ix_referrer_mentions_named"


def upgrade() -> None:
    op.execute("UPDATE referrer_mentions SET service_line = '' WHERE service_line IS NULL")
    op.create_index(_INDEX, "referrer_mentions", _GROUP)
    named = sa.text("name != ''")
    op.create_index(
        _NAMED, "referrer_mentions", _GROUP, sqlite_where=named, postgresql_where=named
    )
    op.create_table(
        "referrer_tallies",
        sa.Column("connection", sa.String(100), nullable=False),
        sa.Column("npi", sa.String(100), nullable=False),
        sa.Column("service_line", sa.Text, nullable=False),
        sa.Column("mentions", sa.Integer, nullable=False),
        sa.Column("first_id", sa.String(255), nullable=False),
        sa.Column("last_named_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("connection", "npi", "service_line", name="pk_referrer_tallies"),
    )
    op.execute(
        "INSERT INTO referrer_tallies"
        " (connection, npi, service_line, mentions, first_id, last_named_id)"
        " SELECT connection, npi, service_line, count(*), min(referral_id),"
        " max(CASE WHEN name != '' THEN referral_id END)"
        " FROM referrer_mentions GROUP BY connection, npi, service_line"
    )


def downgrade() -> None:
    op.drop_table("referrer_tallies")
    op.drop_index(_NAMED, table_name="referrer_mentions")
    op.drop_index(_INDEX, table_name="referrer_mentions")
