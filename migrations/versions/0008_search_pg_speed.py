"""search documents: a small ranking vector, the text out of line

Revision ID: 0008_search_pg_speed
Revises: 0007_search_mentions
Create Date: 2026-12-02 11:00:00.000000

What makes the PostgreSQL search hold at 100,000 documents in one firm (figures in
``docs/search.md``):

* ``rtsv``: the weighted lexemes of the short fields only (A identifiers, B party name,
  keywords and file name, C company and binder names — no document text), GIN-indexed. Results
  are ranked by ``ts_rank`` over this small vector, stored in the row, instead of over ``tsv``
  whose text part had to be fetched from TOAST and decompressed for every match;
* ``toast_tuple_target = 128`` and ``STORAGE MAIN`` on the short columns: the text and the full
  ``tsv`` always live out of line, so the rows that filters and the ranking read are narrow
  (the heap of 100,000 documents goes from 146 MB to 42 MB) and a GIN match is answered from the
  index and these narrow rows.

The table is derived data: it is emptied here and refilled from the documents by ``classeur db
upgrade`` and at ``classeur serve`` start, as in 0006 (the new storage applies to new rows).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.search.models

revision = "0008_search_pg_speed"
down_revision = "0007_search_mentions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute("DELETE FROM search_documents")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rtsv", core.search.models.TSVector(), nullable=True))
        batch_op.create_index(
            "ix_search_documents_rtsv", ["rtsv"], unique=False, postgresql_using="gin"
        )
    if postgres:
        op.execute(
            "ALTER TABLE search_documents SET (toast_tuple_target = "
            f"{core.search.models.TOAST_TUPLE_TARGET})"
        )
        op.execute(
            "ALTER TABLE search_documents "
            + ", ".join(
                f"ALTER COLUMN {name} SET STORAGE MAIN"
                for name in core.search.models.INLINE_COLUMNS
            )
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute("DELETE FROM search_documents")
    if postgres:
        op.execute("ALTER TABLE search_documents RESET (toast_tuple_target)")
        op.execute(
            "ALTER TABLE search_documents "
            + ", ".join(
                f"ALTER COLUMN {name} SET STORAGE EXTENDED"
                for name in core.search.models.INLINE_COLUMNS
                if name != "rtsv"
            )
        )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_rtsv", postgresql_using="gin")
        batch_op.drop_column("rtsv")
