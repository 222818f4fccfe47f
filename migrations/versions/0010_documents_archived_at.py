"""documents: archived_at

Revision ID: 0010_documents_archived_at
Revises: 0009_saved_searches
Create Date: 2026-12-02 08:00:00.000000

``documents.archived_at``: when a validated document was archived (« Archiver »). An archived
document leaves trays and the default lists; it stays searchable. Existing rows get NULL (not
archived). The column is indexed: every list filters on it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0010_documents_archived_at"
down_revision = "0009_saved_searches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("archived_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_documents_archived_at"), ["archived_at"])


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_archived_at"))
        batch_op.drop_column("archived_at")
