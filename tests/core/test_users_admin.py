"""Users from the pages: Administration → Utilisateurs (invitations, roles, companies,
deactivation, the last admin kept), the user's own page (name, language, password), the
forgotten password by e-mail, and the ``classeur users`` commands. Mail goes through a real
SMTP server (the ``mail_outbox`` fixture)."""

from __future__ import annotations

import re
import time
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from core.db import db
from tests.conftest import Auth
from tests.mail_fixtures import mail_outbox_fixture  # noqa: F401

LINK = re.compile(r"https?://\S+/(?:invitation|password/reset)/\S+")


class Person:
    """Credentials for :class:`tests.conftest.Auth`."""

    def __init__(self, email: str, password: str) -> None:
        self.email = email
        self.password = password


def _link(message: Any, outbox: Any) -> str:
    """The path of the link in a caught message (the test client speaks to the app)."""
    found = LINK.search(outbox.text(message))
    assert found, outbox.text(message)
    return urlsplit(found.group(0)).path


def _row(html: str, email: str) -> str:
    """The users table's row of ``email``."""
    found = re.search(rf'<tr data-user="{re.escape(email)}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {email}"
    return found.group(1)


def _user(app: Any, email: str) -> Any:
    from core.auth.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def _audit_actions(app: Any, firm_id: int) -> list[str]:
    from core.auth.models import AuditEvent

    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.firm_id == firm_id)
                .order_by(AuditEvent.id)
            )
        )


def _old_token(app: Any, user_id: int, purpose: str, age: int) -> str:
    """A link token signed ``age`` seconds ago."""
    from core.auth.models import User
    from core.auth.services import make_link_token

    real = TimestampSigner.get_timestamp
    with app.app_context():
        TimestampSigner.get_timestamp = lambda self: int(time.time()) - age  # type: ignore[method-assign]
        try:
            return make_link_token(db.session.get(User, user_id), purpose)
        finally:
            TimestampSigner.get_timestamp = real  # type: ignore[method-assign]


def test_invitation_end_to_end(app, client, factory, auth, mail_outbox):
    firm = factory.firm("Cabinet Invitant")
    company = factory.company(firm, name="Boulangerie Martin", code="BOUL")
    factory.company(firm, name="Garage Dupuis", code="GAR")
    admin = factory.user(firm, "admin", email="chef@cabinet.fr")
    auth.login(admin)

    page = client.get("/admin")
    assert 'href="/admin/users"' in page.get_data(as_text=True)
    answer = client.post(
        "/admin/users",
        data={
            "name": "Paul Martin",
            "email": "Paul.Martin@Boulangerie.fr",
            "role": "uploader",
            "companies": [str(company.id)],
        },
    )
    assert answer.status_code == 302
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "paul.martin@boulangerie.fr" in listing
    assert "Invitation envoyée le" in listing and "Boulangerie Martin" in listing
    assert "Garage Dupuis" not in _row(listing, "paul.martin@boulangerie.fr")

    invited = _user(app, "paul.martin@boulangerie.fr")
    assert invited.invited_at is not None and invited.password_changed_at is None
    # No usable password yet: nothing logs in.
    assert Auth(app.test_client()).login(Person(invited.email, "!")).status_code == 401

    [message] = mail_outbox.deliver()
    assert message["To"] == "paul.martin@boulangerie.fr"
    assert "Cabinet Invitant" in message["Subject"]
    text = mail_outbox.text(message)
    assert "Paul Martin" in text and "7 jours" in text
    path = _link(message, mail_outbox)

    visitor = app.test_client()
    form = visitor.get(path)
    assert form.status_code == 200 and "Choisir votre mot de passe" in form.get_data(as_text=True)
    weak = visitor.post(path, data={"password": "court", "confirm": "court"})
    assert weak.status_code == 422 and "au moins 10" in weak.get_data(as_text=True)
    mismatch = visitor.post(path, data={"password": "pain-frais-2026", "confirm": "autre-2026-x"})
    assert "pas identiques" in mismatch.get_data(as_text=True)
    done = visitor.post(path, data={"password": "pain-frais-2026", "confirm": "pain-frais-2026"})
    assert done.status_code == 302 and urlsplit(done.headers["Location"]).path == "/"
    assert visitor.get("/account").status_code == 200  # logged in

    # The link served once: refused the second time.
    again = app.test_client().get(path)
    assert again.status_code == 400
    assert "acceptée" in again.get_data(as_text=True) or "déjà servi" in again.get_data(
        as_text=True
    )
    assert (
        app.test_client().post(path, data={"password": "x" * 12 + "1", "confirm": "x" * 12 + "1"})
    ).status_code == 400

    fresh = app.test_client()
    assert Auth(fresh).login(Person(invited.email, "pain-frais-2026")).status_code == 302
    # An uploader sees its company only.
    assert "Garage Dupuis" not in fresh.get("/companies").get_data(as_text=True)
    listing = client.get("/admin/users").get_data(as_text=True)
    row = _row(listing, "paul.martin@boulangerie.fr")
    assert "Invitation envoyée" not in row and "Actif" in row
    actions = _audit_actions(app, firm.id)
    assert "user_invited" in actions and "invitation_accepted" in actions
    audit_page = client.get("/admin/audit").get_data(as_text=True)
    assert "Utilisateur invité" in audit_page and "Invitation acceptée" in audit_page


