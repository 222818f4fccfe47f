"""Shared search fixtures: a migrated PostgreSQL database for the PostgreSQL backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

#: Server used for the PostgreSQL backend tests (a database is created and dropped per session).
PG_SERVER = os.environ.get(
    "CLASSEUR_TEST_PG_SERVER", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def search_pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a fresh database migrated to ``heads`` (skips if the server is unreachable)."""
    from core.app import create_app
    from core.db import db
    from core.migrate import upgrade

    name = f"pgsearch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - depends on the machine
        admin.dispose()
        pytest.skip(f"PostgreSQL server not reachable at {PG_SERVER}: {exc}")
    url = PG_SERVER.rsplit("/", 1)[0] + f"/{name}"
    try:
        data_dir: Path = tmp_path_factory.mktemp("pgsearch")
        app = create_app({"DATA_DIR": str(data_dir), "DATABASE_URL": url, "SECRET_KEY": "x"})
        upgrade(app)
        db.engine_for(app).dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_search_pg_url(search_pg_url: str) -> str:
    """The migrated database with an empty ``search_documents`` table."""
    engine = create_engine(search_pg_url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE search_documents"))
    engine.dispose()
    return search_pg_url
