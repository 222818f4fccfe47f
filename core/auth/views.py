"""Login and logout, the user's own account, password reset, and Administration →
Utilisateurs (the firm's users, invitations)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash

from core.auth import services as users_svc
from core.auth.audit import audit
from core.auth.forms import (
    AccountForm,
    ForgotPasswordForm,
    InviteForm,
    LoginForm,
    MemberForm,
    PasswordChangeForm,
    SetPasswordForm,
    TokenForm,
)
from core.auth.models import ApiToken, AuditEvent, User
from core.auth.permissions import public, requires
from core.auth.services import AuthError, authenticate, create_token
from core.db import db, utcnow
from core.documents.models import EVENT_LABELS, Document, DocumentEvent
from core.extensions import limiter
from core.tenancy.models import Company, Membership
from core.tenancy.scoping import current_membership
from core.web.urls import local_path

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: never an open redirect.
    return local_path(target, url_for("web.dashboard"))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], error_message="Trop de tentatives de connexion.")
def login() -> Any:
    """The login page ("Connexion"); attempts are throttled per client address."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            email = (form.email.data or "").strip().lower()[:254]
            target = db.session.scalar(select(User).where(User.email == email))
            firm_ids = sorted(m.firm_id for m in target.memberships) if target else []
            audit(
                "login_failed",
                details={"email": email},
                user_id=target.id if target else None,
                firm_id=firm_ids[0] if firm_ids else None,
            )
            db.session.commit()
            if (
                target is not None
                and not target.active
                and check_password_hash(target.password_hash, form.password.data or "")
            ):
                # The right password of a deactivated account: say so (a wrong one still gets
                # the generic message, which tells nothing of the account).
                flash(_("Ce compte est désactivé."), "error")
                return render_template("auth/login.html", form=form), 401
            flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
            return render_template("auth/login.html", form=form), 401
        from core.operator.services import disabled_firm_message

        refusal = disabled_firm_message(user)  # every firm of the user is disabled
        if refusal is not None:
            flash(refusal, "error")
            return render_template("auth/login.html", form=form), 403
        user.last_login_at = utcnow()
        first = sorted(user.memberships, key=lambda m: m.id)
        audit("login", user_id=user.id, firm_id=first[0].firm_id if first else None)
        db.session.commit()
        login_user(user, remember=bool(form.remember.data))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
@login_required
def logout() -> Any:
    """Log out (POST only, CSRF-protected)."""
    logout_user()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/tokens", methods=["GET", "POST"])
@requires("tokens.own")
def tokens() -> Any:
    """ "Jetons d'API": the user's tokens; create one (shown once), revoke one."""
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        scopes = [s for s in ("read", "write", "admin") if getattr(form, f"scope_{s}").data]
        membership = current_membership()
        if "admin" in scopes and membership.role != "admin":
            flash(_("Seul un administrateur peut créer un jeton d'administration."), "error")
        else:
            try:
                token, created = create_token(
                    current_user,
                    name=form.name.data or "",
                    scopes=scopes,
                    expires_in_days=form.days.data or None,
                    firm_id=membership.firm_id,
                )
            except AuthError as exc:
                flash(exc.message, "error")
            else:
                audit("token_created", target=f"token:{token.prefix}")
                db.session.commit()
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())
    ).all()
    return render_template(
        "auth/tokens.html",
        form=form,
        tokens=rows,
        created=created,
        now=utcnow(),
        scopes={t.id: scopes_text(t.scopes) for t in rows},
    )


#: A token's scopes as a person reads them.
SCOPE_LABELS = {"read": _l("Lecture"), "write": _l("écriture"), "admin": _l("administration")}


