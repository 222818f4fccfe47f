"""search documents: the mentions (amounts, dates, identifiers however printed)

Revision ID: 0007_search_mentions
Revises: 0006_search_generic
Create Date: 2026-12-02 10:00:00.000000

Each document's amounts, days, months and identifiers, normalised (``core.search.mentions``),
in a GIN-indexed ``text[]``. The table is derived data: it is emptied here and refilled from
the documents by ``classeur db upgrade`` and at ``classeur serve`` start, as in 0006.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.search.models

revision = "0007_search_mentions"
down_revision = "0006_search_generic"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute("DELETE FROM search_documents")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "mentions",
                core.search.models.TextArray(),
                nullable=True,
                server_default=sa.text("'{}'") if postgres else sa.text("'[]'"),
            )
        )
        batch_op.create_index(
            "ix_search_documents_mentions", ["mentions"], unique=False, postgresql_using="gin"
        )


def downgrade() -> None:
    op.execute("DELETE FROM search_documents")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_mentions", postgresql_using="gin")
        batch_op.drop_column("mentions")
