"""Per-firm and per-company plugin switches, and the settings a plugin keeps there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, synonym

from core.db import Base, utcnow


class PluginSetting(Base):
    """A plugin switched on, off or left to inherit, for a firm or one company (which wins).

    ``enabled`` None means "inherit": a company follows its firm, a firm follows the plugin's
    declared default. ``settings`` is the plugin's own data for that firm or company (the MEG
    link's dossier, for instance); a row may exist for its settings alone. This generalises
    the exporters' former ``connector_settings`` (migration ``0005_plugin_activation``);
    ``connector`` is kept as another name of ``plugin``.
    """

    __tablename__ = "plugin_settings"
    __table_args__ = (UniqueConstraint("firm_id", "company_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    plugin: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool | None] = mapped_column(default=None)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    #: The exporters' name for ``plugin`` (``ConnectorSetting.connector``).
    connector = synonym("plugin")
