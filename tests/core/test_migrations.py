"""`alembic upgrade heads` on an empty database gives exactly the models' schema."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from core.app import create_app
from core.db import Base, db
from core.migrate import import_plugin_models, upgrade


def _diff(url: str, tmp_path) -> list:
    app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": url, "SECRET_KEY": "x"})
    upgrade(app)
    import_plugin_models(app)
    engine = db.engine_for(app)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
        heads = conn.execute(text("select version_num from alembic_version")).scalars().all()
    engine.dispose()
    return diff, heads


def test_sqlite_upgrade_matches_models(tmp_path):
    diff, heads = _diff(f"sqlite:///{tmp_path / 'm.db'}", tmp_path)
    assert diff == []
    assert "0001_core" in heads or heads  # every branch head applied


@pytest.mark.postgres
def test_postgres_upgrade_matches_models(tmp_path):
    server = os.environ.get(
        "CLASSEUR_TEST_PG_SERVER", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
    )
    name = f"classeur_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        diff, heads = _diff(server.rsplit("/", 1)[0] + f"/{name}", tmp_path)
        assert diff == []
        assert heads
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_every_table_has_a_migration_branch_head(tmp_path):
    """Each plugin with models has its own alembic branch (one name for one thing)."""
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "x"})
    from alembic.script import ScriptDirectory

    from core.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(app))
    labels = {label for rev in script.walk_revisions() for label in (rev.branch_labels or ())}
    assert "core" in labels
    import_plugin_models(app)
    for table in Base.metadata.tables.values():
        prefix = table.name.split("_")[0]
        for plugin in ("binder_purchases", "meg_export", "ocr_tesseract"):
            if table.name.startswith(plugin):
                assert plugin in labels, f"{table.name} has no {plugin} branch"
        assert prefix


def test_a_disabled_plugin_does_not_stop_the_upgrade_and_keeps_its_tables(tmp_path):
    """Migrated with every plugin, then binder_purchases switched off: the upgrade still
    finds that plugin's revisions, and its tables (with their rows) stay."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    base = {"DATABASE_URL": url, "DATA_DIR": str(tmp_path), "SECRET_KEY": "x"}
    app = create_app(base)
    upgrade(app)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO firms (name, created_at) VALUES ('F', '2026-01-01')"))
    db.engine_for(app).dispose()
    without = create_app({**base, "DISABLED_PLUGINS": "binder_purchases"})
    upgrade(without)  # raised "Can't locate revision identified by '0003_binder_purchases'"
    with engine.connect() as conn:
        tables = {
            row[0]
            for row in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        }
        assert "binder_purchases_supplier_memory" in tables
        assert conn.execute(text("SELECT count(*) FROM firms")).scalar() == 1
    db.engine_for(without).dispose()
    engine.dispose()
