"""Whole-instance backup: ``classeur export-all DIR`` and ``classeur import-all DIR``.

An export is a folder::

    manifest.json            format, schema revisions (alembic heads), row counts, sha256 of
                             every file below, whether the encryption key travels
    tables/<table>.jsonl     one JSON object per row, for every table of the metadata (core
                             and plugins alike: nothing here names a plugin table)
    originals/ab/cd/<sha>    the originals, content-addressed like the data folder
    encryption_key           only when no ``CLASSEUR_ENCRYPTION_KEY`` is configured: the
                             connector secrets stay encrypted, so the key has to travel

Import goes into an *empty* instance only: it checks every sha256 before touching anything,
migrates the database to the export's revisions, inserts every row with its id in dependency
order (one transaction), fixes PostgreSQL sequences, copies the originals (file before row),
migrates to the latest revisions and rebuilds the search index.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from core.db import Base, db, utcnow

FORMAT = "classeur-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
KEY_FILE = "encryption_key"
CHUNK = 1024 * 1024
BATCH = 500

__all__ = [
    "BackupError",
    "ImportSummary",
    "export_all",
    "export_all_command",
    "import_all",
    "import_all_command",
    "verify_export",
]


class BackupError(Exception):
    """An export or import that cannot be done; the message says why and what to do."""


@dataclass
class ImportSummary:
    """What :func:`import_all` restored."""

    rows: dict[str, int] = field(default_factory=dict)
    originals: int = 0
    indexed: int = 0
    key_restored: bool = False
    warnings: list[str] = field(default_factory=list)


# --- helpers ---------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _tables(app: Flask) -> list[Table]:
    """Every table of the metadata (core and loaded plugins), parents before children."""
    from core.migrate import import_plugin_models

    import_plugin_models(app)
    return list(Base.metadata.sorted_tables)


def _schema_revisions(conn: Connection) -> list[str]:
    try:
        return sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except Exception as exc:  # noqa: BLE001 - no alembic table: never migrated
        raise BackupError(
            "The database has never been migrated (no alembic_version table)."
        ) from exc


def _encode(value: Any) -> Any:
    """A column value as JSON (types are restored from the column type on import)."""
    if isinstance(value, enum.Enum):
        return value.name  # SQLAlchemy's Enum persists member names
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def _python_type(column: Any) -> type | None:
    kind = column.type
    while isinstance(kind, TypeDecorator):  # UTCDateTime and friends: look at what they wrap
        kind = kind.impl_instance
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def _decode(column: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = _python_type(column)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is Decimal:
        return Decimal(value)
    if kind is bytes:
        return base64.b64decode(value)
    return value


def _is_empty_dir(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


# --- export ----------------------------------------------------------------------------------


def _dump_table(conn: Connection, table: Table, out: Path) -> int:
    count = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    order = list(table.primary_key.columns) or list(table.columns)
    with out.open("w", encoding="utf-8") as fh:
        result = conn.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
        for row in result:
            record = {key: _encode(value) for key, value in row._mapping.items()}
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
        fh.flush()
        os.fsync(fh.fileno())
    return count


def _copy_original(source: Path, sha256: str, dest_root: Path) -> int:
    target = dest_root / "originals" / sha256[:2] / sha256[2:4] / sha256
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    if digest.hexdigest() != sha256:
        raise BackupError(f"Original {sha256} in the data folder is damaged (sha256 differs).")
    return size


def export_all(app: Flask, destination: str | Path) -> dict[str, Any]:
    """Export the whole instance of ``app`` into ``destination`` (absent or empty folder).

    Reads every table in one transaction (a consistent snapshot), copies each original once,
    and writes ``manifest.json`` last, so a folder without a manifest is an unfinished export.
    Returns the manifest.
    """
    dest = Path(destination)
    if not _is_empty_dir(dest):
        raise BackupError(f"{dest} is not empty: export into a new or empty folder.")
    dest.mkdir(parents=True, exist_ok=True)
    tables = _tables(app)
    engine = db.engine_for(app)
    storage = app.extensions["classeur"].storage
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": utcnow().isoformat(),
        "database_dialect": engine.dialect.name,
        "tables": {},
        "originals": {},
        "files": {},
    }
    options: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with engine.connect().execution_options(**options) as conn, conn.begin():
        manifest["schema_revisions"] = _schema_revisions(conn)
        for table in tables:
            rel = f"tables/{table.name}.jsonl"
            manifest["tables"][table.name] = {
                "rows": _dump_table(conn, table, dest / rel),
                "file": rel,
            }
        documents = Base.metadata.tables["documents"]
        shas = sorted(set(conn.execute(select(documents.c.sha256)).scalars()))
    for sha in shas:
        source = storage.path(sha)
        if not source.exists():
            raise BackupError(f"Original {sha} is missing from the data folder.")
        manifest["originals"][sha] = _copy_original(source, sha, dest)
    if not app.config.get("ENCRYPTION_KEY"):
        key = Path(app.config["DATA_DIR"]) / KEY_FILE
        if key.exists():
            shutil.copyfile(key, dest / KEY_FILE)
            os.chmod(dest / KEY_FILE, 0o600)
            manifest["encryption_key_included"] = True
    manifest.setdefault("encryption_key_included", False)
    for table_info in manifest["tables"].values():
        manifest["files"][table_info["file"]] = _sha256_file(dest / table_info["file"])
    if manifest["encryption_key_included"]:
        manifest["files"][KEY_FILE] = _sha256_file(dest / KEY_FILE)
    _fsync_write(dest / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
    return manifest


# --- import ----------------------------------------------------------------------------------


def verify_export(source: str | Path) -> dict[str, Any]:
    """Read the manifest of an export and check every file's sha256; return the manifest.

    Raises :class:`BackupError` naming the first file that is missing or altered.
    """
    src = Path(source)
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{src} holds no {MANIFEST}: not a Classeur export.") from exc
    except ValueError as exc:
        raise BackupError(f"{src / MANIFEST} is not valid JSON.") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{src} is not a Classeur export of format {FORMAT_VERSION}.")
    for rel, expected in sorted(manifest["files"].items()):
        path = src / rel
        if not path.is_file():
            raise BackupError(f"Export is incomplete: {rel} is missing.")
        if _sha256_file(path) != expected:
            raise BackupError(f"Export is corrupted: {rel} does not match its sha256.")
    for sha, size in sorted(manifest["originals"].items()):
        path = src / "originals" / sha[:2] / sha[2:4] / sha
        if not path.is_file():
            raise BackupError(f"Export is incomplete: original {sha} is missing.")
        if path.stat().st_size != size or _sha256_file(path) != sha:
            raise BackupError(f"Export is corrupted: original {sha} does not match its sha256.")
    return manifest


def _non_empty_tables(conn: Connection, tables: list[Table]) -> list[str]:
    return [t.name for t in tables if conn.execute(select(func.count()).select_from(t)).scalar()]


def _rows(path: Path, table: Table) -> Iterator[dict[str, Any]]:
    columns = {c.name: c for c in table.columns}
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            record = json.loads(line)
            unknown = set(record) - set(columns)
            if unknown:
                raise BackupError(
                    f"{path.name} line {line_no}: columns {sorted(unknown)} do not exist in "
                    f"table {table.name} of this version of Classeur."
                )
            yield {name: _decode(columns[name], value) for name, value in record.items()}


def _fix_sequences(conn: Connection, tables: list[Table]) -> None:
    """After explicit ids, move PostgreSQL's sequences past the highest id."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or _python_type(pk[0]) is not int:
            continue
        seq = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk[0].name}
        ).scalar()
        if not seq:
            continue
        conn.execute(
            text(
                f'SELECT setval(:seq, COALESCE((SELECT MAX("{pk[0].name}") FROM "{table.name}"), '
                f'1), (SELECT MAX("{pk[0].name}") FROM "{table.name}") IS NOT NULL)'
            ),
            {"seq": seq},
        )


