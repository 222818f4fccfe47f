"""documents: index (firm_id, filename) for the lists sorted by file name

Revision ID: 0016_documents_firm_filename
Revises: 0015_documents_company_sha256
Create Date: 2026-12-02 08:50:00.000000

``GET /api/v1/documents?sort=filename`` pages by (filename, id) like the other sort keys
(``core.documents.listing``), but no index held that order: each page sorted every document of
the firm (``USE TEMP B-TREE FOR ORDER BY``, 300 ms at 100 000 documents with
``export_state=error``, ``bench/lists.py``, issue 14). With it a page walks the index.
"""

from __future__ import annotations

from alembic import op

revision = "0016_documents_firm_filename"
down_revision = "0015_documents_company_sha256"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_firm_id_filename", "documents", ["firm_id", "filename"])


def downgrade() -> None:
    op.drop_index("ix_documents_firm_id_filename", table_name="documents")
