"""Database: the declarative base, the engine per app, and the session of the current context.

Request handlers and tasks get the session through ``db.session``; it is bound to the Flask
application context, so each request and each task (which pushes its own context) has its own
session, closed when the context ends. Services flush, the outermost caller commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Base of every Classeur model, core and plugins."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


def make_engine(url: str) -> Engine:
    """Create the engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Own the transaction boundaries so BEGIN IMMEDIATE works and SAVEPOINTs behave.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front: a transaction that reads then writes
            # never fails on a lock upgrade (SQLITE_BUSY), it waits its turn instead. WAL
            # keeps readers unblocked. Read-only requests (GET, HEAD) take no write lock,
            # so pages and searches never queue behind uploads and workers.
            if _read_only_request():
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _read_only_request() -> bool:
    from flask import has_request_context, request

    if not has_request_context() or g.get("_classeur_write"):
        return False
    return request.method in ("GET", "HEAD")


class Database:
    """Holds each app's engine and session factory; ``db.session`` is the context's session."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["classeur_db"] = {
            "engine": engine,
            "sessionmaker": sessionmaker(bind=engine, expire_on_commit=False),
        }

        @app.teardown_appcontext
        def _close_session(_exc: BaseException | None) -> None:
            session = g.pop("_classeur_session", None)
            if session is not None:
                session.close()

    def engine_for(self, app: Flask) -> Engine:
        return app.extensions["classeur_db"]["engine"]

    @property
    def engine(self) -> Engine:
        return self.engine_for(current_app)

    @property
    def session(self) -> Session:
        """The session of the current application context (created on first use)."""
        session = g.get("_classeur_session")
        if session is None:
            session = current_app.extensions["classeur_db"]["sessionmaker"]()
            g._classeur_session = session
        return session

    def begin_write(self) -> None:
        """Declare that this GET request is about to write (e.g. seeding data on first use).

        On SQLite a read-only request's transaction takes no write lock; writing from it
        could fail if another writer committed meanwhile. This ends the read transaction so
        the next statement starts a writing one (``BEGIN IMMEDIATE``). No-op elsewhere.
        """
        if not _read_only_request():
            return
        g._classeur_write = True
        if self.session.in_transaction():
            self.session.commit()

    @contextmanager
    def fresh_session(self) -> Iterator[Session]:
        """A session of its own, outside the context's one (used by background work)."""
        session = current_app.extensions["classeur_db"]["sessionmaker"]()
        try:
            yield session
        finally:
            session.close()


db = Database()
