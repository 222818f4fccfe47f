"""documents: archived_at, and the list columns (field_date, field_amount_cents, field_party)

Revision ID: 0010_documents_archived_at
Revises: 0009_saved_searches
Create Date: 2026-12-02 08:00:00.000000

``documents.archived_at``: when a validated document was archived (« Archiver »). An archived
document leaves trays and the default lists; it stays searchable. Existing rows get NULL (not
archived).

``documents.field_date``, ``field_amount_cents``, ``field_party``: the binder type's
searchable date, amount (in cents) and party name (casefolded, without accents), kept in step
with the fields by ``core.documents.listing`` so lists (``GET /api/v1/documents``, trays) filter
and sort on them in SQL. Existing rows are filled here from their fields, through the binder
types of the app running the migration (left empty when none is at hand; ``classeur documents
refresh-lists`` fills them later).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

import core.db

revision = "0010_documents_archived_at"
down_revision = "0009_saved_searches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("archived_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("field_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("field_amount_cents", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("field_party", sa.String(length=500), nullable=True))
        batch_op.create_index(batch_op.f("ix_documents_archived_at"), ["archived_at"])
        batch_op.create_index("ix_documents_firm_id_created_at", ["firm_id", "created_at"])
        batch_op.create_index("ix_documents_firm_id_field_date", ["firm_id", "field_date"])
        batch_op.create_index(
            "ix_documents_firm_id_field_amount_cents", ["firm_id", "field_amount_cents"]
        )
    _fill_list_columns()


def _fill_list_columns() -> None:
    app = context.config.attributes.get("app")
    state = app.extensions.get("classeur") if app is not None else None
    registry = getattr(state, "binder_types", None)
    if registry is None:
        return
    from core.documents.listing import list_values

    bind = op.get_bind()
    documents = sa.table(
        "documents",
        sa.column("id", sa.Integer),
        sa.column("binder_id", sa.Integer),
        sa.column("fields", sa.JSON),
        sa.column("field_date", sa.Date),
        sa.column("field_amount_cents", sa.BigInteger),
        sa.column("field_party", sa.String),
    )
    binders = sa.table("binders", sa.column("id", sa.Integer), sa.column("type", sa.String))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(documents.c.id, documents.c.fields, binders.c.type)
            .join(binders, binders.c.id == documents.c.binder_id)
            .where(documents.c.id > last)
            .order_by(documents.c.id)
            .limit(500)
        ).all()
        if not rows:
            return
        for document_id, fields, kind in rows:
            last = document_id
            if not fields:
                continue
            values = list_values(registry.get(kind), fields)
            if any(v is not None for v in values.values()):
                bind.execute(
                    documents.update().where(documents.c.id == document_id).values(**values)
                )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_firm_id_field_amount_cents")
        batch_op.drop_index("ix_documents_firm_id_field_date")
        batch_op.drop_index("ix_documents_firm_id_created_at")
        batch_op.drop_index(batch_op.f("ix_documents_archived_at"))
        batch_op.drop_column("field_party")
        batch_op.drop_column("field_amount_cents")
        batch_op.drop_column("field_date")
        batch_op.drop_column("archived_at")
