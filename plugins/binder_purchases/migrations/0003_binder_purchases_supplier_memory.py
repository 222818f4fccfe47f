"""supplier memory

Revision ID: 0003_binder_purchases
Revises: 0002_binder_purchases
Create Date: 2026-12-02 01:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.plugin_api

revision = "0003_binder_purchases"
down_revision = "0002_binder_purchases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "binder_purchases_supplier_memory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("invoice_number", sa.String(length=100), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", core.plugin_api.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_binder_purchases_supplier_memory_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["binder_purchases_suppliers.id"],
            name=op.f("fk_binder_purchases_supplier_memory_supplier_id_binder_purchases_suppliers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_binder_purchases_supplier_memory_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_binder_purchases_supplier_memory_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binder_purchases_supplier_memory")),
        sa.UniqueConstraint(
            "supplier_id",
            "field",
            "value",
            name=op.f("uq_binder_purchases_supplier_memory_supplier_id_field_value"),
        ),
    )
    with op.batch_alter_table("binder_purchases_supplier_memory", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_binder_purchases_supplier_memory_firm_id"), ["firm_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_binder_purchases_supplier_memory_supplier_id"),
            ["supplier_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("binder_purchases_supplier_memory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_binder_purchases_supplier_memory_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_binder_purchases_supplier_memory_firm_id"))
    op.drop_table("binder_purchases_supplier_memory")