def _known_revisions(app: Flask) -> set[str]:
    from alembic.script import ScriptDirectory

    from core.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(app))
    return {rev.revision for rev in script.walk_revisions()}


def import_all(app: Flask, source: str | Path) -> ImportSummary:
    """Restore an export made by :func:`export_all` into the empty instance of ``app``.

    Refuses (:class:`BackupError`) a corrupted or incomplete export, an export of a newer
    schema, and an instance that already holds data.
    """
    from alembic import command

    from core.migrate import alembic_config, upgrade

    src = Path(source)
    manifest = verify_export(src)
    summary = ImportSummary()
    storage = app.extensions["classeur"].storage
    data_dir = Path(app.config["DATA_DIR"])
    engine = db.engine_for(app)

    revisions = list(manifest.get("schema_revisions") or [])
    unknown = sorted(set(revisions) - _known_revisions(app))
    if unknown:
        raise BackupError(
            f"The export comes from a newer Classeur (schema revisions {unknown} are unknown "
            "here): upgrade this installation first."
        )
    # Migrations first: exactly the export's schema, so every row fits its table.
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    for revision in revisions:
        command.upgrade(alembic_config(app), revision)
    tables = _tables(app)
    with engine.connect() as conn:
        busy = _non_empty_tables(conn, tables)
    if busy or any((storage.root / "originals").rglob("*")):
        raise BackupError(
            "This instance is not empty (tables with data: "
            f"{', '.join(busy) or 'none'}; or originals present): import-all only restores "
            "into a new, empty instance."
        )
    if manifest.get("encryption_key_included"):
        if app.config.get("ENCRYPTION_KEY"):
            summary.warnings.append(
                "CLASSEUR_ENCRYPTION_KEY is set here: it takes precedence over the exported "
                f"key written to {data_dir / KEY_FILE}; connector secrets can only be read if "
                "it contains that key."
            )
        _fsync_write(data_dir / KEY_FILE, (src / KEY_FILE).read_bytes())
        os.chmod(data_dir / KEY_FILE, 0o600)
        summary.key_restored = True
    elif not app.config.get("ENCRYPTION_KEY"):
        summary.warnings.append(
            "The export did not carry the encryption key (it was configured through "
            "CLASSEUR_ENCRYPTION_KEY): set the same key here, or connector secrets stay "
            "unreadable."
        )

    # Files before rows: a committed row never points at a missing original.
    for sha in manifest["originals"]:
        with (src / "originals" / sha[:2] / sha[2:4] / sha).open("rb") as fh:
            tmp, digest, _size = storage.spool(fh, max_bytes=1 << 62)
        if digest != sha:
            tmp.unlink(missing_ok=True)
            raise BackupError(f"Original {sha} changed while being imported.")
        storage.commit(tmp, sha)
        summary.originals += 1

    by_name = {t.name: t for t in tables}
    missing = sorted(set(manifest["tables"]) - set(by_name))
    if missing:
        raise BackupError(
            f"Tables {missing} of the export are unknown here: enable the plugins they belong "
            "to (CLASSEUR_PLUGINS) before importing."
        )
    with engine.begin() as conn:
        for table in tables:
            info = manifest["tables"].get(table.name)
            if info is None:
                continue
            batch: list[dict[str, Any]] = []
            count = 0
            for row in _rows(src / info["file"], table):
                batch.append(row)
                if len(batch) >= BATCH:
                    conn.execute(table.insert(), batch)
                    count += len(batch)
                    batch = []
            if batch:
                conn.execute(table.insert(), batch)
                count += len(batch)
            if count != info["rows"]:
                raise BackupError(
                    f"Table {table.name}: {count} rows read, the manifest says {info['rows']}."
                )
            summary.rows[table.name] = count
        _fix_sequences(conn, tables)
    upgrade(app)  # then whatever is newer here than in the export

    from core.search.services import flush, rebuild_index

    with app.app_context():
        summary.indexed = rebuild_index()
        flush()
    return summary


