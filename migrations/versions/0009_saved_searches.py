"""saved searches: a user's named searches, listed in the menu

Revision ID: 0009_saved_searches
Revises: 0008_search_pg_speed
Create Date: 2026-12-02 10:00:00.000000

``saved_searches``: one row per search a user saved in a firm ("Enregistrer cette recherche"),
with the page's query parameters as JSON; the search is re-run when followed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0009_saved_searches"
down_revision = "0008_search_pg_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_saved_searches_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_searches_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
    )
    with op.batch_alter_table("saved_searches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_saved_searches_firm_id_user_id", ["firm_id", "user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("saved_searches", schema=None) as batch_op:
        batch_op.drop_index("ix_saved_searches_firm_id_user_id")
    op.drop_table("saved_searches")
