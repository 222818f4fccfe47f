"""Collection by e-mail: addresses, allowed senders, receiving a message (SMTP or IMAP) into
the company's purchase binder through the core's intake, the quarantine.

Nothing received is lost: the raw message is durably written under
``<DATA_DIR>/mail_collect/raw`` before anything else, then its row (one per company and
Message-ID: a message received twice is filed once), then each attachment goes through
``store_upload`` like an upload; what cannot be filed waits in the quarantine with its reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.plugin_api import (
    Binder,
    Company,
    DocumentEvent,
    ServiceError,
    db,
    decrypt_json,
    default_binder,
    encrypt_json,
    plugin_enabled,
    store_upload,
    submit_processing,
)
from plugins.mail_collect.messages import MalformedMessage, ParsedMessage, parse_message
from plugins.mail_collect.models import Mailbox, MailMessage, QuarantineItem

log = logging.getLogger("classeur.plugins.mail_collect")

#: The binder type whose binder receives the attachments (a string: no plugin is imported).
PURCHASE_TYPE = "purchase_invoices"
#: Settings (``app.config`` key or ``CLASSEUR_<KEY>`` in the environment) and defaults.
DEFAULTS: dict[str, Any] = {
    # Domain of the collection addresses (``<dossier>.<token>@<domain>``).
    "MAIL_DOMAIN": "classeur.localhost",
    # Seconds between two polls of a company's IMAP mailbox.
    "MAIL_COLLECT_POLL_INTERVAL": 300,
    # Largest message accepted by the SMTP receiver and read from IMAP (bytes).
    "MAIL_COLLECT_MAX_BYTES": 100 * 1024 * 1024,
    # Seconds before an IMAP connection or command times out.
    "MAIL_COLLECT_IMAP_TIMEOUT": 30,
}
#: French reasons of the quarantine, by code (intake codes keep the intake's own message).
REASON_LABELS = {
    "unknown_sender": "Expéditeur non autorisé",
    "malformed": "Message illisible",
    "no_attachment": "Aucune pièce jointe",
    "no_binder": "Aucun classeur",
    "too_many_parts": "Trop de pièces jointes",
    "undecodable": "Pièce jointe illisible (encodage)",
}
EVENT_ACTION = "email_received"
#: Senders allowed for the demo companies (``classeur init --demo``).
DEMO_SENDERS = ("@exemple.fr",)


def setting(name: str) -> Any:
    """A plugin setting: ``app.config[name]``, else ``CLASSEUR_<name>``, else its default."""
    value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(f"CLASSEUR_{name}")
    if value in (None, ""):
        return DEFAULTS[name]
    default = DEFAULTS[name]
    return type(default)(value) if isinstance(default, int) else value


# --- addresses ------------------------------------------------------------------------------


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:24].strip("-") or "dossier"


def collection_address(mailbox: Mailbox, company: Company) -> str:
    """``<dossier code>.<token>@<MAIL_DOMAIN>``: only the token counts when receiving, so the
    address keeps working if the dossier code changes."""
    return f"{_slug(company.dossier_code)}.{mailbox.token}@{setting('MAIL_DOMAIN')}"


def _token(company: Company) -> str:
    """The company's address token: 12 base-32 characters (60 bits) of an HMAC of its id under
    the app's secret key, so the address is known before its row exists and stays the same
    once the row keeps it (a later change of secret key leaves stored tokens as they are)."""
    key = str(current_app.config.get("SECRET_KEY") or current_app.secret_key or "").encode()
    digest = hmac.new(key, f"mail_collect:{company.id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:12]


def _new_mailbox(company: Company) -> Mailbox:
    return Mailbox(
        firm_id=company.firm_id,
        company_id=company.id,
        token=_token(company),
        enabled=False,
        allowed_senders=[],
        imap_enabled=False,
        state="idle",
    )


def get_mailbox(company_id: int) -> Mailbox | None:
    """The company's mailbox row, if it exists (current session)."""
    return db.session.scalar(select(Mailbox).where(Mailbox.company_id == company_id))