def scopes_text(scopes: str | None) -> str:
    """ "read write" → "Lecture, écriture" (in the order read, write, admin)."""
    given = (scopes or "").split()
    names = [str(SCOPE_LABELS[s]) for s in SCOPE_LABELS if s in given]
    names += [s for s in given if s not in SCOPE_LABELS]
    text = ", ".join(names)
    return text[:1].upper() + text[1:] if text else "—"


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@requires("tokens.own")
def revoke_token(token_id: int) -> Any:
    """Revoke one of the user's own tokens."""
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id)
    )
    if token is None:
        abort(404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit("token_revoked", target=f"token:{token.prefix}")
        db.session.commit()
    flash(_("Jeton révoqué."), "success")
    return redirect(url_for("auth.tokens"))


#: Document events shown in the firm's audit log (those that matter to a firm).
AUDIT_DOCUMENT_ACTIONS = (
    "validated",
    "moved",
    "trashed",
    "restored",
    "renamed",
    "archived",
    "unarchived",
    "exported",
    "export_error",
    "export_retry",
    "fields_changed",
)
#: Audit events about documents (the others are « Administration »).
AUDIT_DOCUMENT_AUDIT_ACTIONS = ("document_purged",)
#: Lines per page of the audit log; pages beyond the last given are refused (bounded offset).
AUDIT_PER_PAGE = 50
AUDIT_MAX_PAGE = 1000
#: The log's filters: value → French label.
AUDIT_KINDS = {"": _l("Tout"), "documents": _l("Documents"), "admin": _l("Administration")}


def _audit_page_rows(firm_id: int, kind: str, page: int) -> tuple[list[Any], bool]:
    """One page of the firm's log, audit and document events merged by time (newest first):
    ``[("audit"|"document", id)]`` and whether a next page exists. Scoped to ``firm_id``: the
    audit events by their firm, the document events by their document's."""
    from sqlalchemy import literal, or_, union_all

    parts = []
    if kind in ("", "documents"):
        parts.append(
            select(
                literal("document").label("source"),
                DocumentEvent.id.label("id"),
                DocumentEvent.created_at.label("created_at"),
            )
            .join(Document, Document.id == DocumentEvent.document_id)
            .where(Document.firm_id == firm_id, DocumentEvent.action.in_(AUDIT_DOCUMENT_ACTIONS))
        )
    audit_stmt = select(
        literal("audit").label("source"),
        AuditEvent.id.label("id"),
        AuditEvent.created_at.label("created_at"),
    ).where(AuditEvent.firm_id == firm_id)
    if kind == "documents":
        parts.append(audit_stmt.where(AuditEvent.action.in_(AUDIT_DOCUMENT_AUDIT_ACTIONS)))
    elif kind == "admin":
        parts.append(
            audit_stmt.where(
                or_(
                    AuditEvent.action.not_in(AUDIT_DOCUMENT_AUDIT_ACTIONS),
                    AuditEvent.action.is_(None),
                )
            )
        )
    else:
        parts.append(audit_stmt)
    merged = union_all(*parts).subquery()
    rows = db.session.execute(
        select(merged.c.source, merged.c.id)
        .order_by(merged.c.created_at.desc(), merged.c.id.desc())
        .limit(AUDIT_PER_PAGE + 1)
        .offset((page - 1) * AUDIT_PER_PAGE)
    ).all()
    return [(r.source, r.id) for r in rows[:AUDIT_PER_PAGE]], len(rows) > AUDIT_PER_PAGE


@bp.route("/admin/audit")
@requires("admin.view")
def audit_log() -> Any:
    """The firm's audit log (« Journal »): logins, settings, connector switches, users, and the
    documents' events that matter to a firm (validated, moved, renamed, trashed, restored,
    archived, purged, exports), merged by time, paginated, filtered by kind (``kind=documents``
    or ``admin``); actions, targets and connectors by their French names, times in the firm's
    local time."""
    firm_id = current_membership().firm_id
    from core.state import classeur

    kind = request.args.get("kind", "")
    if kind not in AUDIT_KINDS:
        kind = ""
    page = request.args.get("page", 1, type=int) or 1
    page = min(max(page, 1), AUDIT_MAX_PAGE)
    state = classeur()
    labels = {**state.plugins.labels(), **EVENT_LABELS, **AUDIT_LABELS}
    names = _module_names(state)
    users = {
        u.id: u.email
        for u in db.session.scalars(
            select(User).join(Membership).where(Membership.firm_id == firm_id)
        )
    }
    # The platform's operators act on the firm from above it (created, disabled, enabled).
    for operator in db.session.scalars(select(User).where(User.is_operator.is_(True))):
        users.setdefault(operator.id, _("%(email)s (opérateur)", email=operator.email))
    rows, has_next = _audit_page_rows(firm_id, kind, page)
    audit_ids = [i for source, i in rows if source == "audit"]
    document_ids = [i for source, i in rows if source == "document"]
    audit_events = {
        e.id: e
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.firm_id == firm_id, AuditEvent.id.in_(audit_ids))
        )
    }
    document_events = {
        e.id: (e, filename)
        for e, filename in db.session.execute(
            select(DocumentEvent, Document.filename)
            .join(Document, Document.id == DocumentEvent.document_id)
            .where(Document.firm_id == firm_id, DocumentEvent.id.in_(document_ids))
        )
    }
    targets = _Targets(firm_id, names, labels, [e.target or "" for e in audit_events.values()])
    targets.users = users
    events = []
    for source, ident in rows:
        if source == "audit" and ident in audit_events:
            a = audit_events[ident]
            events.append(
                {
                    "when": a.created_at,
                    "who": users.get(a.user_id, "—"),
                    "what": labels.get(a.action, a.action),
                    "target": targets.name(a.target or ""),
                    "detail": _audit_detail(a.details),
                    "ip": a.ip or "",
                }
            )
        elif source == "document" and ident in document_events:
            e, filename = document_events[ident]
            connector, message = _document_event_message(e.action, e.message, names)
            what = labels.get(e.action, e.action)
            if connector:
                what = _("%(action)s vers %(connector)s", action=what, connector=connector)
            events.append(
                {
                    "when": e.created_at,
                    "who": users.get(e.user_id, "—"),
                    "what": what,
                    "target": (filename, url_for("documents.show", document_id=e.document_id)),
                    "detail": message,
                    "ip": "",
                }
            )
    return render_template(
        "auth/audit.html",
        events=events,
        kind=kind,
        kinds=AUDIT_KINDS,
        page=page,
        has_next=has_next and page < AUDIT_MAX_PAGE,
    )


