"""search documents: generic searchable fields instead of invoice-shaped columns

Revision ID: 0006_search_generic
Revises: 0005_plugin_activation
Create Date: 2026-12-02 09:00:00.000000

The search index knows what a binder type declares searchable in generic terms
(``core.binders.searchable``): ``supplier``, ``invoice_number``, ``siren``, ``vat_number`` and
``invoice_date`` become ``party_name``, ``party_ids``, ``reference``, ``date`` and ``keywords``.
The table is derived data: it is emptied here, and the PostgreSQL backend, finding it empty,
is refilled from the documents by ``classeur db upgrade`` and at ``classeur serve`` start
(``core.search.services.rebuild_if_needed``) — nothing to run by hand.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_search_generic"
down_revision = "0005_plugin_activation"
branch_labels = None
depends_on = None

OLD_COLUMNS = ("supplier", "invoice_number", "siren", "vat_number", "invoice_date")
NEW_COLUMNS = ("party_name", "party_ids", "reference", "date", "keywords")


def upgrade() -> None:
    op.execute("DELETE FROM search_documents")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_firm_invoice_date")
        for name in OLD_COLUMNS:
            batch_op.drop_column(name)
        batch_op.add_column(sa.Column("party_name", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("party_ids", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reference", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("keywords", sa.Text(), nullable=True))
        batch_op.create_index("ix_search_documents_firm_date", ["firm_id", "date"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM search_documents")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_firm_date")
        for name in NEW_COLUMNS:
            batch_op.drop_column(name)
        batch_op.add_column(sa.Column("supplier", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("invoice_number", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("siren", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("vat_number", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("invoice_date", sa.Date(), nullable=True))
        batch_op.create_index(
            "ix_search_documents_firm_invoice_date", ["firm_id", "invoice_date"], unique=False
        )
