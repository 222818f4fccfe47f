"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from core.auth.models import ApiToken, User
from core.db import db, utcnow
from core.tenancy.models import Company, Firm, Membership, Role

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "clsr_"  # noqa: S105 - a public prefix, not a secret
SCOPES = ("read", "write", "admin")


class AuthError(ValueError):
    """A user or token request Classeur refuses; ``field`` names the offending input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def check_password_policy(password: str) -> None:
    """At least 10 characters, not only letters or only digits."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            f"Le mot de passe doit contenir au moins {MIN_PASSWORD_LENGTH} caractères.",
            "password",
        )
    if password.isalpha() or password.isdigit():
        raise AuthError("Le mot de passe doit mêler lettres et chiffres ou symboles.", "password")


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 254:
        raise AuthError("Adresse e-mail invalide.", "email")
    return email


def _hash_password(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD") or "scrypt"
    return generate_password_hash(password, method=method)


def create_user(
    email: str,
    password: str,
    firm: Firm,
    role: Role | str,
    *,
    name: str = "",
    companies: list[Company] | None = None,
) -> User:
    """Create a user with a membership in ``firm``; flushes, the caller commits."""
    email = normalise_email(email)
    check_password_policy(password)
    try:
        role = Role(role)
    except ValueError as exc:
        raise AuthError(f"Rôle inconnu : {role}.", "role") from exc
    session = db.session
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise AuthError("Un utilisateur existe déjà avec cette adresse.", "email")
    user = User(email=email, name=name, password_hash=_hash_password(password))
    membership = Membership(firm=firm, role=role, companies=list(companies or []))
    user.memberships.append(membership)
    session.add(user)
    session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    try:
        email = normalise_email(email)
    except AuthError:
        return None
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    user: User,
    *,
    name: str = "",
    scopes: tuple[str, ...] | list[str] = ("read", "write"),
    expires_in_days: int | None = 365,
    firm_id: int | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token bound to ``firm_id`` (default: the user's first membership's firm;
    none for a user without membership); returns the row and the clear token (shown once,
    never stored)."""
    if firm_id is None:
        firm_id = default_token_firm(user)
    elif not any(m.firm_id == firm_id for m in user.memberships):
        raise AuthError("Cet utilisateur n'est pas membre de ce cabinet.", "firm")
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise AuthError(f"Portée inconnue : {', '.join(bad) or '(aucune)'}.", "scopes")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at: datetime | None = None
    if expires_in_days:
        expires_at = utcnow() + timedelta(days=expires_in_days)
    token = ApiToken(
        user=user,
        firm_id=firm_id,
        name=name,
        token_hash=hash_token(clear),
        prefix=clear[: len(TOKEN_PREFIX) + 4],
        scopes=" ".join(scopes),
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    return token, clear


def default_token_firm(user: User) -> int | None:
    """The firm of the user's first membership (None without one)."""
    memberships = sorted(user.memberships, key=lambda m: m.id)
    return memberships[0].firm_id if memberships else None


def token_firm_refusal(user: User, token: ApiToken) -> str | None:
    """Why ``token`` may not act now (its firm is disabled, or its user is no longer a member
    of it), in French; None when it may."""
    if token.firm_id is None:
        return None
    membership = next((m for m in user.memberships if m.firm_id == token.firm_id), None)
    if membership is None:
        return str(
            _l("Ce jeton n'est plus valable : son utilisateur n'est plus membre de son cabinet.")
        )
    if not membership.firm.active:
        return str(_l("Ce jeton n'est plus valable : son cabinet est désactivé."))
    return None


def user_for_token(clear: str) -> tuple[User, ApiToken] | None:
    """The user behind a valid (known, unexpired, unrevoked) token."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(clear)))
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    if not token.user.active:
        return None
    return token.user, token


# --- language ---------------------------------------------------------------------------------


def available_locales(folder: Path | None = None) -> dict[str, str]:
    """The languages a user may choose: French (the pages' own language) always, and each
    language with a compiled catalog in ``core/translations/<code>/LC_MESSAGES/messages.mo``
    (named in its own language by Babel)."""
    from babel import Locale, UnknownLocaleError

    folder = folder or Path(__file__).resolve().parent.parent / "translations"
    found = {"fr": "Français"}
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if entry.name == "fr" or not (entry / "LC_MESSAGES" / "messages.mo").is_file():
            continue
        try:
            name = Locale.parse(entry.name).get_display_name() or entry.name
        except (ValueError, UnknownLocaleError):
            continue
        found[entry.name] = name[:1].upper() + name[1:]
    return found


#: The languages a user may choose for their pages (``User.locale``): only those with a
#: catalog (choosing a language without one would change nothing).
LOCALES: dict[str, str] = available_locales()


def user_locale() -> str:
    """Flask-Babel's locale selector: the logged-in user's language, else the default."""
    default = current_app.config.get("BABEL_DEFAULT_LOCALE") or "fr"
    if has_request_context() and current_user.is_authenticated:
        locale = getattr(current_user, "locale", None)
        if locale in LOCALES:
            return locale
    return default


# --- invitations and password reset links ------------------------------------------------------

#: A user who has not chosen a password yet (an invitation): no password ever matches it.
UNUSABLE_PASSWORD = "!"  # noqa: S105 - not a password: werkzeug cannot parse it, nothing matches

INVITATION = "invitation"
RESET = "password_reset"
#: How long a link stays valid (seconds): an invitation 7 days, a reset link 1 hour.
LINK_MAX_AGE = {INVITATION: 7 * 24 * 3600, RESET: 3600}
_SALTS = {INVITATION: "classeur.invitation", RESET: "classeur.password-reset"}
#: Reset e-mails sent to one address per hour at most (on top of the per-address throttle).
RESET_MAILS_PER_HOUR = 3


def _seconds(value: datetime | None) -> int:
    return int(value.timestamp()) if value is not None else 0


def _fingerprint(user: User) -> str:
    """What a link is bound to: it is void once the password changes (single use) or a newer
    invitation is sent."""
    raw = f"{user.password_hash}|{_seconds(user.password_changed_at)}|{_seconds(user.invited_at)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALTS[purpose])


def make_link_token(user: User, purpose: str) -> str:
    """A signed token for an invitation or a password reset link."""
    return str(_serializer(purpose).dumps({"u": user.id, "f": _fingerprint(user)}))


def user_for_link(token: str, purpose: str) -> User:
    """The user a link was made for; :class:`AuthError` when it is forged, expired, already
    used, or the account is deactivated."""
    try:
        data = _serializer(purpose).loads(token, max_age=LINK_MAX_AGE[purpose])
    except SignatureExpired as exc:
        raise AuthError(
            "Ce lien a expiré : demandez-en un nouveau."
            if purpose == RESET
            else "Cette invitation a expiré : demandez à l'administrateur de vous la renvoyer."
        ) from exc
    except BadSignature as exc:
        raise AuthError("Ce lien n'est pas valide.") from exc
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        raise AuthError("Ce lien n'est plus valide : il a déjà servi ou a été remplacé.")
    if purpose == INVITATION and user.invited_at is None:
        raise AuthError("Cette invitation a déjà été acceptée : connectez-vous.")
    return user


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for an e-mail: on ``PUBLIC_URL`` when it is set, else on the
    request's address (commands without a request: http://127.0.0.1:8000)."""
    public = str(current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if has_request_context():
        if public:
            return public + url_for(endpoint, **values)
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=public or "http://127.0.0.1:8000"):
        return url_for(endpoint, _external=True, **values)


def set_password(user: User, password: str) -> None:
    """Give ``user`` a new password (the policy applies); every earlier link becomes void."""
    check_password_policy(password)
    user.password_hash = _hash_password(password)
    user.password_changed_at = utcnow()
    user.invited_at = None


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """The account page's change: the current password, then the new one twice."""
    if not check_password_hash(user.password_hash, current or ""):
        raise AuthError("Le mot de passe actuel est incorrect.", "current")
    if new != confirm:
        raise AuthError("Les deux nouveaux mots de passe ne sont pas identiques.", "confirm")
    if new == current:
        raise AuthError("Le nouveau mot de passe doit être différent de l'actuel.", "password")
    set_password(user, new)


def request_password_reset(email: str) -> bool:
    """Queue a reset e-mail if an active account has this address (and it did not receive
    too many already this hour). The caller always answers the same, whatever happened."""
    from core.mail.models import OutgoingMail
    from core.mail.services import queue_mail

    try:
        email = normalise_email(email)
    except AuthError:
        return False
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.active:
        return False
    recent = db.session.scalar(
        select(func.count())
        .select_from(OutgoingMail)
        .where(
            OutgoingMail.kind == RESET,
            OutgoingMail.user_id == user.id,
            OutgoingMail.created_at >= utcnow() - timedelta(hours=1),
        )
    )
    if (recent or 0) >= RESET_MAILS_PER_HOUR:
        return False
    firm_id = min((m.firm_id for m in user.memberships), default=None)
    queue_mail(
        user.email,
        "Classeur : réinitialisation de votre mot de passe",
        "password_reset",
        firm_id=firm_id,
        user_id=user.id,
        kind=RESET,
        name=user.name,
        link=external_url("auth.reset_password", token=make_link_token(user, RESET)),
        minutes=LINK_MAX_AGE[RESET] // 60,
    )
    return True


# --- the firm's users ----------------------------------------------------------------------------

#: Roles as a person reads them.
ROLE_LABELS: dict[str, Any] = {
    "admin": _l("Administrateur"),
    "accountant": _l("Collaborateur comptable"),
    "uploader": _l("Client (dépôt de pièces)"),
}


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise AuthError(f"Rôle inconnu : {value}.", "role") from exc


def _firm_companies(firm: Firm, companies: list[Company] | None) -> list[Company]:
    chosen = list(companies or [])
    if any(c.firm_id != firm.id for c in chosen):
        raise AuthError("Entreprise inconnue.", "companies")
    return chosen


def membership_of(user_id: int, firm_id: int) -> Membership | None:
    """The membership of a user in a firm (None: not one of its users)."""
    return db.session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.firm_id == firm_id)
    )


