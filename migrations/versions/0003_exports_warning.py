"""export statuses: warning flag

Revision ID: 0003_exports_warning
Revises: 0002_search_pg
Create Date: 2026-12-01 12:00:00.000000

``export_statuses.warning``: a document exported with warnings for the accountant to check
("Exporté avec avertissement"). Existing rows get false; on SQLite the column is added through
a batch (table copy), on PostgreSQL with ``ALTER TABLE ... ADD COLUMN ... DEFAULT false``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_exports_warning"
down_revision = "0002_search_pg"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("export_statuses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("warning", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("export_statuses", schema=None) as batch_op:
        batch_op.drop_column("warning")
