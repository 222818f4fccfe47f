"""Fixtures: a real database (SQLite file, or PostgreSQL with CLASSEUR_TEST_DATABASE_URL),
a real data folder and search index in a temporary folder, factories building real rows."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from core.app import create_app
from core.db import Base, db

PG_URL = os.environ.get("CLASSEUR_TEST_DATABASE_URL", "")
#: "postgres" runs the suite's apps on the PostgreSQL full-text backend (with PG_URL).
SEARCH_BACKEND = os.environ.get("CLASSEUR_TEST_SEARCH_BACKEND", "whoosh")


def _migrated(url: str, data_dir: Path) -> None:
    from core.migrate import upgrade

    app = create_app({"DATA_DIR": str(data_dir), "DATABASE_URL": url, "SECRET_KEY": "x"})
    upgrade(app)
    db.engine_for(app).dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Migrate once per session: a SQLite file to copy, or a PostgreSQL database to truncate."""
    base = tmp_path_factory.mktemp("template")
    if PG_URL:
        name = f"classeur_test_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
        _migrated(url, base)
        yield {"kind": "postgres", "url": url}
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = base / "classeur.db"
        _migrated(f"sqlite:///{path}", base)
        yield {"kind": "sqlite", "path": path}


def _truncate_all(url: str) -> None:
    import core.models  # noqa: F401

    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app_config(tmp_path: Path, database_template: dict[str, Any]) -> dict[str, Any]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if database_template["kind"] == "postgres":
        url = database_template["url"]
        _truncate_all(url)
    else:
        shutil.copy(database_template["path"], data_dir / "classeur.db")
        url = f"sqlite:///{data_dir / 'classeur.db'}"
    return {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret",
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "START_WORKERS": False,
        "WORKERS": 2,
        "EXPORT_RETRY_BASE": 0.05,
        # The daily notification digest never falls due by itself (tests run it explicitly).
        "DIGEST_HOUR": 24,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SEARCH_BACKEND": SEARCH_BACKEND if database_template["kind"] == "postgres" else "whoosh",
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    application = create_app(app_config)
    application.config["TESTING"] = True
    yield application
    state = application.extensions["classeur"]
    if state.tasks is not None:
        state.tasks.stop(wait=True)
    if state._search is not None:
        state._search.close()
    db.engine_for(application).dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


class Factory:
    """Builds real rows through the services, committed."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counter = 0

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def firm(self, name: str | None = None) -> Any:
        from core.tenancy.services import create_firm

        with self.app.app_context():
            firm = create_firm(name or f"Cabinet {self._next()}")
            db.session.commit()
            return firm

    def company(
        self, firm: Any, name: str | None = None, code: str | None = None, siren: str | None = None
    ) -> Any:
        from core.tenancy.services import create_company

        n = self._next()
        with self.app.app_context():
            company = create_company(
                firm.id,
                name=name or f"Entreprise {n}",
                dossier_code=code or f"D{n:04d}",
                siren=siren,
            )
            db.session.commit()
            return company

    def binder(self, company: Any, type: str = "purchase_invoices", name: str | None = None) -> Any:
        from core.tenancy.models import Company
        from core.tenancy.services import create_binder

        with self.app.app_context():
            c = db.session.get(Company, company.id)
            binder = create_binder(c, type=type, name=name or f"Classeur {self._next()}")
            db.session.commit()
            return binder

    def user(
        self,
        firm: Any,
        role: str = "admin",
        email: str | None = None,
        password: str = "motdepasse-solide-1",
        companies: list[Any] | None = None,
    ) -> Any:
        from core.auth.services import create_user
        from core.tenancy.models import Company, Firm

        with self.app.app_context():
            f = db.session.get(Firm, firm.id)
            cs = [db.session.get(Company, c.id) for c in companies or []]
            user = create_user(
                email or f"user{self._next()}@example.fr", password, f, role, companies=cs
            )
            db.session.commit()
            user.password = password  # type: ignore[attr-defined]
            return user

    def token(self, user: Any, scopes: tuple[str, ...] = ("read", "write")) -> str:
        from core.auth.models import User
        from core.auth.services import create_token

        with self.app.app_context():
            _, clear = create_token(db.session.get(User, user.id), scopes=scopes)
            db.session.commit()
            return clear


@pytest.fixture
def factory(app: Any) -> Factory:
    return Factory(app)


class Auth:
    """Logs a test client in through the real login form."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def login(self, user: Any) -> Any:
        return self.client.post(
            "/login",
            data={"email": user.email, "password": user.password},
            follow_redirects=False,
        )


@pytest.fixture
def auth(client: Any) -> Auth:
    return Auth(client)


@pytest.fixture
def world(factory: Factory) -> dict[str, Any]:
    """Two firms, each with an admin, an accountant, an uploader, two companies and binders."""
    out: dict[str, Any] = {}
    for key in ("a", "b"):
        firm = factory.firm(f"Cabinet {key.upper()}")
        c1 = factory.company(firm, name=f"Société {key}1", code=f"{key.upper()}01")
        c2 = factory.company(firm, name=f"Société {key}2", code=f"{key.upper()}02")
        out[key] = {
            "firm": firm,
            "companies": [c1, c2],
            "binders": [factory.binder(c1, name="Achats"), factory.binder(c2, name="Achats")],
            "admin": factory.user(firm, "admin"),
            "accountant": factory.user(firm, "accountant"),
            "uploader": factory.user(firm, "uploader", companies=[c1]),
        }
    return out


def _document(
    self: Factory,
    binder: Any,
    *,
    state: str = "to_review",
    fields: dict | None = None,
    content: bytes | None = None,
    filename: str = "facture.pdf",
) -> Any:
    """A document row with its original in storage, without going through the reading."""
    import hashlib

    from core.binders.models import Binder
    from core.documents.models import Document

    content = content or f"%PDF-1.4 test {self._next()}".encode()
    sha = hashlib.sha256(content).hexdigest()
    with self.app.app_context():
        storage = self.app.extensions["classeur"].storage
        path = storage.path(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        b = db.session.get(Binder, binder.id)
        document = Document(
            firm_id=b.company.firm_id,
            company_id=b.company_id,
            binder_id=b.id,
            sha256=sha,
            filename=filename,
            media_type="application/pdf",
            size=len(content),
            pages=1,
            state=state,
            fields=fields or {},
            text="texte",
        )
        db.session.add(document)
        db.session.commit()
        return document


Factory.document = _document  # type: ignore[attr-defined]


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def make_pdf_bytes(lines: list[str], pages: int = 1) -> bytes:
    """A born-digital PDF (text layer) with these lines on each page."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for p in range(pages):
        y = 800
        for line in lines:
            c.drawString(60, y, line)
            y -= 18
        c.drawString(60, 40, f"Page {p + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


def make_scan_bytes(lines: list[str], fmt: str = "PNG", size: int = 40) -> bytes:
    """A 'scanned' page: text rendered as pixels only (no text layer), as PNG/JPEG/PDF."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", size)
    img = Image.new("L", (1700, 1200), 255)
    draw = ImageDraw.Draw(img)
    y = 80
    for line in lines:
        draw.text((80, y), line, fill=0, font=font)
        y += int(size * 1.6)
    buf = io.BytesIO()
    img.save(buf, format=fmt, resolution=200.0) if fmt == "PDF" else img.save(buf, format=fmt)
    return buf.getvalue()


# --- browser (one Playwright and one Chromium for the whole session) ---------------------

CHROMIUM = os.environ.get("CLASSEUR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (make system)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        yield page
    finally:
        context.close()


def upload_files(client: Any, binder_id: int, headers: dict[str, str], *files: Any) -> Any:
    """POST (name, bytes) files to a binder through the API."""
    import io

    data = {"file": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(
        f"/api/v1/binders/{binder_id}/documents",
        data=data,
        headers=headers,
        content_type="multipart/form-data",
    )


def wait_ready(client: Any, doc_id: int, headers: dict[str, str], timeout: float = 120) -> Any:
    """The document's JSON once its reading has ended (to_review, validated or failed)."""

    def check() -> Any:
        body = client.get(f"/api/v1/documents/{doc_id}", headers=headers).get_json()
        return body if body["state"] not in ("received", "extracting") else None

    return wait_for(check, timeout=timeout)