def firm_memberships(firm_id: int) -> list[Membership]:
    """The firm's users (memberships with their user), by name then address."""
    rows = db.session.scalars(
        select(Membership).join(User).where(Membership.firm_id == firm_id).order_by(User.email)
    ).all()
    return sorted(rows, key=lambda m: ((m.user.name or m.user.email).lower(), m.user.email))


def active_admin_count(firm_id: int, *, besides: int | None = None) -> int:
    """Active admins of the firm (leaving out the user ``besides``)."""
    stmt = (
        select(func.count())
        .select_from(Membership)
        .join(User)
        .where(Membership.firm_id == firm_id, Membership.role == Role.ADMIN, User.active)
    )
    if besides is not None:
        stmt = stmt.where(User.id != besides)
    return int(db.session.scalar(stmt) or 0)


def ensure_an_admin_left(membership: Membership, field: str = "role") -> None:
    """Refuse (``AuthError`` on ``field``) to take the firm's last active admin away."""
    last = (
        membership.role == Role.ADMIN
        and membership.user.active
        and active_admin_count(membership.firm_id, besides=membership.user_id) == 0
    )
    if last:
        raise AuthError(
            "Le cabinet doit garder au moins un administrateur actif : nommez-en un autre avant.",
            field,
        )


def send_invitation(user: User, firm: Firm, *, invited_by: str = "") -> str:
    """(Re)send the invitation e-mail: a 7-day link to choose a password; the previous link
    becomes void. Returns the link (printed by the command for an operator without mail)."""
    from core.mail.services import queue_mail

    user.invited_at = utcnow()
    link = external_url("auth.accept_invitation", token=make_link_token(user, INVITATION))
    queue_mail(
        user.email,
        f"Invitation à rejoindre {firm.name} sur Classeur",
        "invitation",
        firm_id=firm.id,
        user_id=user.id,
        kind=INVITATION,
        name=user.name,
        firm_name=firm.name,
        invited_by=invited_by,
        link=link,
        days=LINK_MAX_AGE[INVITATION] // 86400,
    )
    return link