def _module_names(state: Any) -> dict[str, str]:
    """Plugins' and connectors' French names by their code."""
    names = {info.name: info.label for info in state.plugins.all()}
    names.update({e.name: e.label for e in state.exporters.all()})
    return names


def _document_event_message(
    action: str, message: str | None, names: dict[str, str]
) -> tuple[str | None, str]:
    """An export event's connector (its French name) and the rest of its message: the
    exporters write ``"meg_export: Achat n° 12 créé"``, a retry only the connector's code."""
    text = (message or "").strip()
    if action == "export_retry" and text in names:
        return names[text], ""
    head, sep, tail = text.partition(":")
    if action in ("exported", "export_error") and sep and head.strip() in names:
        return names[head.strip()], tail.strip()
    return None, text


#: The values of a switch's ``enabled`` detail (connectors and modules).
SWITCH_LABELS = {
    "on": "activé",
    "off": "désactivé",
    "inherit": "comme le cabinet",
    "true": "activé",
    "false": "désactivé",
    "none": "comme le cabinet",
}


def _audit_detail(details: dict[str, Any] | None) -> str:
    """The few details a person needs beside the action: a switch's new position, the address
    tried by a failed login."""
    if not isinstance(details, dict):
        return ""
    parts = []
    if "enabled" in details:
        value = str(details["enabled"]).lower()
        parts.append(SWITCH_LABELS.get(value, value))
    if details.get("email"):
        parts.append(str(details["email"]))
    if details.get("role"):
        role = str(details["role"])
        label = str(users_svc.ROLE_LABELS.get(role, role))
        if details.get("old_role"):
            old = str(details["old_role"])
            label = f"{users_svc.ROLE_LABELS.get(old, old)} → {label}"
        parts.append(label)
    return ", ".join(parts)