def mailbox_in_session(company: Company) -> Mailbox:
    """The company's mailbox, created (flushed, not committed) in the current session."""
    mailbox = get_mailbox(company.id)
    if mailbox is None:
        mailbox = _new_mailbox(company)
        db.session.add(mailbox)
        db.session.flush()
    return mailbox


def _may_hold_write_lock() -> bool:
    """Whether the current session's open transaction may hold SQLite's write lock (a
    writing request, or work outside a request): a second session would wait for it."""
    from flask import has_request_context, request

    if db.session.get_bind().dialect.name != "sqlite":
        return False
    return not has_request_context() or request.method not in ("GET", "HEAD")


def mailbox_for(company: Company) -> Mailbox:
    """The company's mailbox, created and committed on first use in a session of its own, so
    that its address is stable even when first asked from a read-only page or API answer.

    Inside a transaction that may hold SQLite's write lock the row is not created (another
    session would wait for that lock): a mailbox not yet stored, with the same token, is
    returned."""
    if db.session.in_transaction() and _may_hold_write_lock():
        return get_mailbox(company.id) or _new_mailbox(company)
    with db.fresh_session() as session:
        for _ in range(3):
            found = session.scalar(select(Mailbox).where(Mailbox.company_id == company.id))
            if found is not None:
                return found
            mailbox = _new_mailbox(company)
            session.add(mailbox)
            try:
                session.commit()
            except IntegrityError:  # created meanwhile by another request
                session.rollback()
    raise RuntimeError(f"no mailbox for company {company.id}")


def collection_on(mailbox: Mailbox) -> bool:
    """Whether the company collects: "Collecte activée" on its tab, and the module not
    switched off for its firm or for it ("Modules")."""
    return bool(mailbox.enabled) and plugin_enabled(
        mailbox.firm_id, mailbox.company_id, "mail_collect"
    )


@dataclass(frozen=True)
class Recipient:
    """An address the receiver was given: its company, or why it is refused."""

    mailbox_id: int | None
    company_id: int | None
    refusal: str | None = None


def resolve_recipient(address: str) -> Recipient:
    """Which company an address collects for; ``refusal`` says why not (``unknown``,
    ``disabled``)."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    if not local or domain.lower() != str(setting("MAIL_DOMAIN")).lower():
        return Recipient(None, None, "unknown")
    token = local.rsplit(".", 1)[-1].lower()
    mailbox = db.session.scalar(select(Mailbox).where(Mailbox.token == token))
    if mailbox is None:
        return Recipient(None, None, "unknown")
    if not collection_on(mailbox):
        return Recipient(mailbox.id, mailbox.company_id, "disabled")
    return Recipient(mailbox.id, mailbox.company_id)


# --- allowed senders ------------------------------------------------------------------------

_ADDRESS = re.compile(r"^[^@\s<>,;]+@[a-z0-9.-]+\.[a-z]{2,}$")
_DOMAIN = re.compile(r"^@?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")


def parse_senders(text: str) -> list[str]:
    """Allowed senders from a text (one a line, or separated by commas, semicolons or
    spaces): ``jean@example.fr`` or a domain (``@example.fr``; ``example.fr`` is read so).
    Raises a French :class:`ServiceError` naming the first unreadable entry."""
    found: list[str] = []
    for entry in re.split(r"[\s,;]+", text.strip().lower()):
        if not entry:
            continue
        if "@" in entry[1:]:
            if not _ADDRESS.match(entry):
                raise ServiceError(
                    f"« {entry} » n'est pas une adresse e-mail valable.", "allowed_senders"
                )
            value = entry
        elif _DOMAIN.match(entry):
            value = "@" + entry.lstrip("@")
        else:
            raise ServiceError(
                f"« {entry} » n'est ni une adresse e-mail ni un domaine (@exemple.fr).",
                "allowed_senders",
            )
        if value not in found:
            found.append(value)
    return found


def _domain(address: str) -> str:
    return "@" + address.lower().rsplit("@", 1)[1]


def sender_allowed(mailbox: Mailbox, sender: str | None) -> bool:
    """Whether ``sender`` is one of the mailbox's allowed addresses or domains."""
    if not sender or "@" not in sender:
        return False
    sender = sender.lower()
    allowed = set(mailbox.allowed_senders or [])
    return sender in allowed or _domain(sender) in allowed


