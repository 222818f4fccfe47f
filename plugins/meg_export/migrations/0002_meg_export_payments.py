"""meg_export payments: the payments read back from MEG, and each company's last refresh

Revision ID: 0002_meg_export
Revises: 0001_meg_export
Create Date: 2026-12-02 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.plugin_api

revision = "0002_meg_export"
down_revision = "0001_meg_export"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meg_export_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("purchase_id", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("paid_at", sa.Date(), nullable=True),
        sa.Column("amount", sa.String(length=32), nullable=True),
        sa.Column("refreshed_at", core.plugin_api.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_meg_export_payments_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_meg_export_payments_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_meg_export_payments_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meg_export_payments")),
        sa.UniqueConstraint(
            "company_id", "purchase_id", name=op.f("uq_meg_export_payments_company_id_purchase_id")
        ),
    )
    with op.batch_alter_table("meg_export_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meg_export_payments_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_meg_export_payments_firm_id"), ["firm_id"], unique=False
        )
    op.create_table(
        "meg_export_payment_syncs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", core.plugin_api.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_meg_export_payment_syncs_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_meg_export_payment_syncs_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meg_export_payment_syncs")),
        sa.UniqueConstraint("company_id", name=op.f("uq_meg_export_payment_syncs_company_id")),
    )
    with op.batch_alter_table("meg_export_payment_syncs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meg_export_payment_syncs_firm_id"), ["firm_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("meg_export_payment_syncs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meg_export_payment_syncs_firm_id"))
    op.drop_table("meg_export_payment_syncs")
    with op.batch_alter_table("meg_export_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meg_export_payments_firm_id"))
        batch_op.drop_index(batch_op.f("ix_meg_export_payments_document_id"))
    op.drop_table("meg_export_payments")