class _Targets:
    """Names (and links) of the audit log's targets: ``company:12`` → "Entreprise Dupont
    (DUP)", ``meg_export:firm`` → "MEG (RCA) — cabinet", ``token:ab12`` → "Jeton ab12…".
    Companies are looked up in the firm only."""

    def __init__(
        self, firm_id: int, names: dict[str, str], labels: dict[str, str], targets: list[str]
    ) -> None:
        self.names = names
        self.labels = labels
        #: The firm's users' addresses by id (``user:12`` targets).
        self.users: dict[int, str] = {}
        ids = set()
        for target in targets:
            _kind, _sep, ident = target.partition(":")
            if ident.isdigit():
                ids.add(int(ident))
        self.companies = {
            c.id: c
            for c in db.session.scalars(
                select(Company).where(Company.firm_id == firm_id, Company.id.in_(ids))
            )
        }

    def company(self, company_id: int) -> tuple[str, str | None]:
        company = self.companies.get(company_id)
        if company is None:
            return _("Entreprise supprimée (n° %(n)s)", n=company_id), None
        return (
            f"{company.name} ({company.dossier_code})",
            url_for("tenancy.edit_company", company_id=company.id),
        )

    def name(self, target: str) -> tuple[str, str | None]:
        kind, sep, ident = target.partition(":")
        if not sep:
            return target, None
        if kind == "company" and ident.isdigit():
            return self.company(int(ident))
        if kind == "token":
            return _("Jeton d'API %(prefix)s…", prefix=ident), None
        if kind == "user" and ident.isdigit():
            email = self.users.get(int(ident))
            if email is None:
                return _("Utilisateur n° %(n)s", n=ident), None
            return email, url_for("auth.edit_user", user_id=int(ident))
        if kind in self.names:
            module = self.names[kind]
            if ident == "firm":
                return _("%(module)s — cabinet", module=module), None
            if ident.isdigit():
                text, url = self.company(int(ident))
                return f"{module} — {text}", url
            return module, None
        if kind in self.labels:
            return f"{self.labels[kind]} n° {ident}", None
        return target, None


AUDIT_LABELS = {
    "login": "Connexion",
    "login_failed": "Échec de connexion",
    "token_created": "Jeton d'API créé",
    "token_revoked": "Jeton d'API révoqué",
    "company_settings": "Paramétrage modifié",
    "connector_switch": "Connecteur activé/désactivé",
    "connector_link": "Liaison de connecteur",
    "connector_unlink": "Déliaison de connecteur",
    "plugin_switch": "Module activé/désactivé",
    "document_purged": "Document supprimé de la corbeille",
}


AUDIT_LABELS.update(
    {
        "user_invited": "Utilisateur invité",
        "user_added": "Utilisateur ajouté au cabinet",
        "invitation_resent": "Invitation renvoyée",
        "invitation_accepted": "Invitation acceptée",
        "user_role_changed": "Rôle modifié",
        "user_deactivated": "Utilisateur désactivé",
        "user_reactivated": "Utilisateur réactivé",
        "user_removed": "Utilisateur retiré du cabinet",
        "password_changed": "Mot de passe modifié",
        "password_reset": "Mot de passe réinitialisé",
    }
)
# The platform operator's actions, recorded under the firm concerned (core/operator).
AUDIT_LABELS.update(
    {
        "firm_created": "Cabinet créé",
        "firm_disabled": "Cabinet désactivé",
        "firm_enabled": "Cabinet réactivé",
    }
)


# --- Administration → Utilisateurs ----------------------------------------------------------


def _firm_company_choices(firm_id: int) -> list[tuple[int, str]]:
    rows = db.session.scalars(
        select(Company).where(Company.firm_id == firm_id).order_by(Company.name)
    ).all()
    return [(c.id, f"{c.name} ({c.dossier_code})") for c in rows]


def _chosen_companies(firm_id: int, ids: list[int] | None) -> list[Company]:
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Company).where(Company.firm_id == firm_id, Company.id.in_(ids[:500]))
        )
    )


def _member_or_404(user_id: int) -> Membership:
    """A user of the admin's firm, or 404 (another firm's users do not exist here)."""
    membership = users_svc.membership_of(user_id, current_membership().firm_id)
    if membership is None:
        abort(404)
    return membership


def _form_error(form: Any, exc: AuthError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "error")


def _inviter() -> str:
    return current_user.name or current_user.email


@bp.route("/admin/users", methods=["GET", "POST"])
@requires("users.manage")
def users() -> Any:
    """ "Utilisateurs": the firm's users (role, companies of a client, state, last login,
    pending invitation) and the invitation form."""
    membership = current_membership()
    firm = membership.firm
    form = InviteForm()
    form.companies.choices = _firm_company_choices(firm.id)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                _membership, link = users_svc.invite_user(
                    firm,
                    form.email.data or "",
                    form.role.data or "",
                    name=form.name.data or "",
                    companies=_chosen_companies(firm.id, form.companies.data),
                    invited_by=_inviter(),
                )
            except AuthError as exc:
                db.session.rollback()
                _form_error(form, exc)
                status = 422
            else:
                db.session.commit()
                email = (form.email.data or "").strip().lower()
                if link:
                    flash(_("Invitation envoyée à %(email)s.", email=email), "success")
                else:
                    flash(
                        _(
                            "%(email)s a déjà un compte Classeur : il a maintenant accès au "
                            "cabinet (prévenu par e-mail).",
                            email=email,
                        ),
                        "success",
                    )
                return redirect(url_for("auth.users"))
        else:
            status = 422
    return render_template(
        "auth/users.html",
        form=form,
        members=users_svc.firm_memberships(firm.id),
        role_labels=users_svc.ROLE_LABELS,
        me=current_user.id,
    ), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@requires("users.manage")