def envelope_allowed(mailbox: Mailbox, envelope: str, sender: str) -> bool:
    """Whether the envelope sender (SMTP ``MAIL FROM``, or ``Return-Path`` for IMAP) of a
    message whose ``From:`` is allowed may send too: it is allowed itself, or it is in the
    ``From:`` address's domain (``bounces@client.fr`` for ``compta@client.fr``). The null
    sender ``<>`` is not."""
    if not envelope or "@" not in envelope:
        return False
    return sender_allowed(mailbox, envelope) or _domain(envelope) == _domain(sender)


def sender_refusal(
    mailbox: Mailbox, parsed: ParsedMessage, source: str, envelope_sender: str | None
) -> str | None:
    """Why the message's sender is not allowed (French), or None when it is.

    The ``From:`` address must be allowed; so must the envelope sender when it is known — the
    SMTP receiver's ``MAIL FROM`` (``envelope_sender``), an IMAP message's ``Return-Path`` —
    see :func:`envelope_allowed`. SPF and DKIM are not checked: the receiver sits behind the
    firm's MX (which may check them) or on loopback."""
    hint = "Ajoutez-le aux expéditeurs autorisés de l'entreprise, ou libérez le message."
    if not sender_allowed(mailbox, parsed.sender):
        return f"Expéditeur non autorisé : {parsed.sender or 'adresse absente'}. {hint}"
    envelope = envelope_sender if source == "smtp" else parsed.return_path
    if envelope is None or envelope_allowed(mailbox, envelope, parsed.sender or ""):
        return None
    what = "l'enveloppe SMTP (MAIL FROM)" if source == "smtp" else "le Return-Path"
    return (
        f"Expéditeur non autorisé : {what} est {envelope or '<> (vide)'}, l'en-tête From "
        f"{parsed.sender} — l'en-tête From seul peut être usurpé. {hint}"
    )


# --- IMAP settings --------------------------------------------------------------------------

IMAP_SECURITY = ("ssl", "starttls", "none")


def imap_settings(mailbox: Mailbox) -> dict[str, Any]:
    """The decrypted IMAP settings (``{}`` when none); the password stays inside."""
    if not mailbox.imap_secret:
        return {}
    return dict(decrypt_json(mailbox.imap_secret))


def set_imap_settings(mailbox: Mailbox, values: dict[str, Any]) -> None:
    """Check and store (encrypted) the IMAP settings; an empty password keeps the current."""
    host = str(values.get("host") or "").strip()
    if not host:
        mailbox.imap_secret = None
        mailbox.imap_enabled = False
        return
    if not re.match(r"^[A-Za-z0-9.:\[\]-]+$", host):
        raise ServiceError("Serveur IMAP invalide.", "imap_host")
    security = str(values.get("security") or "ssl")
    if security not in IMAP_SECURITY:
        raise ServiceError("Sécurité IMAP inconnue.", "imap_security")
    try:
        port = int(values.get("port") or (993 if security == "ssl" else 143))
    except (TypeError, ValueError) as exc:
        raise ServiceError("Port IMAP invalide.", "imap_port") from exc
    if not 0 < port < 65536:
        raise ServiceError("Port IMAP invalide.", "imap_port")
    user = str(values.get("user") or "").strip()
    if not user:
        raise ServiceError("Indiquez l'identifiant de la boîte IMAP.", "imap_user")
    current = imap_settings(mailbox) if mailbox.imap_secret else {}
    password = values.get("password") or current.get("password") or ""
    if not password:
        raise ServiceError("Indiquez le mot de passe de la boîte IMAP.", "imap_password")
    folder = str(values.get("folder") or "INBOX").strip() or "INBOX"
    move_to = str(values.get("move_to") or "").strip()
    mailbox.imap_secret = encrypt_json(
        {
            "host": host,
            "port": port,
            "security": security,
            "user": user,
            "password": password,
            "folder": folder,
            "move_to": move_to,
        }
    )


