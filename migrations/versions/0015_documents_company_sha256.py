"""documents: index (company_id, sha256) for the same-file duplicate check

Revision ID: 0015_documents_company_sha256
Revises: 0014_documents_archived_partial
Create Date: 2026-12-02 08:40:00.000000

The purchase binder's duplicate check looks for the same file elsewhere in the company
(``company_id = ? AND sha256 = ?``). Without statistics (SQLite is never ANALYZEd by the
app) SQLite answered it through ``ix_documents_company_id`` and read every document of the
company, about 25 ms a document at 5 000 documents in a company (``bench/lists.py``, bulk
validation of 100 documents, issue 14). With both columns in one index the lookup is exact.
"""

from __future__ import annotations

from alembic import op

revision = "0015_documents_company_sha256"
down_revision = "0014_documents_archived_partial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_company_id_sha256", "documents", ["company_id", "sha256"])


def downgrade() -> None:
    op.drop_index("ix_documents_company_id_sha256", table_name="documents")