def edit_user(user_id: int) -> Any:
    """One user of the firm: role and companies; re-send the invitation; deactivate."""
    membership = _member_or_404(user_id)
    form = MemberForm(
        obj=None,
        data=None
        if request.method == "POST"
        else {"role": str(membership.role), "companies": [c.id for c in membership.companies]},
    )
    form.companies.choices = _firm_company_choices(membership.firm_id)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                changed = users_svc.update_membership(
                    membership,
                    form.role.data or "",
                    _chosen_companies(membership.firm_id, form.companies.data),
                )
            except AuthError as exc:
                db.session.rollback()
                _form_error(form, exc)
                status = 422
            else:
                db.session.commit()
                if changed:
                    flash(_("Utilisateur enregistré."), "success")
                return redirect(url_for("auth.users"))
        else:
            status = 422
    membership = _member_or_404(user_id)
    return render_template(
        "auth/user_edit.html",
        form=form,
        member=membership,
        shared=len(membership.user.memberships) > 1,
        role_labels=users_svc.ROLE_LABELS,
    ), status


@bp.route("/admin/users/<int:user_id>/invitation", methods=["POST"])
@requires("users.manage")
def resend_invitation(user_id: int) -> Any:
    """Send the invitation again (a new 7-day link; the previous one becomes void)."""
    membership = _member_or_404(user_id)
    user = membership.user
    if user.invited_at is None or not user.active:
        flash(_("Cet utilisateur a déjà choisi son mot de passe."), "error")
        return redirect(url_for("auth.edit_user", user_id=user.id))
    users_svc.send_invitation(user, membership.firm, invited_by=_inviter())
    audit("invitation_resent", target=f"user:{user.id}")
    db.session.commit()
    flash(_("Invitation renvoyée à %(email)s.", email=user.email), "success")
    return redirect(url_for("auth.users"))


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["POST"])
@requires("users.manage")
def deactivate_user(user_id: int) -> Any:
    """Deactivate a user of the firm (or take a shared account out of the firm)."""
    membership = _member_or_404(user_id)
    email = membership.user.email
    try:
        outcome = users_svc.deactivate_member(membership)
    except AuthError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("auth.edit_user", user_id=user_id))
    db.session.commit()
    if outcome == "removed":
        flash(_("%(email)s n'a plus accès au cabinet.", email=email), "success")
    else:
        flash(_("%(email)s est désactivé.", email=email), "success")
    return redirect(url_for("auth.users"))


@bp.route("/admin/users/<int:user_id>/reactivate", methods=["POST"])
@requires("users.manage")
def reactivate_user(user_id: int) -> Any:
    """Reactivate a deactivated user of the firm."""
    membership = _member_or_404(user_id)
    users_svc.reactivate_member(membership)
    db.session.commit()
    flash(_("%(email)s est réactivé.", email=membership.user.email), "success")
    return redirect(url_for("auth.users"))


# --- Mon compte -------------------------------------------------------------------------------


def _own_account(view: Any) -> Any:
    """``account.own`` for every logged-in person, an operator outside the firms included
    (``requires`` needs a firm membership): pages only, never a token."""
    import functools

    from core.auth.permissions import role_allows
    from core.tenancy.scoping import current_membership_or_none

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        if g.get("token_scopes") is not None:
            abort(403)
        membership = current_membership_or_none()
        if membership is not None and not role_allows(membership.role, "account.own"):
            abort(403)
        return view(*args, **kwargs)

    wrapper._classeur_permission = "account.own"  # type: ignore[attr-defined]
    return wrapper


def _account_page(
    profile: AccountForm | None = None, password: PasswordChangeForm | None = None, status=200
) -> Any:
    from core.tenancy.scoping import current_membership_or_none

    membership = current_membership_or_none()
    if profile is None:
        profile = AccountForm(
            formdata=None, data={"name": current_user.name, "locale": current_user.locale}
        )
    return render_template(
        "auth/account.html",
        profile=profile,
        password=password or PasswordChangeForm(formdata=None),
        membership=membership,
        role_labels=users_svc.ROLE_LABELS,
    ), status