# --- raw messages ---------------------------------------------------------------------------


def raw_path(sha256: str) -> Path:
    """Where a raw message is kept (content-addressed, like the originals)."""
    root = Path(current_app.config["DATA_DIR"]) / "mail_collect" / "raw"
    return root / sha256[:2] / sha256[2:4] / f"{sha256}.eml"


def save_raw(raw: bytes) -> str:
    """Durably write ``raw`` (temporary file, fsync, rename, fsync of the folder); its sha256."""
    sha256 = hashlib.sha256(raw).hexdigest()
    final = raw_path(sha256)
    if final.exists():
        return sha256
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return sha256


def read_raw(message: MailMessage) -> bytes:
    return raw_path(message.raw_sha256).read_bytes()


# --- receiving ------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one received message."""

    message_pk: int
    duplicate: bool = False
    document_ids: list[int] = field(default_factory=list)
    new_document_ids: list[int] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)


def target_binder(company: Company) -> Binder | None:
    """The binder collected files go to: the company's purchase binder (the one its binder
    type designates, else its first binder of type ``purchase_invoices``), else its first
    binder."""
    binder = default_binder(company, PURCHASE_TYPE)
    if binder is not None:
        return binder
    return db.session.scalar(
        select(Binder).where(Binder.company_id == company.id).order_by(Binder.id).limit(1)
    )


