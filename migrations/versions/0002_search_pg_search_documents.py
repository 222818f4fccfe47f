"""search documents table of the PostgreSQL search backend

Revision ID: 0002_search_pg
Revises: 0001_core
Create Date: 2026-11-28 12:00:00.000000

The table is created on every database (one schema everywhere); the text search configuration
``classeur_french`` (French stop words, ``unaccent``, French stemmer) only on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db
import core.search.models

revision = "0002_search_pg"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def _execute(sql: str) -> sa.CursorResult:
    return op.get_bind().execute(sa.text(sql))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        core.search.models.create_text_search_configuration(_execute)
    op.create_table(
        "search_documents",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("company_name", sa.Text(), nullable=False),
        sa.Column("binder_id", sa.Integer(), nullable=False),
        sa.Column("binder_name", sa.Text(), nullable=False),
        sa.Column("binder_type", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("supplier", sa.Text(), nullable=True),
        sa.Column("invoice_number", sa.Text(), nullable=True),
        sa.Column("siren", sa.Text(), nullable=True),
        sa.Column("vat_number", sa.Text(), nullable=True),
        sa.Column("invoice_date", sa.Date(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("indexed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tsv", core.search.models.TSVector(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_documents_tsv", ["tsv"], unique=False, postgresql_using="gin"
        )
        batch_op.create_index(
            "ix_search_documents_firm_company", ["firm_id", "company_id"], unique=False
        )
        batch_op.create_index(
            "ix_search_documents_firm_binder_type", ["firm_id", "binder_type"], unique=False
        )
        batch_op.create_index("ix_search_documents_firm_state", ["firm_id", "state"], unique=False)
        batch_op.create_index(
            "ix_search_documents_firm_invoice_date", ["firm_id", "invoice_date"], unique=False
        )
        batch_op.create_index(
            "ix_search_documents_firm_amount", ["firm_id", "amount"], unique=False
        )
        batch_op.create_index(
            "ix_search_documents_firm_created", ["firm_id", "created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("search_documents")
    if op.get_bind().dialect.name == "postgresql":
        core.search.models.drop_text_search_configuration(_execute)
