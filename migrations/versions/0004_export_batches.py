"""export batches: the files of period exporters

Revision ID: 0004_export_batches
Revises: 0003_exports_warning
Create Date: 2026-12-10 12:00:00.000000

``export_batches``: one row per version of a file a period exporter (the FEC purchase journal)
produced for a company and a period, with the documents it holds, the file's SHA-256 and where
the core's storage keeps it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0004_export_batches"
down_revision = "0003_exports_warning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("exporter", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("document_ids", sa.JSON(), nullable=False),
        sa.Column("document_count", sa.Integer(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_export_batches_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_export_batches_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_export_batches_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_batches")),
        sa.UniqueConstraint(
            "company_id",
            "exporter",
            "period_start",
            "period_end",
            "version",
            name="uq_export_batches_period_version",
        ),
    )
    with op.batch_alter_table("export_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_export_batches_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_export_batches_firm_id"), ["firm_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("export_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_batches_firm_id"))
        batch_op.drop_index(batch_op.f("ix_export_batches_company_id"))
    op.drop_table("export_batches")