@bp.route("/account", methods=["GET", "POST"])
@_own_account
def account() -> Any:
    """ "Mon compte": name and language, password, notifications and API tokens."""
    if request.method == "GET":
        return _account_page()
    form = AccountForm()
    if not form.validate_on_submit():
        return _account_page(profile=form, status=422)
    current_user.name = (form.name.data or "").strip()[:200]
    current_user.locale = form.locale.data if form.locale.data in users_svc.LOCALES else "fr"
    db.session.commit()
    flash(_("Vos préférences sont enregistrées."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/password", methods=["POST"])
@_own_account
@limiter.limit(_login_limit, error_message="Trop de tentatives.")
def change_password() -> Any:
    """Change one's password: the current one, then the new one twice."""
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _account_page(password=form, status=422)
    try:
        users_svc.change_password(
            current_user, form.current.data or "", form.password.data or "", form.confirm.data or ""
        )
    except AuthError as exc:
        db.session.rollback()
        _form_error(form, exc)
        return _account_page(password=form, status=422)
    from core.tenancy.scoping import current_membership_or_none

    if current_membership_or_none() is not None:  # an operator outside the firms: no log
        audit("password_changed", target=f"user:{current_user.id}")
    db.session.commit()
    # The session stays valid: flask-login's session does not hold the password.
    flash(_("Votre mot de passe est modifié."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/firm", methods=["POST"])
@_own_account
def switch_firm() -> Any:
    """Act in another firm (one where the user is a member and which is active): kept in the
    session, then that firm's dashboard."""
    raw = (request.form.get("firm_id") or "").strip()
    wanted = int(raw) if raw.isdigit() and len(raw) <= 12 else None
    membership = next(
        (m for m in current_user.memberships if m.firm_id == wanted and m.firm.active), None
    )
    if membership is None:
        flash(_("Cabinet inconnu ou désactivé."), "error")
        return redirect(url_for("auth.account"))
    session["firm_id"] = membership.firm_id
    g.pop("_membership", None)
    flash(
        _("Vous travaillez maintenant pour le cabinet %(name)s.", name=membership.firm.name),
        "success",
    )
    return redirect(url_for("web.dashboard"))


# --- Mot de passe oublié, invitations -----------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], error_message="Trop de demandes.")
def forgot_password() -> Any:
    """ "Mot de passe oublié ?": always the same answer, whether the address is known or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        users_svc.request_password_reset(form.email.data or "")
        db.session.commit()
        flash(
            _("Si un compte existe pour cette adresse, un e-mail a été envoyé."),
            "info",
        )
        return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form), status


def _set_password_page(token: str, purpose: str) -> Any:
    try:
        user = users_svc.user_for_link(token, purpose)
    except AuthError as exc:
        return render_template("auth/link_invalid.html", message=exc.message, purpose=purpose), 400
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            if form.password.data != form.confirm.data:
                raise AuthError(
                    "Les deux nouveaux mots de passe ne sont pas identiques.", "confirm"
                )
            users_svc.set_password(user, form.password.data or "")
        except AuthError as exc:
            db.session.rollback()
            _form_error(form, exc)
        else:
            firm_id = min((m.firm_id for m in user.memberships), default=None)
            action = "invitation_accepted" if purpose == users_svc.INVITATION else "password_reset"
            audit(action, target=f"user:{user.id}", user_id=user.id, firm_id=firm_id)
            user.last_login_at = utcnow()
            audit("login", user_id=user.id, firm_id=firm_id)
            db.session.commit()
            login_user(user)
            flash(_("Votre mot de passe est enregistré : vous êtes connecté."), "success")
            return redirect(url_for("web.dashboard"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/set_password.html", form=form, user=user, purpose=purpose), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], error_message="Trop de tentatives.")
def reset_password(token: str) -> Any:
    """The reset link (1 hour, single use): choose a new password."""
    return _set_password_page(token[:500], users_svc.RESET)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], error_message="Trop de tentatives.")
def accept_invitation(token: str) -> Any:
    """The invitation link (7 days, single use): choose a password."""
    return _set_password_page(token[:500], users_svc.INVITATION)
