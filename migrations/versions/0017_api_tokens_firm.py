"""api_tokens: firm_id, the firm a token acts in

Revision ID: 0017_api_tokens_firm
Revises: 0016_documents_firm_filename
Create Date: 2026-12-02 09:15:00.000000

A token followed its user into any firm (issue 15 follow-up): it is now bound to the firm it
was created in. Existing tokens get their user's first membership's firm; a token of a user
without membership (an operator outside the firms) keeps NULL and acts in no firm.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_api_tokens_firm"
down_revision = "0016_documents_firm_filename"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("firm_id", sa.Integer(), nullable=True))
        batch.create_index("ix_api_tokens_firm_id", ["firm_id"])
        batch.create_foreign_key(
            "fk_api_tokens_firm_id_firms", "firms", ["firm_id"], ["id"], ondelete="CASCADE"
        )
    op.execute(
        "UPDATE api_tokens SET firm_id = (SELECT m.firm_id FROM memberships m"
        " WHERE m.user_id = api_tokens.user_id ORDER BY m.id LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint("fk_api_tokens_firm_id_firms", type_="foreignkey")
        batch.drop_index("ix_api_tokens_firm_id")
        batch.drop_column("firm_id")