def test_invitation_link_expires_and_resending_voids_the_first(app, client, factory, auth):
    from core.auth.services import INVITATION

    firm = factory.firm()
    admin = factory.user(firm, "admin")
    auth.login(admin)
    client.post("/admin/users", data={"email": "nouveau@cabinet.fr", "role": "accountant"})
    user = _user(app, "nouveau@cabinet.fr")

    expired = _old_token(app, user.id, INVITATION, 8 * 24 * 3600)
    answer = app.test_client().get(f"/invitation/{expired}")
    assert answer.status_code == 400 and "expiré" in answer.get_data(as_text=True)
    recent = _old_token(app, user.id, INVITATION, 6 * 24 * 3600)
    assert app.test_client().get(f"/invitation/{recent}").status_code == 200

    forged = recent[:-3] + ("AAA" if not recent.endswith("AAA") else "BBB")
    assert app.test_client().get(f"/invitation/{forged}").status_code == 400

    time.sleep(1.1)  # the new invitation's time differs from the first by a second at least
    page = client.post(f"/admin/users/{user.id}/invitation")
    assert page.status_code == 302
    assert app.test_client().get(f"/invitation/{recent}").status_code == 400
    assert "invitation_resent" in _audit_actions(app, firm.id)


def test_password_reset_end_to_end(app, client, factory, mail_outbox):
    from core.auth.services import RESET

    firm = factory.firm()
    user = factory.user(firm, "accountant", email="oubli@cabinet.fr")
    login_page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in login_page and "Mot de passe oublié ?" in login_page

    same = "Si un compte existe pour cette adresse, un e-mail a été envoyé"
    for address in ("personne@nulle-part.fr", "OUBLI@cabinet.fr"):
        answer = client.post("/password/forgot", data={"email": address}, follow_redirects=True)
        assert same in answer.get_data(as_text=True)
    [message] = mail_outbox.deliver()
    assert message["To"] == "oubli@cabinet.fr"
    assert "60 minutes" in mail_outbox.text(message)
    path = _link(message, mail_outbox)

    visitor = app.test_client()
    done = visitor.post(path, data={"password": "nouveau-mdp-77", "confirm": "nouveau-mdp-77"})
    assert done.status_code == 302
    assert visitor.get("/account").status_code == 200
    assert Auth(app.test_client()).login(user).status_code == 401  # the old password
    relog = Auth(app.test_client()).login(Person(user.email, "nouveau-mdp-77"))
    assert relog.status_code == 302
    # Single use.
    reused = app.test_client().get(path)
    assert reused.status_code == 400 and "déjà servi" in reused.get_data(as_text=True)
    # One hour at most.
    stored = _user(app, user.email)
    late = _old_token(app, stored.id, RESET, 3700)
    assert "expiré" in app.test_client().get(f"/password/reset/{late}").get_data(as_text=True)
    # An invitation token is not a reset token (different salts).
    from core.auth.services import INVITATION

    other = _old_token(app, stored.id, INVITATION, 0)
    assert app.test_client().get(f"/password/reset/{other}").status_code == 400
    assert "password_reset" in _audit_actions(app, firm.id)


