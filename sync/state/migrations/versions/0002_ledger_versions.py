"""The write ledger remembers which record version and mapping it acknowledged.

Revision ID: 0002_ledger_versions
Revises: 0001_initial
Create Date: 2026-12-03

With ``record_version`` and ``mapping_fingerprint`` a run skips a record whose stored version
a destination already acknowledged under the same mapping without opening the record (its
PHI is sealed, so opening costs a decryption). Rows written before this revision have
NULLs and fall back to the content hash, which fills them in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_ledger_versions"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("write_ledger") as batch:
        batch.add_column(sa.Column("record_version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("mapping_fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("write_ledger") as batch:
        batch.drop_column("mapping_fingerprint")
        batch.drop_column("record_version")
