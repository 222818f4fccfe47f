"""meg_export tokens: each linked company's OAuth token in a row of its own

Revision ID: 0001_meg_export
Revises:
Create Date: 2026-12-02 04:40:00.000000

The token used to live in the company's connector settings (``settings["token"]`` of the
``meg_export`` row of ``connector_settings``, ``plugin_settings`` since core revision
``0005_plugin_activation``). It moves, still encrypted, to ``meg_export_tokens``, whose row a
worker locks while it refreshes the token. Either table name is handled, whichever order the
core and this branch are upgraded in; downgrading puts the tokens back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.plugin_api

revision = "0001_meg_export"
down_revision = None
branch_labels = ("meg_export",)
depends_on = "0001_core"

NAME = "meg_export"


def _settings_table() -> sa.Table:
    """Where the connector's settings are now: (table, name column)."""
    inspector = sa.inspect(op.get_bind())
    if inspector.has_table("plugin_settings"):
        table, column = "plugin_settings", "plugin"
    else:
        table, column = "connector_settings", "connector"
    return sa.table(
        table,
        sa.column("id", sa.Integer),
        sa.column("firm_id", sa.Integer),
        sa.column("company_id", sa.Integer),
        sa.column(column, sa.String),
        sa.column("settings", sa.JSON),
    ), column


TOKENS = sa.table(
    "meg_export_tokens",
    sa.column("firm_id", sa.Integer),
    sa.column("company_id", sa.Integer),
    sa.column("token", sa.Text),
    sa.column("version", sa.Integer),
    sa.column("updated_at", core.plugin_api.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "meg_export_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", core.plugin_api.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", core.plugin_api.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_meg_export_tokens_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_meg_export_tokens_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meg_export_tokens")),
        sa.UniqueConstraint("company_id", name=op.f("uq_meg_export_tokens_company_id")),
    )
    with op.batch_alter_table("meg_export_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meg_export_tokens_firm_id"), ["firm_id"], unique=False
        )
    # Move every stored token (still encrypted: no key needed) out of the settings.
    bind = op.get_bind()
    settings, column = _settings_table()
    rows = bind.execute(
        sa.select(settings).where(
            getattr(settings.c, column) == NAME, settings.c.company_id.is_not(None)
        )
    ).all()
    for row in rows:
        values = dict(row.settings or {})
        token = values.pop("token", None)
        if not token:
            continue
        bind.execute(
            TOKENS.insert().values(
                firm_id=row.firm_id,
                company_id=row.company_id,
                token=token,
                version=0,
                updated_at=core.plugin_api.utcnow(),
            )
        )
        bind.execute(settings.update().where(settings.c.id == row.id).values(settings=values))


def downgrade() -> None:
    bind = op.get_bind()
    settings, column = _settings_table()
    for token in bind.execute(sa.select(TOKENS)).all():
        row = bind.execute(
            sa.select(settings).where(
                getattr(settings.c, column) == NAME, settings.c.company_id == token.company_id
            )
        ).first()
        if row is not None:
            values = {**(row.settings or {}), "token": token.token}
            bind.execute(settings.update().where(settings.c.id == row.id).values(settings=values))
    with op.batch_alter_table("meg_export_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meg_export_tokens_firm_id"))
    op.drop_table("meg_export_tokens")
