"""Reading a received e-mail: its origin (sender, subject, date, Message-ID) and every
attachment, attached messages (``message/rfc822``) included, recursively.

Pure functions of the raw bytes, without the database: the same message always gives the same
attachments in the same order, so an attachment is named by its index (quarantine, release).
"""

from __future__ import annotations

import email
import mimetypes
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors, policy
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

#: Attached messages deeper than this are not opened (a message nested in itself).
MAX_DEPTH = 8
#: Attachments read from one message at most.
MAX_ATTACHMENTS = 200
#: Inline images smaller than this, referenced by the body (Content-ID), are signature logos.
LOGO_BYTES = 32 * 1024
#: Defects of a part's transfer encoding (found when its payload is decoded).
ENCODING_DEFECTS = (
    errors.InvalidBase64CharactersDefect,
    errors.InvalidBase64PaddingDefect,
    errors.InvalidBase64LengthDefect,
)


class MalformedMessage(Exception):
    """The bytes are not a readable e-mail; ``message`` is French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Attachment:
    """One file carried by the message (``depth`` > 0 inside an attached message)."""

    filename: str
    content_type: str
    payload: bytes
    depth: int = 0
    #: The transfer encoding (base64...) could not be decoded cleanly: ``payload`` may be
    #: garbage (a refusal of the intake is then reported as an encoding problem).
    encoding_error: bool = False


@dataclass
class ParsedMessage:
    """What Classeur keeps of a message."""

    message_id: str | None
    sender: str | None
    #: The first ``Return-Path`` header (the envelope sender written by the delivering server,
    #: for IMAP): ``""`` for ``<>``, None when there is none.
    return_path: str | None
    subject: str | None
    sent_at: datetime | None
    attachments: list[Attachment] = field(default_factory=list)
    #: Attachments left out past :data:`MAX_ATTACHMENTS` or :data:`MAX_DEPTH`.
    skipped: int = 0


def _header(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # a header the parser could not make sense of
        return None
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def normalize_message_id(value: str | None) -> str | None:
    """``<abc@host>`` → ``abc@host`` (bounded); None when empty."""
    if not value:
        return None
    text = value.strip().split()[0] if value.strip() else ""
    text = text.strip("<>").strip()
    return text[:255] or None


def sender_address(msg: Message) -> str | None:
    """The From address, lower case (None when there is none)."""
    raw = _header(msg, "From")
    if not raw:
        return None
    try:
        addresses = [a for _, a in getaddresses([raw]) if "@" in a]
    except Exception:
        addresses = []
    if not addresses:
        _, address = parseaddr(raw)
        addresses = [address] if "@" in address else []
    return addresses[0].strip().lower()[:320] if addresses else None


def return_path(msg: Message) -> str | None:
    """The address of the first ``Return-Path`` header, lower case; ``""`` for the null
    sender ``<>``; None without the header."""
    raw = _header(msg, "Return-Path")
    if raw is None:
        return None
    _, address = parseaddr(raw)
    return address.strip().lower()[:320] if "@" in address else ""


def _date(msg: Message) -> datetime | None:
    raw = _header(msg, "Date")
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _filename(part: Message, content_type: str, number: int) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        return " ".join(str(name).split())[:255]
    ext = mimetypes.guess_extension(content_type) or ".bin"
    return f"piece-jointe-{number}{ext}"


def _is_file(part: Message, content_type: str) -> bool:
    """Whether a leaf part is a file to keep (not the message's text, not a logo)."""
    try:
        disposition = part.get_content_disposition()
        has_name = bool(part.get_filename())
    except Exception:
        disposition, has_name = None, False
    if disposition == "attachment":
        return True
    if content_type in ("text/plain", "text/html") and not has_name:
        return False  # the message's body
    if not has_name and not content_type.startswith(("application/", "image/")):
        return False
    if content_type.startswith("image/") and part.get("Content-ID"):
        payload = part.get_payload(decode=True) or b""
        if len(payload) < LOGO_BYTES:
            return False  # an image of the body (signature logo)
    return True


def _walk(part: Message, depth: int, out: ParsedMessage) -> None:
    content_type = part.get_content_type()
    if content_type == "message/rfc822" or (
        part.is_multipart() and content_type.startswith("message/")
    ):
        if depth >= MAX_DEPTH:
            out.skipped += 1
            return
        inner = part.get_payload()
        for sub in inner if isinstance(inner, list) else [inner]:
            if isinstance(sub, Message):
                _walk(sub, depth + 1, out)
        return
    if part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _walk(sub, depth, out)
        return
    if not _is_file(part, content_type):
        return
    if len(out.attachments) >= MAX_ATTACHMENTS:
        out.skipped += 1
        return
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = b""
    broken = any(isinstance(d, ENCODING_DEFECTS) for d in getattr(part, "defects", []))
    number = len(out.attachments) + 1
    out.attachments.append(
        Attachment(_filename(part, content_type, number), content_type, payload, depth, broken)
    )


def parse_message(raw: bytes) -> ParsedMessage:
    """Read ``raw`` (RFC 5322 bytes); raises :class:`MalformedMessage` when it is no e-mail."""
    if not raw.strip():
        raise MalformedMessage("Message vide.")
    try:
        msg = email.message_from_bytes(raw, policy=policy.default)
    except Exception as exc:  # the parser is lenient: this is rare
        raise MalformedMessage(f"Message illisible : {exc}.") from exc
    if not msg.keys():
        raise MalformedMessage("Message illisible : aucun en-tête de message.")
    if not any(_header(msg, h) for h in ("From", "Message-ID", "Date", "Subject")):
        raise MalformedMessage(
            "Message illisible : ni expéditeur, ni objet, ni date, ni identifiant (Message-ID)."
        )
    subject = _header(msg, "Subject")
    parsed = ParsedMessage(
        message_id=normalize_message_id(_header(msg, "Message-ID")),
        sender=sender_address(msg),
        return_path=return_path(msg),
        subject=subject[:500] if subject else None,
        sent_at=_date(msg),
    )
    try:
        _walk(msg, 0, parsed)
    except RecursionError as exc:
        raise MalformedMessage("Message illisible : parties imbriquées sans fin.") from exc
    return parsed
