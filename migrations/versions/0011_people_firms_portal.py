"""people, firms and the client portal: users' language, operator flag, invitation and password
dates, notification settings; firms that can be disabled; the outbox of e-mail; in-app
notifications; the firm's requests to its clients

Revision ID: 0011_people_firms_portal
Revises: 0010_documents_archived_at
Create Date: 2026-12-02 08:05:00.000000

``users``: ``locale`` (« fr » for existing users), ``is_operator`` (false), ``invited_at``,
``password_changed_at``, ``notification_settings`` (« {} »: the defaults).
``firms``: ``active`` (true for existing firms), ``disabled_at``.
``outgoing_mails``: every e-mail is a row first, sent by a task with retries.
``notifications``: a user's in-app notifications, e-mailed at once or in the daily digest.
``document_requests``: the firm asks a client company for a missing document, or to complete
one already dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0011_people_firms_portal"
down_revision = "0010_documents_archived_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_notifications_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_firm_id"), ["firm_id"], unique=False)
        batch_op.create_index("ix_notifications_user_id_key", ["user_id", "key"], unique=False)
        batch_op.create_index(
            "ix_notifications_user_id_read_at", ["user_id", "read_at"], unique=False
        )

    op.create_table(
        "outgoing_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "PENDING",
                "SENDING",
                "SENT",
                "FAILED",
                name="mailstate",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_outgoing_mails_firm_id_firms"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_outgoing_mails_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_mails")),
    )
    with op.batch_alter_table("outgoing_mails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outgoing_mails_firm_id"), ["firm_id"], unique=False)
        batch_op.create_index(
            "ix_outgoing_mails_state_next_attempt_at", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "document_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "OPEN", "FULFILLED", "CANCELLED", name="requeststate", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fulfilled_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_document_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_document_requests_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_requests_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_document_requests_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["fulfilled_document_id"],
            ["documents.id"],
            name=op.f("fk_document_requests_fulfilled_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_document_requests_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_requests")),
    )
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_requests_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_document_requests_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_document_requests_firm_id"), ["firm_id"], unique=False)

    with op.batch_alter_table("firms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("disabled_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locale", sa.String(length=10), nullable=False, server_default="fr")
        )
        batch_op.add_column(
            sa.Column("is_operator", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("invited_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("password_changed_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("notification_settings", sa.JSON(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("notification_settings")
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("invited_at")
        batch_op.drop_column("is_operator")
        batch_op.drop_column("locale")

    with op.batch_alter_table("firms", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("active")

    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_requests_firm_id"))
        batch_op.drop_index(batch_op.f("ix_document_requests_document_id"))
        batch_op.drop_index(batch_op.f("ix_document_requests_company_id"))

    op.drop_table("document_requests")
    with op.batch_alter_table("outgoing_mails", schema=None) as batch_op:
        batch_op.drop_index("ix_outgoing_mails_state_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_outgoing_mails_firm_id"))

    op.drop_table("outgoing_mails")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_id_read_at")
        batch_op.drop_index("ix_notifications_user_id_key")
        batch_op.drop_index(batch_op.f("ix_notifications_firm_id"))

    op.drop_table("notifications")