def test_reset_requests_are_throttled(app, client, factory, mail_outbox):
    from core.mail.models import OutgoingMail

    firm = factory.firm()
    factory.user(firm, "accountant", email="insistant@cabinet.fr")
    for _ in range(5):
        client.post("/password/forgot", data={"email": "insistant@cabinet.fr"})
    with app.app_context():
        sent = db.session.scalars(
            select(OutgoingMail).where(OutgoingMail.to_address == "insistant@cabinet.fr")
        ).all()
        assert len(sent) == 3  # per address and per hour
    # And per client address, as the login is.
    codes = [
        client.post("/password/forgot", data={"email": f"x{i}@example.fr"}).status_code
        for i in range(12)
    ]
    assert 429 in codes


def test_last_admin_is_kept(app, client, factory, auth):
    firm = factory.firm()
    admin = factory.user(firm, "admin", email="seul@cabinet.fr")
    auth.login(admin)

    demote = client.post(f"/admin/users/{admin.id}", data={"role": "accountant"})
    assert demote.status_code == 422
    assert "au moins un administrateur actif" in demote.get_data(as_text=True)
    deactivate = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "au moins un administrateur actif" in deactivate.get_data(as_text=True)
    assert _user(app, admin.email).active

    second = factory.user(firm, "admin", email="second@cabinet.fr")
    assert client.post(f"/admin/users/{admin.id}", data={"role": "accountant"}).status_code == 302
    # Now "second" is the last admin: demoted by the (former) admin? No: an accountant
    # cannot reach the page any more.
    assert client.get("/admin/users").status_code == 403
    other = app.test_client()
    Auth(other).login(second)
    refused = other.post(f"/admin/users/{second.id}/deactivate", follow_redirects=True)
    assert "au moins un administrateur actif" in refused.get_data(as_text=True)
    assert "user_role_changed" in _audit_actions(app, firm.id)


def test_role_companies_deactivate_and_reactivate(app, client, factory, auth):
    firm = factory.firm()
    c1 = factory.company(firm, name="Alpha SARL", code="ALPHA")
    c2 = factory.company(firm, name="Beta SAS", code="BETA")
    admin = factory.user(firm, "admin")
    member = factory.user(firm, "accountant", email="collab@cabinet.fr")
    token = factory.token(member)
    auth.login(admin)

    edit = client.get(f"/admin/users/{member.id}")
    assert edit.status_code == 200 and "collab@cabinet.fr" in edit.get_data(as_text=True)
    changed = client.post(
        f"/admin/users/{member.id}",
        data={"role": "uploader", "companies": [str(c2.id)]},
    )
    assert changed.status_code == 302
    from core.tenancy.models import Membership

    with app.app_context():
        m = db.session.scalar(select(Membership).where(Membership.user_id == member.id))
        assert m.role == "uploader" and [c.id for c in m.companies] == [c2.id]
    row = _row(client.get("/admin/users").get_data(as_text=True), "collab@cabinet.fr")
    assert "Beta SAS" in row and "Alpha SARL" not in row
    assert c1.id != c2.id

    member_client = app.test_client()
    assert Auth(member_client).login(member).status_code == 302
    h = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/companies", headers=h).status_code == 200

    assert client.post(f"/admin/users/{member.id}/deactivate").status_code == 302
    assert "Désactivé" in _row(client.get("/admin/users").get_data(as_text=True), member.email)
    # Logged out at the next request, refused at login, its token refused.
    assert member_client.get("/account").status_code == 302
    assert Auth(app.test_client()).login(member).status_code == 401
    assert app.test_client().get("/api/v1/companies", headers=h).status_code == 401

    assert client.post(f"/admin/users/{member.id}/reactivate").status_code == 302
    assert Auth(app.test_client()).login(member).status_code == 302
    actions = _audit_actions(app, firm.id)
    assert "user_deactivated" in actions and "user_reactivated" in actions
    assert "Utilisateur désactivé" in client.get("/admin/audit").get_data(as_text=True)


