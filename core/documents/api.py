"""API v1: documents — upload, read, original, text, page previews, fields, validation, retries,
moving to another binder, trash and restore."""

from __future__ import annotations

from typing import Any

from flask import Response, request, send_file
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields
from marshmallow import validate as check

from core.api.views import fail
from core.auth.permissions import requires
from core.binders.models import Binder
from core.db import db
from core.documents import listing, presenters
from core.documents.bulk import BULK_ACTIONS, MAX_BULK_IDS, apply_bulk, zip_documents
from core.documents.models import DocumentState
from core.documents.services import (
    archive_document,
    move_document,
    rename_document,
    restore_document,
    retry_processing,
    store_upload,
    trash_document,
    unarchive_document,
    update_fields,
    validate_document,
)
from core.errors import ServiceError
from core.exports.models import ExportState
from core.exports.services import retry_export
from core.state import classeur
from core.tenancy import scoping

bp = Blueprint("api_documents", __name__, url_prefix="/api/v1", description="Documents")

MAX_FILES_PER_REQUEST = 100


class UploadResultSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    duplicate = fields.Boolean()
    state = fields.String()


class UploadErrorSchema(Schema):
    filename = fields.String()
    code = fields.String()
    message = fields.String()


class UploadResponseSchema(Schema):
    documents = fields.List(fields.Nested(UploadResultSchema))
    errors = fields.List(fields.Nested(UploadErrorSchema))


class ExportStatusSchema(Schema):
    connector = fields.String()
    state = fields.String()
    message = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    transient = fields.Boolean()
    warning = fields.Boolean(
        metadata={"description": "Exported, with warnings in message (to check in the software)"}
    )
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    remote_id = fields.String(allow_none=True)
    exported_at = fields.DateTime(allow_none=True)


class DocumentSchema(Schema):
    id = fields.Integer()
    company_id = fields.Integer()
    binder_id = fields.Integer()
    binder_type = fields.String()
    filename = fields.String()
    media_type = fields.String()
    size = fields.Integer()
    pages = fields.Integer()
    sha256 = fields.String()
    state = fields.String()
    failure_reason = fields.String(allow_none=True)
    text_source = fields.String(allow_none=True)
    fields_ = fields.Dict(data_key="fields")
    checks = fields.List(fields.Dict())
    version = fields.Integer()
    created_at = fields.DateTime()
    processed_at = fields.DateTime(allow_none=True)
    validated_at = fields.DateTime(allow_none=True)
    archived_at = fields.DateTime(allow_none=True)
    exports = fields.List(fields.Nested(ExportStatusSchema))


class MoveSchema(Schema):
    binder_id = fields.Integer(
        required=True,
        strict=True,
        metadata={"description": "The target binder: any binder of the firm the caller sees."},
    )


@bp.route("/binders/<int:binder_id>/documents", methods=["POST"])
@requires("documents.upload")
@bp.response(202, UploadResponseSchema)
@bp.doc(
    requestBody={
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                }
            }
        }
    }
)
def upload(binder_id: int) -> Any:
    """Upload one or several files (multipart, field ``file``); answers 202 with the ids.

    Each file is judged alone: the refused ones are listed under ``errors`` with a clear
    message, the others are stored and read in the background. If every file is refused the
    answer is 422.
    """
    binder = scoping.get_binder(binder_id)
    files = [f for key in request.files for f in request.files.getlist(key)]
    if not files:
        abort(422, message="Aucun fichier reçu (champ « file »).", field="file", code="no_file")
    if len(files) > MAX_FILES_PER_REQUEST:
        abort(
            413,
            message=f"{MAX_FILES_PER_REQUEST} fichiers au plus par envoi.",
            field="file",
            code="too_many_files",
        )
    results, errors, new_ids = [], [], []
    for storage in files:
        try:
            stored = store_upload(binder, storage.stream, storage.filename or "", current_user.id)
        except ServiceError as exc:
            db.session.rollback()
            errors.append(
                {"filename": storage.filename or "", "code": exc.code, "message": exc.message}
            )
            continue
        doc = stored.document
        results.append(
            {
                "id": doc.id,
                "filename": doc.filename,
                "duplicate": stored.duplicate,
                "state": str(doc.state),
            }
        )
        if not stored.duplicate:
            new_ids.append(doc.id)
    if not results:
        first = errors[0]
        status = 413 if first["code"] == "too_large" else 422
        abort(
            status, message=first["message"], field="file", code=first["code"], errors_detail=errors
        )
    return {"documents": results, "errors": errors}


