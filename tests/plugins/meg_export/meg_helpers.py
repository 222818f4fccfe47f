"""The connector's end-to-end helper: a linked company and what the sandbox holds for it.

Imported by the tests (``from tests.plugins.meg_export.meg_helpers import Meg``); the
``meg_for`` fixture of ``conftest.py`` builds one.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from core.db import db
from core.documents.models import Document
from core.exports.models import ConnectorSetting, ExportStatus
from plugins.meg_export.client import MegClient
from tests.conftest import wait_for

PDF = Path(__file__).resolve().parents[2] / "data" / "invoices" / "invoice2data" / "free_fiber.pdf"


class Meg:
    """A linked company of a fresh firm, and what the sandbox holds for it."""

    def __init__(self, app, factory, sandbox, token, web, company) -> None:
        self.app, self.factory, self.sandbox = app, factory, sandbox
        self.web, self.company = web, company
        self.api = MegClient(
            sandbox.base_url,
            token,
            client_id="classeur",
            client_secret="classeur-sandbox-secret",
            timeout=5,
        )
        self.runner = app.extensions["classeur"].tasks
        self.runner.poll_interval = 0.05

    def document(
        self,
        fields,
        binder_type="purchase_invoices",
        content=None,
        filename="facture.pdf",
        media_type=None,
    ):
        binder = self.factory.binder(self.company, binder_type)
        document = self.factory.document(
            binder,
            state="to_review",
            fields=fields,
            content=content if content is not None else PDF.read_bytes(),
            filename=filename,
        )
        if media_type:
            with self.app.app_context():
                db.session.get(Document, document.id).media_type = media_type
                db.session.commit()
        return document

    def validate(self, document) -> None:
        from core.documents.services import validate_document
        from core.exports.services import submit_exports

        if not self.runner.running:
            self.runner.start()
        with self.app.app_context():
            submit_exports(validate_document(db.session.get(Document, document.id), None))

    def status(self, document) -> ExportStatus | None:
        with self.app.app_context():
            return db.session.scalar(
                select(ExportStatus).where(ExportStatus.document_id == document.id)
            )

    def wait_final(self, document) -> ExportStatus:
        return wait_for(
            lambda: (
                (s := self.status(document)) is not None and s.state in ("exported", "error") and s
            ),
            timeout=60,
        )

    def purchases(self):
        return self.api.list_purchases(self.company.dossier_code, source="Classeur")

    def setting(self) -> ConnectorSetting:
        with self.app.app_context():
            return db.session.scalar(
                select(ConnectorSetting).where(ConnectorSetting.company_id == self.company.id)
            )


def stored_token(app, company):
    """The company's MEG token as stored (decrypted), or None."""
    from core.crypto import decrypt_json
    from plugins.meg_export.models import MegToken

    with app.app_context():
        raw = db.session.scalar(select(MegToken.token).where(MegToken.company_id == company.id))
        return None if raw is None else decrypt_json(raw)


def raw_token_row(app, company) -> str:
    """The stored (encrypted) token column of the company, as text."""
    from sqlalchemy import text

    with app.app_context():
        return str(
            db.session.execute(
                text("SELECT token FROM meg_export_tokens WHERE company_id = :c"),
                {"c": company.id},
            ).scalar_one()
        )