def test_another_firms_users_are_invisible_and_untouchable(app, client, world, auth):
    auth.login(world["a"]["admin"])
    listing = client.get("/admin/users").get_data(as_text=True)
    for key in ("admin", "accountant", "uploader"):
        assert world["a"][key].email in listing
        assert world["b"][key].email not in listing
    target = world["b"]["accountant"]
    assert client.get(f"/admin/users/{target.id}").status_code == 404
    assert client.post(f"/admin/users/{target.id}", data={"role": "admin"}).status_code == 404
    assert client.post(f"/admin/users/{target.id}/deactivate").status_code == 404
    assert client.post(f"/admin/users/{target.id}/invitation").status_code == 404
    assert _user(app, target.email).active
    # A company of firm B cannot be given to an uploader of firm A.
    uploader = world["a"]["uploader"]
    answer = client.post(
        f"/admin/users/{uploader.id}",
        data={"role": "uploader", "companies": [str(world["b"]["companies"][0].id)]},
    )
    assert answer.status_code == 422
    # Accountants and uploaders do not manage users.
    for key in ("accountant", "uploader"):
        other = app.test_client()
        Auth(other).login(world["a"][key])
        assert other.get("/admin/users").status_code == 403


def test_inviting_a_user_of_another_firm_adds_a_membership(app, client, world, auth, mail_outbox):
    from core.auth.models import User
    from core.tenancy.models import Membership

    shared = world["b"]["accountant"]
    auth.login(world["a"]["admin"])
    with app.app_context():
        users_before = db.session.scalar(select(func.count()).select_from(User))
    answer = client.post("/admin/users", data={"email": shared.email.upper(), "role": "accountant"})
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == users_before
        firms = set(
            db.session.scalars(select(Membership.firm_id).where(Membership.user_id == shared.id))
        )
        assert firms == {world["a"]["firm"].id, world["b"]["firm"].id}
    mail_outbox.deliver()
    [message] = mail_outbox.to(shared.email)
    assert "Cabinet A" in message["Subject"]
    assert not LINK.search(mail_outbox.text(message))  # no password link: it has one
    # Its password is kept.
    assert Auth(app.test_client()).login(shared).status_code == 302
    again = client.post("/admin/users", data={"email": shared.email, "role": "accountant"})
    assert again.status_code == 422 and "fait déjà partie" in again.get_data(as_text=True)

    # Taken out of firm A: firm B's membership and the account stay.
    page = client.get(f"/admin/users/{shared.id}").get_data(as_text=True)
    assert "Retirer du cabinet" in page
    assert client.post(f"/admin/users/{shared.id}/deactivate").status_code == 302
    with app.app_context():
        firms = set(
            db.session.scalars(select(Membership.firm_id).where(Membership.user_id == shared.id))
        )
        assert firms == {world["b"]["firm"].id}
        assert db.session.get(User, shared.id).active
    assert f'data-user="{shared.email}"' not in client.get("/admin/users").get_data(as_text=True)