@bp.route("/documents/<int:document_id>")
@requires("documents.read")
@bp.response(200, DocumentSchema)
def get_document(document_id: int) -> Any:
    """A document: metadata, state, fields, checks and export statuses."""
    return presenters.document_json(scoping.get_document(document_id))


@bp.route("/documents/<int:document_id>/file")
@requires("documents.read")
def get_file(document_id: int) -> Response:
    """The original file, as uploaded."""
    document = scoping.get_document(document_id)
    path = classeur().storage.path(document.sha256)
    return send_file(
        path,
        mimetype=document.media_type,
        as_attachment=True,
        download_name=document.filename,
        conditional=True,
    )


@bp.route("/documents/<int:document_id>/text")
@requires("documents.read")
def get_text(document_id: int) -> Response:
    """The text read from the document (pages separated by form feeds)."""
    document = scoping.get_document(document_id)
    if document.text is None:
        abort(409, message="Le texte n'est pas encore lu.", code="not_ready")
    return Response(document.text, mimetype="text/plain; charset=utf-8")


@bp.route("/documents/<int:document_id>/pages/<int:page>.png")
@requires("documents.read")
def get_page(document_id: int, page: int) -> Response:
    """A PNG preview of one page (rendered once, then kept)."""
    document = scoping.get_document(document_id)
    try:
        path = presenters.page_preview(document, page)
    except ServiceError as exc:
        fail(exc)
    return send_file(path, mimetype="image/png", max_age=3600)


