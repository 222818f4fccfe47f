"""plugin activation: connector_settings becomes plugin_settings

Revision ID: 0005_plugin_activation
Revises: 0004_export_batches
Create Date: 2026-12-02 04:30:00.000000

Every plugin (binder types, readers, exporters, intake sources...) can be switched on or off
per firm and per company, so the exporters' ``connector_settings`` is generalised into
``plugin_settings``: ``connector`` becomes ``plugin`` and ``enabled`` may be NULL ("inherit":
a company follows its firm, a firm the plugin's default), so a row can hold a plugin's
settings without deciding its switch. Every existing row is copied with its id, switch and
settings; the old table is dropped once copied.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0005_plugin_activation"
down_revision = "0004_export_batches"
branch_labels = None
depends_on = None

COLUMNS = "id, firm_id, company_id, {name}, enabled, settings, created_at, updated_at"


def _create(table: str, name: str, nullable_enabled: bool) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column(name, sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=nullable_enabled),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f(f"fk_{table}_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f(f"fk_{table}_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(
            "firm_id", "company_id", name, name=op.f(f"uq_{table}_firm_id_company_id_{name}")
        ),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{table}_firm_id"), ["firm_id"], unique=False)


def _copy(source: str, source_name: str, target: str, target_name: str) -> None:
    op.execute(
        f"INSERT INTO {target} ({COLUMNS.format(name=target_name)}) "  # noqa: S608 - constants
        f"SELECT {COLUMNS.format(name=source_name)} FROM {source}"
    )
    if op.get_bind().dialect.name == "postgresql":
        # Rows keep their ids: the new table's sequence continues after them.
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{target}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {target}), 0) + 1, false)"
        )


def _drop(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{table}_firm_id"))
        batch_op.drop_index(batch_op.f(f"ix_{table}_company_id"))
    op.drop_table(table)


def upgrade() -> None:
    _create("plugin_settings", "plugin", nullable_enabled=True)
    _copy("connector_settings", "connector", "plugin_settings", "plugin")
    _drop("connector_settings")


def downgrade() -> None:
    _create("connector_settings", "connector", nullable_enabled=False)
    # A switch left to inherit was "off until switched on" for a connector.
    op.execute(
        "UPDATE plugin_settings SET enabled = false WHERE enabled IS NULL"
        if op.get_bind().dialect.name == "postgresql"
        else "UPDATE plugin_settings SET enabled = 0 WHERE enabled IS NULL"
    )
    _copy("plugin_settings", "plugin", "connector_settings", "connector")
    _drop("plugin_settings")