def test_account_page_name_language_and_password(app, client, factory, auth):
    from flask_babel import get_locale
    from flask_login import login_user

    from core.auth.models import User

    firm = factory.firm()
    user = factory.user(firm, "accountant", email="moi@cabinet.fr")
    auth.login(user)
    page = client.get("/account").get_data(as_text=True)
    assert "Mon compte" in page and 'href="/account/tokens"' in page
    assert 'id="account-link" href="/account"' in page

    # Only French has a catalog: no choice offered, the others announced.
    assert "Autres langues : à venir" in page and 'name="locale" value="fr"' in page
    assert client.post("/account", data={"name": "x", "locale": "en"}).status_code == 422
    assert client.post("/account", data={"name": "Camille Moi", "locale": "fr"}).status_code == 302
    stored = _user(app, user.email)
    assert stored.name == "Camille Moi" and stored.locale == "fr"
    assert client.post("/account", data={"name": "x", "locale": "de"}).status_code == 422
    with app.test_request_context("/"):
        login_user(db.session.get(User, user.id))
        assert str(get_locale()) == "fr"
    with app.test_request_context("/"):
        assert str(get_locale()) == "fr"  # nobody logged in: the default

    wrong = client.post(
        "/account/password",
        data={"current": "pas-le-bon-1", "password": "tout-neuf-123", "confirm": "tout-neuf-123"},
    )
    assert wrong.status_code == 422 and "actuel est incorrect" in wrong.get_data(as_text=True)
    weak = client.post(
        "/account/password",
        data={"current": user.password, "password": "abcdefghijk", "confirm": "abcdefghijk"},
    )
    assert weak.status_code == 422 and "lettres et chiffres" in weak.get_data(as_text=True)
    ok = client.post(
        "/account/password",
        data={"current": user.password, "password": "tout-neuf-123", "confirm": "tout-neuf-123"},
    )
    assert ok.status_code == 302
    assert client.get("/account").status_code == 200  # still logged in
    assert Auth(app.test_client()).login(user).status_code == 401
    assert Auth(app.test_client()).login(Person(user.email, "tout-neuf-123")).status_code == 302
    assert _user(app, user.email).password_changed_at is not None
    assert "password_changed" in _audit_actions(app, firm.id)


def test_cli_invite_list_deactivate(app, factory):
    from click.testing import CliRunner

    from core.cli import main

    firm = factory.firm("Cabinet CLI")
    factory.company(firm, name="Client CLI", code="CLI01")
    factory.user(firm, "admin", email="admin@cli.fr")
    runner = CliRunner()
    env = {
        "CLASSEUR_DATA_DIR": app.config["DATA_DIR"],
        "CLASSEUR_DATABASE_URL": app.config["DATABASE_URL"],
        "CLASSEUR_SECRET_KEY": app.config["SECRET_KEY"],
    }
    invited = runner.invoke(
        main,
        ["users", "invite", "client@cli.fr", "--role", "uploader", "--company", "cli01"],
        env=env,
    )
    assert invited.exit_code == 0, invited.output
    link = re.search(r"/invitation/\S+", invited.output)
    assert link, invited.output
    assert app.test_client().get(link.group(0)).status_code == 200
    listing = runner.invoke(main, ["users", "list"], env=env)
    assert "client@cli.fr\tCabinet CLI\tuploader(CLI01)\tinvited" in listing.output
    last = runner.invoke(main, ["users", "deactivate", "admin@cli.fr"], env=env)
    assert last.exit_code != 0 and "administrateur actif" in last.output
    gone = runner.invoke(main, ["users", "deactivate", "client@cli.fr"], env=env)
    assert gone.exit_code == 0, gone.output
    assert not _user(app, "client@cli.fr").active
    assert (
        "client@cli.fr\tCabinet CLI\tuploader(CLI01)\tinactive"
        in runner.invoke(main, ["users", "list", "--firm", "Cabinet CLI"], env=env).output
    )
    bad = runner.invoke(
        main, ["users", "invite", "x@cli.fr", "--role", "admin", "--firm", "Nope"], env=env
    )
    assert bad.exit_code != 0