# --- commands --------------------------------------------------------------------------------


def _app() -> Flask:
    from core.app import create_app

    return create_app({"START_WORKERS": False})


def _close(app: Flask) -> None:
    state = app.extensions["classeur"]
    if getattr(state, "_search", None) is not None:
        state._search.close()
    db.engine_for(app).dispose()


@click.command("export-all")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_all_command(directory: Path) -> None:
    """Export the whole instance (database, originals, encryption key) into DIRECTORY."""
    app = _app()
    try:
        with app.app_context():
            manifest = export_all(app, directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        _close(app)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    click.echo(
        f"exported {rows} rows from {len(manifest['tables'])} tables and "
        f"{len(manifest['originals'])} originals to {directory}"
    )
    if manifest["encryption_key_included"]:
        click.echo(
            f"the encryption key is in {directory / KEY_FILE}: keep this export as secret as "
            "the data folder",
            err=True,
        )
    else:
        click.echo(
            "the encryption key is NOT in the export (CLASSEUR_ENCRYPTION_KEY is set): keep "
            "that key with the backup",
            err=True,
        )


@click.command("import-all")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_all_command(directory: Path) -> None:
    """Restore an export made by ``export-all`` into this new, empty instance."""
    app = _app()
    try:
        with app.app_context():
            summary = import_all(app, directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        _close(app)
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"imported {sum(summary.rows.values())} rows, {summary.originals} originals; "
        f"{summary.indexed} documents indexed"
    )
