"""Alembic environment: runs on the connection ``StateStore.open`` hands over.

The caller has already begun the transaction (and on PostgreSQL taken the migration
advisory lock), so this script only configures the context and runs the migrations.
Tables are created unqualified: on PostgreSQL they land in the first schema of the
connection's ``search_path``, alembic_version included.
"""

from __future__ import annotations

from alembic import context

from sync.state._schema import metadata

_connection = context.config.attributes.get("connection")
if _connection is None:
    raise RuntimeError("refsync state migrations run through StateStore.open, not the CLI")

context.configure(connection=_connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