@pytest.mark.parametrize("path", ["/password/reset/abc", "/invitation/abc"])
def test_garbage_links_are_refused_in_french(client, path):
    answer = client.get(path)
    assert answer.status_code == 400
    assert "Ce lien n'est pas valide" in unescape(answer.get_data(as_text=True))


def test_an_operator_outside_the_firms_has_an_account_page(app, client):
    from core.operator.services import create_operator

    with app.app_context():
        create_operator("op@plateforme.fr", "operateur-solide-9", name="Op")
        db.session.commit()
    assert Auth(client).login(Person("op@plateforme.fr", "operateur-solide-9")).status_code == 302
    page = client.get("/account")
    assert page.status_code == 200 and "Opérateur" in page.get_data(as_text=True)
    changed = client.post(
        "/account/password",
        data={
            "current": "operateur-solide-9",
            "password": "operateur-neuf-10",
            "confirm": "operateur-neuf-10",
        },
    )
    assert changed.status_code == 302
    assert (
        Auth(app.test_client()).login(Person("op@plateforme.fr", "operateur-neuf-10")).status_code
        == 302
    )


def test_users_api(app, client, world, factory, mail_outbox):
    a = world["a"]
    admin_token = factory.token(a["admin"], scopes=("read", "write", "admin"))
    h = {"Authorization": f"Bearer {admin_token}"}
    api = app.test_client()

    listed = api.get("/api/v1/users", headers=h).get_json()
    assert {u["email"] for u in listed} == {a[k].email for k in ("admin", "accountant", "uploader")}
    # Without the admin scope, or for a non-admin: refused.
    plain = {"Authorization": f"Bearer {factory.token(a['admin'])}"}
    assert api.get("/api/v1/users", headers=plain).status_code == 403
    accountant = {
        "Authorization": f"Bearer {factory.token(a['accountant'], ('read', 'write', 'admin'))}"
    }
    assert api.get("/api/v1/users", headers=accountant).status_code == 403

    company = a["companies"][1]
    created = api.post(
        "/api/v1/users",
        json={"email": "api@client.fr", "role": "uploader", "company_ids": [company.id]},
        headers=h,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["state"] == "invited" and body["company_ids"] == [company.id]
    [message] = mail_outbox.deliver()
    assert message["To"] == "api@client.fr" and LINK.search(mail_outbox.text(message))

    foreign = api.post(
        "/api/v1/users",
        json={
            "email": "x@client.fr",
            "role": "uploader",
            "company_ids": [world["b"]["companies"][0].id],
        },
        headers=h,
    )
    assert foreign.status_code == 422 and foreign.get_json()["error"]["field"] == "company_ids"
    dup = api.post(
        "/api/v1/users", json={"email": a["accountant"].email, "role": "admin"}, headers=h
    )
    assert dup.status_code == 409

    uid = body["id"]
    changed = api.patch(f"/api/v1/users/{uid}", json={"role": "accountant"}, headers=h).get_json()
    assert changed["role"] == "accountant" and changed["company_ids"] == []
    off = api.patch(f"/api/v1/users/{uid}", json={"active": False}, headers=h).get_json()
    assert off["state"] == "inactive"
    on = api.patch(f"/api/v1/users/{uid}", json={"active": True}, headers=h).get_json()
    assert on["state"] == "invited"
    assert api.post(f"/api/v1/users/{uid}/invitation", headers=h).status_code == 200
    assert api.post(f"/api/v1/users/{a['accountant'].id}/invitation", headers=h).status_code == 409
    last = api.patch(f"/api/v1/users/{a['admin'].id}", json={"role": "uploader"}, headers=h)
    assert last.status_code == 422 and "administrateur actif" in last.get_json()["error"]["message"]

    b_user = world["b"]["accountant"]
    assert api.get(f"/api/v1/users/{b_user.id}", headers=h).status_code == 404
    assert (
        api.patch(f"/api/v1/users/{b_user.id}", json={"active": False}, headers=h).status_code
        == 404
    )
    assert _user(app, b_user.email).active