@bp.route("/documents/<int:document_id>/fields", methods=["PATCH"])
@requires("documents.review")
@bp.doc(
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FieldsPatch"}}},
    }
)
@bp.response(200, DocumentSchema)
def patch_fields(document_id: int) -> Any:
    """Change some fields (checked against the binder type's JSON Schema, then cleaned by the
    binder type); each change is an audit event."""
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        abort(422, message="Le corps doit être un objet JSON de champs.", code="bad_json")
    document = scoping.get_document(document_id)
    try:
        update_fields(document, changes, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    db.session.commit()
    return presenters.document_json(document)


@bp.route("/documents/<int:document_id>/validate", methods=["POST"])
@requires("documents.review")
@bp.response(200, DocumentSchema)
def validate(document_id: int) -> Any:
    """Validate the document ("Valider"): refused while a blocking check fails."""
    document = scoping.get_document(document_id)
    try:
        validate_document(document, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    return presenters.document_json(document)


@bp.route("/documents/<int:document_id>/retry", methods=["POST"])
@requires("documents.upload")
@bp.response(202, DocumentSchema)
def retry(document_id: int) -> Any:
    """Read a failed document again."""
    document = scoping.get_document(document_id)
    try:
        retry_processing(document, current_user.id)
    except ServiceError as exc:
        fail(exc)
    return presenters.document_json(document)


@bp.route("/documents/<int:document_id>/exports/<connector>/retry", methods=["POST"])
@requires("documents.export")
@bp.response(202, DocumentSchema)
def retry_export_view(document_id: int, connector: str) -> Any:
    """Resend a document to a connector after a correction ("Renvoyer")."""
    document = scoping.get_document(document_id)
    try:
        retry_export(document, connector, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    db.session.commit()
    return presenters.document_json(document)


@bp.route("/documents/<int:document_id>/move", methods=["POST"])
@requires("documents.review")
@bp.arguments(MoveSchema)
@bp.response(202, DocumentSchema)
def move(data: dict[str, Any], document_id: int) -> Any:
    """Move the document to another binder of the firm (« Déplacer »), maybe of another company.

    The document is read again for its new binder (answer 202, state ``received``); a validated
    one goes back to review and loses its unsent export statuses. Refused: a binder not found
    (404), the same binder (422), a trashed document, one being read, one exported or being
    sent, a binder already holding the same file (409).
    """
    document = scoping.get_document(document_id)
    binder = db.session.scalar(scoping.binders_stmt().where(Binder.id == data["binder_id"]))
    if binder is None:
        abort(404, message="Classeur introuvable.", field="binder_id", code="not_found")
    try:
        move_document(document, binder, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    return presenters.document_json(document)


@bp.route("/documents/<int:document_id>/trash", methods=["POST"])
@requires("documents.review")
@bp.response(200, DocumentSchema)
def trash(document_id: int) -> Any:
    """Put the document in the trash (« Mettre à la corbeille »); everything is kept.

    It leaves binder lists, review lists and search; its pending or error exports become
    ``skipped``. Refused (409) while it is read or being sent, or if it is already trashed.
    """
    document = scoping.get_document(document_id)
    try:
        trash_document(document, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    return presenters.document_json(document)


@bp.route("/documents/<int:document_id>/restore", methods=["POST"])
@requires("documents.review")
@bp.response(200, DocumentSchema)
def restore(document_id: int) -> Any:
    """Take the document out of the trash (« Restaurer »), back in the state it had."""
    document = scoping.get_document(document_id)
    try:
        restore_document(document, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    return presenters.document_json(document)


# --- rename, archive ---------------------------------------------------------------------------


class RenameSchema(Schema):
    filename = fields.String(
        required=True,
        metadata={
            "description": "The new file name (255 characters at most, no path separator); "
            "the current extension is kept when the new name has none."
        },
    )


@bp.route("/documents/<int:document_id>", methods=["PATCH"])
@requires("documents.review")
@bp.doc(requestBody={"required": True, "content": {"application/json": {"schema": RenameSchema}}})
@bp.response(200, DocumentSchema)
def rename(document_id: int) -> Any:
    """Rename the document (« Renommer »): ``{"filename": "..."}``; audit event "renamed".

    Refused (422): an empty name, more than 255 characters, a path separator; (409) a trashed
    document.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "filename" not in body:
        abort(
            422,
            message="Le corps doit être un objet JSON avec « filename ».",
            field="filename",
            code="bad_json",
        )
    document = scoping.get_document(document_id)
    try:
        rename_document(document, body["filename"], current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    return presenters.document_json(document)


@bp.route("/documents/<int:document_id>/archive", methods=["POST"])
@requires("documents.review")
@bp.response(200, DocumentSchema)
def archive(document_id: int) -> Any:
    """Archive a validated document (« Archiver »): it leaves trays and the default lists,
    stays searchable. Refused (409) unless validated, or when already archived."""
    document = scoping.get_document(document_id)
    try:
        archive_document(document, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    return presenters.document_json(document)


@bp.route("/documents/<int:document_id>/unarchive", methods=["POST"])
@requires("documents.review")
@bp.response(200, DocumentSchema)
def unarchive(document_id: int) -> Any:
    """Take the document out of the archive (« Désarchiver »)."""
    document = scoping.get_document(document_id)
    try:
        unarchive_document(document, current_user.id)
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    return presenters.document_json(document)


# --- bulk --------------------------------------------------------------------------------------


class BulkRequestSchema(Schema):
    action = fields.String(
        required=True,
        metadata={"enum": [*BULK_ACTIONS, "download"], "description": "What to do."},
    )
    ids = fields.List(
        fields.Integer(),
        required=True,
        metadata={"description": f"Document ids ({MAX_BULK_IDS} at most)."},
    )
    binder_id = fields.Integer(
        metadata={"description": "For ``move``: the target binder (any binder of the firm)."}
    )


class BulkResultSchema(Schema):
    id = fields.Integer()
    ok = fields.Boolean()
    message = fields.String(metadata={"description": "In French, for a person."})
    state = fields.String(
        allow_none=True, metadata={"description": "The document's state after the action."}
    )


class BulkResponseSchema(Schema):
    results = fields.List(fields.Nested(BulkResultSchema))


@bp.route("/documents/bulk", methods=["POST"])
@requires("documents.read")
@bp.doc(
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": BulkRequestSchema}},
    },
    responses={
        "200": {
            "description": "One result per document (200 even if some were refused); for "
            "``download``, a ZIP of the originals.",
            "content": {
                "application/json": {"schema": BulkResponseSchema},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def bulk() -> Any:
    """Act on several documents at once: validate, move (with ``binder_id``), trash, restore,
    resend (every export in error or skipped), archive, unarchive, or download (a ZIP).

    Each document is handled on its own, with the single-document action's permission, refusals
    and audit event; its result says why it was refused. Ids not visible to the caller answer
    « Document introuvable ». Refused as a whole: a bad action or ids (400), the action's
    permission missing (403), an unknown binder (404), a ZIP too large (413).
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, message="Le corps doit être un objet JSON.", code="bad_json")
    action = body.get("action")
    try:
        if action == "download":
            path, name = zip_documents(body.get("ids"), user=current_user)
        else:
            results = apply_bulk(
                action if isinstance(action, str) else "",
                body.get("ids"),
                user=current_user,
                binder_id=body.get("binder_id"),
            )
    except ServiceError as exc:
        db.session.rollback()
        fail(exc)
    if action == "download":
        # Opened then unlinked: the file lives until the answer is sent, never after.
        handle = path.open("rb")
        path.unlink(missing_ok=True)
        return send_file(handle, mimetype="application/zip", as_attachment=True, download_name=name)
    return {"results": [r.as_json() for r in results]}


# -- Document viewer (helper C): the original shown in the browser, the words of the pages. --


@bp.route("/documents/<int:document_id>/file/inline")
@requires("documents.read")
def view_file(document_id: int) -> Response:
    """The original file shown in the browser (``Content-Disposition: inline``); an XML file
    is shown as plain text, in a sandbox."""
    document = scoping.get_document(document_id)
    path = classeur().storage.path(document.sha256)
    is_xml = document.media_type.endswith("xml")
    response = send_file(
        path,
        mimetype="text/plain; charset=utf-8" if is_xml else document.media_type,
        as_attachment=False,
        download_name=document.filename,
        conditional=True,
    )
    if is_xml:
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@bp.route("/documents/<int:document_id>/words")
@requires("documents.read")
@bp.doc(
    responses={
        200: {
            "description": "Words of each page with their boxes (page fractions from the "
            "top-left corner), and the boxes where each field's value is printed: "
            '``{"pages": {"1": [{"text", "x0", "y0", "x1", "y1", "line"}]}, '
            '"fields": {"invoice_number": [{"page", "x0", "y0", "x1", "y1"}]}}``.'
        }
    }
)
def get_words(document_id: int) -> Any:
    """The words of the pages (OCR or PDF text layer) and where each field is printed."""
    from core.documents.words import words_json

    document = scoping.get_document(document_id)
    return words_json(document)


# --- list ----------------------------------------------------------------------------------------


class DocumentListQuerySchema(Schema):
    company_id = fields.List(fields.Integer(), metadata={"description": "Companies (repeatable)."})
    binder_id = fields.List(fields.Integer(), metadata={"description": "Binders (repeatable)."})
    binder_type = fields.List(
        fields.String(validate=check.Length(max=64)),
        metadata={"description": "Binder types, e.g. purchase_invoices (repeatable)."},
    )
    state = fields.List(
        fields.String(validate=listing.one_of(s.value for s in DocumentState)),
        metadata={"description": "States (repeatable); trashed documents only when asked for."},
    )
    export_state = fields.List(
        fields.String(validate=listing.one_of(s.value for s in ExportState)),
        metadata={"description": "Documents with an export status in one of these states."},
    )
    connector = fields.List(
        fields.String(validate=check.Length(max=64)),
        metadata={
            "description": "Documents with an export status for one of these connectors "
            "(with export_state: that status in those states)."
        },
    )
    created_from = listing.MomentField(
        metadata={
            "description": "Deposited on or after: a date (YYYY-MM-DD, from its start) or a "
            "date-time (ISO 8601, UTC unless an offset is given)."
        }
    )
    created_to = listing.MomentField(
        metadata={
            "description": "Deposited on or before: a date (to its end) or a date-time (ISO 8601)."
        }
    )
    date_from = listing.MomentField(
        metadata={
            "description": "The document's own date (e.g. invoice date) on or after "
            "(a date; a date-time counts for its day)."
        }
    )
    date_to = listing.MomentField(
        metadata={"description": "The document's own date on or before (a date or date-time)."}
    )
    party = fields.String(
        validate=check.Length(max=listing.MAX_PARTY_CHARS),
        metadata={
            "description": "Part of the other party's name (supplier...); accents and case ignored."
        },
    )
    supplier = fields.String(
        validate=check.Length(max=listing.MAX_PARTY_CHARS),
        metadata={"description": "Same as party."},
    )
    archived = fields.String(
        load_default="false",
        validate=listing.one_of(["false", "true", "all"]),
        metadata={
            "description": "Archived documents: left out (false, default), only (true), "
            "or both (all)."
        },
    )
    sort = fields.String(
        load_default=listing.DEFAULT_SORT,
        validate=listing.one_of(
            [f"{p}{k}" for k in listing.SORTS for p in ("", "-")]
            + [f"{k}:{d}" for k in listing.SORTS for d in ("asc", "desc")]
        ),
        metadata={
            "description": "created_at, date, amount, filename or state; -key or "
            "key:desc for descending. Documents without a value come last; ties by id."
        },
    )
    limit = fields.Integer(
        load_default=listing.DEFAULT_LIMIT,
        validate=check.Range(1, listing.MAX_LIMIT, error="entre {min} et {max}."),
        metadata={"description": f"Documents per page (at most {listing.MAX_LIMIT})."},
    )
    cursor = fields.String(
        validate=check.Length(max=2000),
        metadata={"description": "next_cursor of the previous page (same filters and sort)."},
    )


class DocumentListItemSchema(DocumentSchema):
    class Meta:
        exclude = ("checks",)

    date = fields.Date(
        allow_none=True, metadata={"description": "The document's own date (binder type)."}
    )
    amount = fields.Decimal(
        allow_none=True, as_string=True, metadata={"description": "Its amount (binder type)."}
    )
    summary = fields.Dict(
        allow_none=True, metadata={"description": "The binder type's summary of the fields."}
    )


class DocumentPageSchema(Schema):
    documents = fields.List(fields.Nested(DocumentListItemSchema))
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "Give it as cursor for the next page."}
    )


@bp.route("/documents")
@requires("documents.read")
@bp.arguments(DocumentListQuerySchema, location="query", as_kwargs=True)
@bp.response(200, DocumentPageSchema)
def list_documents(**args: Any) -> Any:
    """List the documents the caller may see, filtered, sorted, a page at a time.

    Trashed documents are left out unless ``state=trashed`` is asked for, archived ones unless
    ``archived=true|all``. Follow ``next_cursor`` (null on the last page). Items are the JSON of
    ``GET /documents/{id}`` without ``checks``, with ``date``, ``amount`` and ``summary``.
    """
    archived = {"false": False, "true": True, "all": None}[args.pop("archived")]
    sort, limit, cursor = args.pop("sort"), args.pop("limit"), args.pop("cursor", None)
    supplier = args.pop("supplier", None)
    if supplier and not args.get("party"):
        args["party"] = supplier
    try:
        page = listing.list_documents(
            scoping.documents_stmt(), {**args, "archived": archived}, sort, limit, cursor
        )
    except ServiceError as exc:
        fail(exc)
    return {"documents": listing.page_json(page.documents), "next_cursor": page.next_cursor}
