"""document request answers: what the client wrote in answer to the firm's request

Revision ID: 0013_request_answers
Revises: 0012_notification_digests
Create Date: 2026-12-02 09:10:00.000000

``document_requests.answer``: the client's message when it answers a request (with or without
a file: « je n'ai pas cette facture », « payée en espèces »...).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_request_answers"
down_revision = "0012_notification_digests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.drop_column("answer")