def invite_user(
    firm: Firm,
    email: str,
    role: Role | str,
    *,
    name: str = "",
    companies: list[Company] | None = None,
    invited_by: str = "",
) -> tuple[Membership, str | None]:
    """Invite a person into ``firm``: a new account without a password and an invitation
    e-mail; an existing account of another firm gets a membership here (its password is kept;
    it is told by e-mail). Returns the membership and the invitation link (None for an
    existing account). Flushes; the caller commits."""
    from core.mail.services import queue_mail

    email = normalise_email(email)
    role = _role(role)
    chosen = _firm_companies(firm, companies) if role == Role.UPLOADER else []
    name = (name or "").strip()[:200]
    user = db.session.scalar(select(User).where(User.email == email))
    link = None
    if user is not None:
        if membership_of(user.id, firm.id) is not None:
            raise AuthError("Cette personne fait déjà partie du cabinet.", "email")
        if not user.active:
            raise AuthError("Ce compte est désactivé : il ne peut pas être invité.", "email")
        membership = Membership(firm=firm, role=role, companies=chosen)
        user.memberships.append(membership)
        db.session.flush()
        queue_mail(
            user.email,
            f"Vous avez accès à {firm.name} sur Classeur",
            "added_to_firm",
            firm_id=firm.id,
            user_id=user.id,
            kind="added_to_firm",
            name=user.name,
            firm_name=firm.name,
            invited_by=invited_by,
            link=external_url("auth.login"),
        )
    else:
        user = User(email=email, name=name, password_hash=UNUSABLE_PASSWORD)
        membership = Membership(firm=firm, role=role, companies=chosen)
        user.memberships.append(membership)
        db.session.add(user)
        db.session.flush()
        link = send_invitation(user, firm, invited_by=invited_by)
    from core.auth.audit import audit

    audit(
        "user_invited" if link else "user_added",
        target=f"user:{user.id}",
        details={"email": email, "role": str(role)},
        firm_id=firm.id,
    )
    db.session.flush()
    return membership, link


