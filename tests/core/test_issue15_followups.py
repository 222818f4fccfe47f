"""Issue 15 follow-ups: an API token bound to its firm, switching firms on the pages, who gets
notified, what an operator outside the firms sees, and small fixes (login of a deactivated
user, the last admin's refusal, the name of a firm's first admin)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from core.db import db
from tests.conftest import Auth

PASSWORD = "motdepasse-solide-1"


def _cli(app: Any, *args: str) -> Any:
    from core.cli import main

    env = {
        "CLASSEUR_DATA_DIR": app.config["DATA_DIR"],
        "CLASSEUR_DATABASE_URL": app.config["DATABASE_URL"],
        "CLASSEUR_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _join(app: Any, user: Any, firm: Any, role: str = "accountant") -> None:
    from core.auth.models import User
    from core.tenancy.models import Firm, Membership

    with app.app_context():
        row = db.session.get(User, user.id)
        row.memberships.append(Membership(firm=db.session.get(Firm, firm.id), role=role))
        db.session.commit()


def _disable(app: Any, firm_id: int) -> None:
    from core.tenancy.models import Firm
    from core.tenancy.services import disable_firm

    with app.app_context():
        disable_firm(db.session.get(Firm, firm_id))
        db.session.commit()


def _names(answer: Any) -> set[str]:
    body = answer.get_json()
    items = body["items"] if isinstance(body, dict) else body
    return {c["name"] for c in items}


# --- 1. a token acts only in the firm it was created in ---------------------------------------


def test_token_stays_in_its_firm_when_that_firm_is_disabled(app: Any, factory: Any) -> None:
    firm1 = factory.firm("Cabinet Un")
    factory.company(firm1, name="Société Un", code="UN001")
    firm2 = factory.firm("Cabinet Deux")
    factory.company(firm2, name="Société Deux", code="DEU01")
    dupuis = factory.user(firm2, "admin", email="dupuis@deux.fr")
    _join(app, dupuis, firm1)  # firm 2 is his first membership
    client = app.test_client()
    Auth(client).login(dupuis)
    page = client.get("/account/tokens")
    assert page.status_code == 200
    import re

    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    data = {"name": "lecture", "scope_read": "y", "days": "30"}
    if csrf:
        data["csrf_token"] = csrf.group(1)
    made = client.post("/account/tokens", data=data)
    assert made.status_code == 200
    from core.auth.models import ApiToken

    token = factory.token(dupuis, scopes=("read",))
    with app.app_context():
        rows = db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        assert [r.firm_id for r in rows] == [firm2.id, firm2.id]
    bearer = {"Authorization": f"Bearer {token}"}
    answer = app.test_client().get("/api/v1/companies", headers=bearer)
    assert answer.status_code == 200 and _names(answer) == {"Société Deux"}

    _disable(app, firm2.id)
    refused = app.test_client().get("/api/v1/companies", headers=bearer)
    assert refused.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "token_firm" and "désactivé" in error["message"]
    assert "Société Un" not in refused.get_data(as_text=True)


def test_token_refused_once_its_user_left_the_firm(app: Any, factory: Any) -> None:
    from core.tenancy.models import Membership

    firm1 = factory.firm("Cabinet Un")
    factory.company(firm1, name="Société Un", code="UN001")
    firm2 = factory.firm("Cabinet Deux")
    user = factory.user(firm2, "accountant", email="depart@deux.fr")
    _join(app, user, firm1)
    token = factory.token(user)
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/companies", headers=bearer).status_code == 200
    with app.app_context():
        db.session.delete(
            db.session.scalar(
                select(Membership).where(
                    Membership.user_id == user.id, Membership.firm_id == firm2.id
                )
            )
        )
        db.session.commit()
    refused = app.test_client().get("/api/v1/companies", headers=bearer)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "token_firm"
    assert "membre" in refused.get_json()["error"]["message"]


def test_cli_token_firm_and_operator_default_scopes(app: Any, factory: Any) -> None:
    from core.auth.models import ApiToken
    from core.operator.services import create_operator

    firm1 = factory.firm("Cabinet Un")
    firm2 = factory.firm("Cabinet Deux")
    user = factory.user(firm1, "admin", email="cli@un.fr")
    _join(app, user, firm2)
    assert (
        _cli(app, "tokens", "create", "--email", user.email, "--firm", str(firm2.id)).exit_code == 0
    )
    refused = _cli(app, "tokens", "create", "--email", user.email, "--firm", "999999")
    assert refused.exit_code != 0
    with app.app_context():
        create_operator("ops@plateforme.fr", PASSWORD, name="Opé")
        db.session.commit()
    result = _cli(app, "tokens", "create", "--email", "ops@plateforme.fr")
    assert result.exit_code == 0
    clear = result.output.strip().splitlines()[-1]
    with app.app_context():
        rows = db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        assert rows[0].firm_id == firm2.id and rows[0].scopes == "read write"
        assert rows[-1].firm_id is None and rows[-1].scopes == "read write admin"
    listed = app.test_client().get(
        "/api/v1/operator/firms", headers={"Authorization": f"Bearer {clear}"}
    )
    assert listed.status_code == 200


# --- 3. who gets notified --------------------------------------------------------------------


def test_notify_firm_skips_invited_and_deactivated_users(app: Any, factory: Any) -> None:
    from core.auth.models import User
    from core.db import utcnow
    from core.notifications.models import Notification
    from core.notifications.services import notify_firm

    firm = factory.firm("Cabinet Notif")
    active = factory.user(firm, "accountant", email="actif@notif.fr")
    invited = factory.user(firm, "accountant", email="invite@notif.fr")
    gone = factory.user(firm, "accountant", email="parti@notif.fr")
    with app.app_context():
        db.session.get(User, invited.id).invited_at = utcnow()
        db.session.get(User, gone.id).active = False
        db.session.commit()
        made = notify_firm(firm.id, "export_error", "Export en erreur")
        db.session.commit()
        assert {n.user_id for n in made} == {active.id}
        assert set(db.session.scalars(select(Notification.user_id))) == {active.id}


# --- 5. small fixes --------------------------------------------------------------------------


def test_deactivated_login_says_so_only_with_the_right_password(app: Any, factory: Any) -> None:
    from core.auth.models import User

    firm = factory.firm("Cabinet Login")
    factory.user(firm, "admin", email="chef@login.fr")
    user = factory.user(firm, "accountant", email="ancien@login.fr")
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    client = app.test_client()
    right = client.post("/login", data={"email": user.email, "password": user.password})
    assert right.status_code == 401
    assert "Ce compte est désactivé" in right.get_data(as_text=True)
    wrong = client.post("/login", data={"email": user.email, "password": "pas-le-bon-1"})
    assert wrong.status_code == 401
    html = wrong.get_data(as_text=True)
    assert "Ce compte est désactivé" not in html and "mot de passe incorrect" in html
    assert client.get("/companies").status_code == 302


def test_api_last_admin_refusal_names_active(app: Any, factory: Any) -> None:
    firm = factory.firm("Cabinet Seul")
    admin = factory.user(firm, "admin", email="seul@seul.fr")
    bearer = {"Authorization": f"Bearer {factory.token(admin, scopes=('read', 'write', 'admin'))}"}
    client = app.test_client()
    answer = client.patch(f"/api/v1/users/{admin.id}", json={"active": False}, headers=bearer)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == "active"
    answer = client.patch(f"/api/v1/users/{admin.id}", json={"role": "accountant"}, headers=bearer)
    assert answer.status_code == 422 and answer.get_json()["error"]["field"] == "role"


def test_cli_firms_create_names_the_admin(app: Any) -> None:
    from core.auth.models import User

    assert (
        _cli(app, "firms", "create", "Cabinet Nom", "--admin-email", "j.durand@nom.fr").exit_code
        == 0
    )
    result = _cli(
        app,
        "firms",
        "create",
        "Cabinet Autre",
        "--admin-email",
        "x@autre.fr",
        "--admin-name",
        "Xavier Autre",
    )
    assert result.exit_code == 0
    with app.app_context():
        names = {u.email: u.name for u in db.session.scalars(select(User))}
    assert names == {"j.durand@nom.fr": "j.durand", "x@autre.fr": "Xavier Autre"}


# --- 2. switching firms on the pages ---------------------------------------------------------


def test_member_of_two_firms_switches_and_sees_one_firm_at_a_time(app: Any, factory: Any) -> None:
    firm1 = factory.firm("Cabinet Alpha")
    factory.company(firm1, name="Société Alpha", code="ALP01")
    firm2 = factory.firm("Cabinet Beta")
    factory.company(firm2, name="Société Beta", code="BET01")
    other = factory.firm("Cabinet Gamma")
    factory.company(other, name="Société Gamma", code="GAM01")
    user = factory.user(firm1, "accountant", email="double@alpha.fr")
    _join(app, user, firm2)
    client = app.test_client()
    Auth(client).login(user)
    html = client.get("/companies").get_data(as_text=True)
    assert "Société Alpha" in html and "Société Beta" not in html
    assert 'id="menu-firm"' in html and "Cabinet Beta" in html
    assert 'id="account-firm"' in client.get("/account").get_data(as_text=True)

    switched = client.post("/account/firm", data={"firm_id": str(firm2.id)})
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/")
    html = client.get("/companies").get_data(as_text=True)
    assert "Société Beta" in html and "Société Alpha" not in html
    # Not a member of Gamma: refused, the firm stays Beta.
    refused = client.post("/account/firm", data={"firm_id": str(other.id)}, follow_redirects=True)
    assert "Cabinet inconnu ou désactivé" in refused.get_data(as_text=True)
    html = client.get("/companies").get_data(as_text=True)
    assert "Société Beta" in html and "Société Gamma" not in html and "Société Alpha" not in html
    # A disabled firm cannot be chosen either.
    _disable(app, firm1.id)
    client.post("/account/firm", data={"firm_id": str(firm1.id)})
    html = client.get("/companies").get_data(as_text=True)
    assert "Société Beta" in html and "Société Alpha" not in html
    assert 'id="menu-firm"' not in html  # one active firm left: no switch


def test_firm_switch_needs_csrf(app: Any, factory: Any) -> None:
    firm1 = factory.firm("Cabinet Alpha")
    firm2 = factory.firm("Cabinet Beta")
    user = factory.user(firm1, "admin", email="csrf@alpha.fr")
    _join(app, user, firm2)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    Auth(client).login(user)
    assert client.post("/account/firm", data={"firm_id": str(firm2.id)}).status_code == 400


# --- 4. an operator outside the firms --------------------------------------------------------


def test_operator_without_firm_sees_no_firm_links(app: Any) -> None:
    from core.operator.services import create_operator

    with app.app_context():
        operator, _ = create_operator("ops@plateforme.fr", PASSWORD, name="Opé")
        db.session.commit()
        operator.password = PASSWORD
    client = app.test_client()
    Auth(client).login(operator)
    html = client.get("/account").get_data(as_text=True)
    assert client.get("/account").status_code == 200
    assert 'id="notifications-link"' not in html
    assert "Mes notifications" not in html and "Jetons d&#39;API" not in html
    assert "Jetons d'API" not in html


def test_tokens_page_names_each_token_firm(app: Any, factory: Any) -> None:
    firm = factory.firm("Cabinet Jetons")
    user = factory.user(firm, "admin", email="jetons@cabinet.fr")
    factory.token(user)
    client = app.test_client()
    Auth(client).login(user)
    html = client.get("/account/tokens").get_data(as_text=True)
    assert "<th>Cabinet</th>" in html and "<td>Cabinet Jetons</td>" in html
