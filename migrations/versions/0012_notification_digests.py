"""notification digests: the daily digest of each user, once per day

Revision ID: 0012_notification_digests
Revises: 0011_people_firms_portal
Create Date: 2026-12-02 09:00:00.000000

``notification_digests``: one row per user and day (the firm's time zone), inserted before the
digest is built (unique on ``user_id, day``): a digest is sent at most once a day, whichever
worker runs it; ``mail_id`` is its e-mail (none when there was nothing to tell).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0012_notification_digests"
down_revision = "0011_people_firms_portal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("mail_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["mail_id"],
            ["outgoing_mails.id"],
            name=op.f("fk_notification_digests_mail_id_outgoing_mails"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_digests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_digests")),
        sa.UniqueConstraint("user_id", "day", name=op.f("uq_notification_digests_user_id_day")),
    )


def downgrade() -> None:
    op.drop_table("notification_digests")