def update_membership(
    membership: Membership, role: Role | str, companies: list[Company] | None = None
) -> bool:
    """Change a user's role (and an uploader's companies) in the firm; the last active admin
    keeps the role. Returns whether anything changed. Flushes; the caller commits."""
    from core.auth.audit import audit

    role = _role(role)
    chosen = _firm_companies(membership.firm, companies) if role == Role.UPLOADER else []
    if role != membership.role:
        ensure_an_admin_left(membership)
    before = (membership.role, sorted(c.id for c in membership.companies))
    if before == (role, sorted(c.id for c in chosen)):
        return False
    old_role = membership.role
    membership.role = role
    membership.companies = chosen
    audit(
        "user_role_changed",
        target=f"user:{membership.user_id}",
        details={"role": str(role), "old_role": str(old_role), "companies": [c.id for c in chosen]},
        firm_id=membership.firm_id,
    )
    db.session.flush()
    return True


def deactivate_member(membership: Membership) -> str:
    """Take a user's access to the firm away. An account of this firm only is deactivated
    (it cannot log in nor use its tokens; nothing is deleted; it can be reactivated); an
    account that also belongs to another firm only loses its membership here (the other firm
    is not touched). Returns ``"deactivated"`` or ``"removed"``."""
    from core.auth.audit import audit

    ensure_an_admin_left(membership, "active")
    user = membership.user
    others = [m for m in user.memberships if m.firm_id != membership.firm_id]
    target = f"user:{user.id}"
    if others:
        audit(
            "user_removed", target=target, details={"email": user.email}, firm_id=membership.firm_id
        )
        user.memberships.remove(membership)
        db.session.delete(membership)
        db.session.flush()
        return "removed"
    if user.active:
        user.active = False
        audit("user_deactivated", target=target, firm_id=membership.firm_id)
    db.session.flush()
    return "deactivated"


def reactivate_member(membership: Membership) -> None:
    """Give a deactivated user of the firm access again."""
    from core.auth.audit import audit

    user = membership.user
    if not user.active:
        user.active = True
        audit("user_reactivated", target=f"user:{user.id}", firm_id=membership.firm_id)
        db.session.flush()
