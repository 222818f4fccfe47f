"""documents: the archived_at index keeps only archived documents

Revision ID: 0014_documents_archived_partial
Revises: 0013_request_answers
Create Date: 2026-12-02 08:45:00.000000

``ix_documents_archived_at`` becomes partial (``WHERE archived_at IS NOT NULL``). Whole, it
holds one NULL entry per live document, and SQLite's planner took it for a selective index on
every list (``archived_at IS NULL``): it read the firm's live documents through it and sorted
them all (a temporary B-tree) instead of walking ``ix_documents_firm_id_<sort key>`` for one
page (``bench/lists.py``, issue 14). Partial, it still serves the « Archivés » lists and the
counts of archived documents, and no longer competes with the sort indexes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_documents_archived_partial"
down_revision = "0013_request_answers"
branch_labels = None
depends_on = None

ARCHIVED = sa.text("archived_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_documents_archived_at", table_name="documents")
    op.create_index(
        "ix_documents_archived_at",
        "documents",
        ["archived_at"],
        sqlite_where=ARCHIVED,
        postgresql_where=ARCHIVED,
    )


def downgrade() -> None:
    op.drop_index("ix_documents_archived_at", table_name="documents")
    op.create_index("ix_documents_archived_at", "documents", ["archived_at"])
