"""API v1: the firm's users (``users.manage``: an admin, a token with the ``admin`` scope) —
list, invite, change role and companies, deactivate / reactivate, re-send an invitation.
The same services as Administration → Utilisateurs."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import select

from core.auth import services as users_svc
from core.auth.audit import audit
from core.auth.permissions import requires
from core.db import db
from core.tenancy.models import Company, Membership
from core.tenancy.scoping import current_membership

bp = Blueprint(
    "api_users",
    __name__,
    url_prefix="/api/v1/users",
    description="The firm's users: invitations, roles, companies of an uploader, deactivation",
)

ROLES = ("admin", "accountant", "uploader")


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String(metadata={"description": "admin, accountant or uploader"})
    company_ids = fields.List(
        fields.Integer(), metadata={"description": "An uploader's companies (else empty)."}
    )
    state = fields.String(
        metadata={
            "description": "active; invited (no password chosen yet); inactive; removed (an "
            "account shared with another firm, taken out of this one)"
        }
    )
    invited_at = fields.DateTime(allow_none=True)
    last_login_at = fields.DateTime(allow_none=True)


class InviteSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    company_ids = fields.List(
        fields.Integer(), load_default=list, validate=validate.Length(max=500)
    )


class UserUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    role = fields.String(validate=validate.OneOf(ROLES))
    company_ids = fields.List(fields.Integer(), validate=validate.Length(max=500))
    active = fields.Boolean(
        metadata={"description": "false: deactivate (or leave the firm, for a shared account)"}
    )


def _fail(exc: users_svc.AuthError, status: int = 422) -> None:
    db.session.rollback()
    abort(status, message=exc.message, field=exc.field, code="invalid")


def _dump(membership: Membership, state: str | None = None) -> dict[str, Any]:
    user = membership.user
    if state is None:
        state = "inactive" if not user.active else "invited" if user.invited_at else "active"
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": str(membership.role),
        "company_ids": sorted(c.id for c in membership.companies),
        "state": state,
        "invited_at": user.invited_at,
        "last_login_at": user.last_login_at,
    }


def _companies(firm_id: int, ids: list[int]) -> list[Company]:
    wanted = set(ids)
    found = list(
        db.session.scalars(
            select(Company).where(Company.firm_id == firm_id, Company.id.in_(wanted))
        )
    )
    if len(found) != len(wanted):
        abort(422, message="Entreprise inconnue.", field="company_ids", code="invalid")
    return found


def _member(user_id: int) -> Membership:
    membership = users_svc.membership_of(user_id, current_membership().firm_id)
    if membership is None:
        abort(404, message="Utilisateur introuvable.")
    return membership


@bp.route("")
@requires("users.manage")
@bp.response(200, UserSchema(many=True))
def list_users() -> Any:
    """The firm's users."""
    return [_dump(m) for m in users_svc.firm_memberships(current_membership().firm_id)]


@bp.route("", methods=["POST"])
@requires("users.manage")
@bp.arguments(InviteSchema)
@bp.response(201, UserSchema)
def invite(data: dict[str, Any]) -> Any:
    """Invite a person by e-mail (a 7-day link to choose a password); an account of another
    firm gets a membership here, its password kept."""
    firm = current_membership().firm
    companies = _companies(firm.id, data["company_ids"]) if data["role"] == "uploader" else []
    try:
        membership, _link = users_svc.invite_user(
            firm,
            data["email"],
            data["role"],
            name=data["name"],
            companies=companies,
            invited_by=current_user.name or current_user.email,
        )
    except users_svc.AuthError as exc:
        _fail(exc, 409 if "déjà partie" in exc.message else 422)
    db.session.commit()
    return _dump(membership)


@bp.route("/<int:user_id>")
@requires("users.manage")
@bp.response(200, UserSchema)
def get_user(user_id: int) -> Any:
    """One user of the firm."""
    return _dump(_member(user_id))


@bp.route("/<int:user_id>", methods=["PATCH"])
@requires("users.manage")
@bp.arguments(UserUpdateSchema)
@bp.response(200, UserSchema)
def update_user(data: dict[str, Any], user_id: int) -> Any:
    """Change the role, an uploader's companies, or ``active`` (the firm's last active admin
    is kept: 422)."""
    membership = _member(user_id)
    try:
        if "role" in data or "company_ids" in data:
            role = data.get("role", str(membership.role))
            if "company_ids" in data:
                companies = _companies(membership.firm_id, data["company_ids"])
            else:
                companies = list(membership.companies)
            users_svc.update_membership(membership, role, companies)
        if data.get("active") is False:
            if users_svc.deactivate_member(membership) == "removed":
                db.session.commit()
                return {**_dump(membership, "removed"), "company_ids": []}
        elif data.get("active") is True:
            users_svc.reactivate_member(membership)
    except users_svc.AuthError as exc:
        _fail(exc)
    db.session.commit()
    return _dump(membership)


@bp.route("/<int:user_id>/invitation", methods=["POST"])
@requires("users.manage")
@bp.response(200, UserSchema)
def resend_invitation(user_id: int) -> Any:
    """Send the invitation again (a new link; the previous one becomes void). 409 when the
    person already chose a password."""
    membership = _member(user_id)
    user = membership.user
    if user.invited_at is None or not user.active:
        abort(409, message="Cet utilisateur a déjà choisi son mot de passe.", code="conflict")
    users_svc.send_invitation(
        user, membership.firm, invited_by=current_user.name or current_user.email
    )
    audit("invitation_resent", target=f"user:{user.id}")
    db.session.commit()
    return _dump(membership)