def _claim(
    company: Company,
    message_id: str,
    sha256: str,
    size: int,
    parsed: ParsedMessage | None,
    source: str,
    envelope_sender: str | None = None,
) -> MailMessage:
    """The message's row: the existing one (received before), or a new one, committed."""
    stmt = select(MailMessage).where(
        MailMessage.company_id == company.id, MailMessage.message_id == message_id
    )
    existing = db.session.scalar(stmt)
    if existing is not None:
        return existing
    row = MailMessage(
        firm_id=company.firm_id,
        company_id=company.id,
        message_id=message_id,
        source=source,
        sender=((parsed.sender if parsed else None) or envelope_sender or None),
        subject=parsed.subject if parsed else None,
        sent_at=parsed.sent_at if parsed else None,
        raw_sha256=sha256,
        raw_size=size,
        state="received",
        document_ids=[],
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # the same message delivered at the same moment
        db.session.rollback()
        existing = db.session.scalar(stmt)
        if existing is None:
            raise
        return existing
    return row


def _quarantine(
    row: MailMessage, part_index: int | None, filename: str | None, code: str, reason: str
) -> str:
    db.session.add(
        QuarantineItem(
            firm_id=row.firm_id,
            company_id=row.company_id,
            message_pk=row.id,
            part_index=part_index,
            filename=filename[:255] if filename else None,
            reason_code=code[:40],
            reason=reason,
        )
    )
    return reason


def origin_text(
    row: MailMessage, filename: str | None = None, released_by: str | None = None
) -> str:
    """The origin of a collected document, in French: the message of its history's event
    (whose action ``email_received`` the page shows as it is, so the text says it all)."""
    via = {"smtp": "SMTP", "imap": "relève IMAP"}.get(row.source, row.source)
    parts = [
        f"Collecte par e-mail ({via}) : reçu par e-mail de {row.sender or 'expéditeur inconnu'}"
    ]
    if filename:
        parts.append(f"pièce jointe « {filename} »")
    if row.subject:
        parts.append(f"objet « {row.subject} »")
    if row.sent_at:
        parts.append(f"envoyé le {row.sent_at.strftime('%d/%m/%Y %H:%M')} UTC")
    if not row.message_id.startswith("sha256:"):
        parts.append(f"Message-ID <{row.message_id}>")
    if released_by:
        parts.append(f"libéré de la quarantaine par {released_by}")
    return " — ".join(parts)


def _store(
    row: MailMessage,
    binder: Binder,
    attachment: Any,
    user_id: int | None,
    released_by: str | None = None,
) -> tuple[int, bool]:
    """Store one attachment through the core's intake, record its origin (and who released
    it from the quarantine: the event's ``user_id``, named in its message); commits.

    Returns (document id, whether it is new); raises the intake's :class:`ServiceError`."""
    stored = store_upload(binder, io.BytesIO(attachment.payload), attachment.filename, user_id)
    document = stored.document
    message = origin_text(row, attachment.filename, released_by)
    already = db.session.scalar(
        select(DocumentEvent.id).where(
            DocumentEvent.document_id == document.id,
            DocumentEvent.action == EVENT_ACTION,
            DocumentEvent.message == message,
        )
    )
    if already is None:
        after = {**row.origin(), "filename": attachment.filename}
        if user_id is not None:
            after["released_by"] = user_id
        db.session.add(
            DocumentEvent(
                document_id=document.id,
                user_id=user_id,
                action=EVENT_ACTION,
                message=message,
                after=after,
            )
        )
    if document.id not in (row.document_ids or []):
        row.document_ids = [*(row.document_ids or []), document.id]
    db.session.commit()
    return document.id, not stored.duplicate


def _file(
    row: MailMessage,
    company: Company,
    parsed: ParsedMessage,
    outcome: Outcome,
    user_id: int | None,
    released_by: str | None = None,
) -> None:
    """File every attachment not yet filed nor quarantined; refused ones go to quarantine."""
    binder = target_binder(company)
    if binder is None:
        outcome.quarantined.append(
            _quarantine(
                row,
                None,
                None,
                "no_binder",
                "Aucun classeur dans cette entreprise pour y classer les pièces jointes : "
                "créez le classeur des factures d'achat, puis libérez le message.",
            )
        )
        return
    if not parsed.attachments:
        outcome.quarantined.append(
            _quarantine(row, None, None, "no_attachment", "Message sans pièce jointe à classer.")
        )
        return
    waiting = set(
        db.session.scalars(
            select(QuarantineItem.part_index).where(QuarantineItem.message_pk == row.id)
        )
    )
    for index, attachment in enumerate(parsed.attachments):
        if index in waiting:
            continue
        try:
            document_id, new = _store(row, binder, attachment, user_id, released_by)
        except ServiceError as exc:
            db.session.rollback()
            code, reason = _refusal(attachment, exc)
            outcome.quarantined.append(_quarantine(row, index, attachment.filename, code, reason))
            db.session.commit()
            continue
        outcome.document_ids.append(document_id)
        if new:
            outcome.new_document_ids.append(document_id)
    if parsed.skipped:
        outcome.quarantined.append(
            _quarantine(
                row,
                None,
                None,
                "too_many_parts",
                f"{parsed.skipped} pièce(s) jointe(s) non lue(s) : trop de pièces jointes ou de "
                "messages imbriqués.",
            )
        )


def _refusal(attachment: Any, exc: ServiceError) -> tuple[str, str]:
    """The quarantine's (code, French reason) of an attachment the intake refused: an
    attachment whose transfer encoding was broken is said to be so, not "type not accepted"."""
    if getattr(attachment, "encoding_error", False):
        return (
            "undecodable",
            f"{attachment.filename} : Pièce jointe illisible (encodage) — son contenu "
            f"({attachment.content_type}) est mal encodé dans le message (base64 invalide) ; "
            "demandez à l'expéditeur de la renvoyer.",
        )
    return exc.code, f"{attachment.filename} : {exc.message}"


def receive(
    company_id: int,
    raw: bytes,
    *,
    source: str,
    user_id: int | None = None,
    envelope_sender: str | None = None,
) -> Outcome:
    """File one received message for a company; commits. A message already received (same
    Message-ID for this company) is not filed again (``duplicate``). ``envelope_sender`` is
    the SMTP ``MAIL FROM`` (``""`` for ``<>``; None when unknown): it must be allowed too."""
    company = db.session.get(Company, company_id)
    if company is None:
        raise LookupError(f"no company {company_id}")
    mailbox = mailbox_in_session(company)
    db.session.commit()
    sha256 = save_raw(raw)
    try:
        parsed: ParsedMessage | None = parse_message(raw)
        malformed = None
    except MalformedMessage as exc:
        parsed, malformed = None, exc.message
    message_id = (parsed.message_id if parsed else None) or f"sha256:{sha256}"
    row = _claim(company, message_id, sha256, len(raw), parsed, source, envelope_sender)
    outcome = Outcome(message_pk=row.id)
    if row.state == "done":
        outcome.duplicate = True
        outcome.document_ids = list(row.document_ids or [])
        return outcome
    refusal = None if parsed is None else sender_refusal(mailbox, parsed, source, envelope_sender)
    if parsed is None:
        outcome.quarantined.append(_quarantine(row, None, None, "malformed", str(malformed)))
    elif refusal is not None:
        outcome.quarantined.append(_quarantine(row, None, None, "unknown_sender", refusal))
    else:
        _file(row, company, parsed, outcome, user_id)
    row.state = "done"
    db.session.commit()
    submit_processing(outcome.new_document_ids)
    log.info(
        "message %s for company %s: %d document(s), %d quarantined",
        row.message_id,
        company.id,
        len(outcome.document_ids),
        len(outcome.quarantined),
    )
    return outcome


# --- quarantine -----------------------------------------------------------------------------


def release(item: QuarantineItem, user_id: int | None, released_by: str | None = None) -> list[int]:
    """ "Libérer": file what the item holds (the whole message, or one attachment) despite
    its reason; commits. The documents' events name who released it (``user_id``, and
    ``released_by`` — their e-mail — in the message). Returns the documents filed; raises a
    French :class:`ServiceError` (the item stays) when it still cannot be filed."""
    row = db.session.get(MailMessage, item.message_pk)
    company = db.session.get(Company, item.company_id)
    if row is None or company is None:
        raise ServiceError("Message introuvable.", code="not_found", status=404)
    try:
        parsed = parse_message(read_raw(row))
    except FileNotFoundError as exc:
        raise ServiceError(
            "Le message d'origine est introuvable dans le dossier de données.", code="missing"
        ) from exc
    except MalformedMessage as exc:
        raise ServiceError(
            f"{exc.message} Rien à classer : téléchargez-le ou supprimez-le.", code="malformed"
        ) from exc
    binder = target_binder(company)
    if binder is None:
        raise ServiceError(
            "Aucun classeur dans cette entreprise : créez-en un, puis libérez à nouveau.",
            code="no_binder",
        )
    if item.part_index is None:
        if not parsed.attachments:
            raise ServiceError(
                "Ce message n'a aucune pièce jointe à classer.", code="no_attachment"
            )
        db.session.delete(item)
        db.session.commit()
        outcome = Outcome(message_pk=row.id)
        _file(row, company, parsed, outcome, user_id, released_by)
        db.session.commit()
        submit_processing(outcome.new_document_ids)
        return outcome.document_ids
    if item.part_index >= len(parsed.attachments):
        raise ServiceError("Pièce jointe introuvable dans le message.", code="not_found")
    attachment = parsed.attachments[item.part_index]
    try:
        document_id, new = _store(row, binder, attachment, user_id, released_by)
    except ServiceError as exc:
        db.session.rollback()
        if attachment.encoding_error:
            raise ServiceError(_refusal(attachment, exc)[1], code="undecodable") from exc
        raise
    db.session.delete(item)
    db.session.commit()
    if new:
        submit_processing([document_id])
    return [document_id]


def delete(item: QuarantineItem) -> None:
    """ "Supprimer": forget the item; the raw message goes once nothing refers to it any more
    (its row stays, so the same message received again is still recognised); commits."""
    row = db.session.get(MailMessage, item.message_pk)
    db.session.delete(item)
    db.session.flush()
    if row is not None and not row.document_ids:
        others = db.session.scalar(
            select(QuarantineItem.id).where(QuarantineItem.message_pk == row.id).limit(1)
        )
        shared = db.session.scalar(
            select(MailMessage.id)
            .where(MailMessage.raw_sha256 == row.raw_sha256, MailMessage.id != row.id)
            .limit(1)
        )
        db.session.commit()
        if others is None and shared is None:
            raw_path(row.raw_sha256).unlink(missing_ok=True)
        return
    db.session.commit()
