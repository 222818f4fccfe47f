"""Several firms per instance: the operator, `classeur firms`, the operator's page and API, and
what a disabled firm's members meet (login, session, API token) — nothing of it deleted."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.db import db
from tests.conftest import Auth
from tests.mail_fixtures import mail_outbox_fixture  # noqa: F401

PASSWORD = "motdepasse-solide-1"


# --- helpers ---------------------------------------------------------------------------------


def _operator(app: Any, email: str = "ops@plateforme.fr") -> Any:
    from core.operator.services import create_operator

    with app.app_context():
        user, created = create_operator(email, PASSWORD, name="Opé")
        db.session.commit()
        assert created
        user.password = PASSWORD
        return user


def _firm(app: Any, firm_id: int) -> Any:
    from core.tenancy.models import Firm

    with app.app_context():
        firm = db.session.get(Firm, firm_id)
        db.session.expunge(firm)
        return firm


def _audit_actions(app: Any, firm_id: int) -> list[str]:
    from core.auth.models import AuditEvent

    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.firm_id == firm_id, AuditEvent.action.like("firm_%"))
                .order_by(AuditEvent.id)
            )
        )


def _cli(app: Any, *args: str) -> Any:
    """Run ``classeur ARGS`` in process on the test app's database and data folder."""
    from core.cli import main

    env = {
        "CLASSEUR_DATA_DIR": app.config["DATA_DIR"],
        "CLASSEUR_DATABASE_URL": app.config["DATABASE_URL"],
        "CLASSEUR_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


# --- the command -----------------------------------------------------------------------------


def test_cli_firms_create_list_disable_enable(app: Any, factory: Any) -> None:
    from core.auth.models import User
    from core.tenancy.models import Firm, Membership

    first = factory.firm("Mon cabinet")
    company = factory.company(first, code="DUP01")
    binder = factory.binder(company)
    factory.document(binder, content=b"%PDF-1.4 " + b"x" * 991)  # 1 000 bytes
    factory.user(first, "admin", email="admin@premier.fr")

    out = _cli(app, "firms", "create", "Cabinet Durand", "--admin-email", "Boss@Durand.fr")
    assert out.exit_code == 0, out.output
    assert "created: Cabinet Durand" in out.output and "boss@durand.fr" in out.output
    with app.app_context():
        durand = db.session.scalar(select(Firm).where(Firm.name == "Cabinet Durand"))
        admin = db.session.scalar(select(User).where(User.email == "boss@durand.fr"))
        roles = [(m.firm_id, str(m.role)) for m in admin.memberships]
    assert roles == [(durand.id, "admin")]

    # A name taken (case and spaces aside) and a bad address are refused, nothing created.
    again = _cli(app, "firms", "create", "  cabinet   DURAND ")
    assert again.exit_code == 1 and "Un cabinet « cabinet DURAND » existe déjà." in again.output
    bad = _cli(app, "firms", "create", "Cabinet Z", "--admin-email", "pas-une-adresse")
    assert bad.exit_code == 1 and "Adresse e-mail invalide." in bad.output
    with app.app_context():
        assert db.session.scalar(select(Firm).where(Firm.name == "Cabinet Z")) is None

    listing = _cli(app, "firms", "list").output.splitlines()
    row = next(line for line in listing if "Mon cabinet" in line).split()
    # id, name (2 words), active, users, companies, documents, storage
    assert row[0] == str(first.id) and row[3:8] == ["yes", "1", "1", "1", "1000"]
    assert any("Cabinet Durand" in line and " yes " in line for line in listing)

    assert "disabled" in _cli(app, "firms", "disable", "Cabinet Durand").output
    assert "already disabled" in _cli(app, "firms", "disable", str(durand.id)).output
    assert not _firm(app, durand.id).active and _firm(app, durand.id).disabled_at is not None
    assert any(
        "Cabinet Durand" in line and " no " in line
        for line in _cli(app, "firms", "list").output.splitlines()
    )
    unknown = _cli(app, "firms", "disable", "Cabinet Inconnu")
    assert unknown.exit_code == 1 and "No firm 'Cabinet Inconnu'" in unknown.output
    assert "enabled" in _cli(app, "firms", "enable", "cabinet durand").output
    assert _firm(app, durand.id).active and _firm(app, durand.id).disabled_at is None
    assert _audit_actions(app, durand.id) == ["firm_created", "firm_disabled", "firm_enabled"]
    with app.app_context():  # the membership survived the round trip
        assert db.session.scalar(select(Membership).where(Membership.firm_id == durand.id))


def test_cli_operators_and_users_create_operator(app: Any, factory: Any) -> None:
    from core.auth.models import User

    firm = factory.firm("Mon cabinet")
    out = _cli(app, "operators", "create", "ops@plateforme.fr")
    assert out.exit_code == 0 and "operator ops@plateforme.fr created" in out.output
    password = next(line.split()[-1] for line in out.output.splitlines() if "password:" in line)
    assert len(password) >= 12
    made = _cli(
        app,
        "users",
        "create",
        "--email",
        "chef@cabinet.fr",
        "--password",
        "tres-secret-42",
        "--firm",
        str(firm.id),
        "--role",
        "admin",
        "--operator",
    )
    assert made.exit_code == 0 and "operator" in made.output, made.output
    assert _cli(app, "operators", "list").output.split() == ["chef@cabinet.fr", "ops@plateforme.fr"]
    with app.app_context():
        ops = db.session.scalar(select(User).where(User.email == "ops@plateforme.fr"))
        assert ops.is_operator and ops.memberships == []
    # The operator logs in with the printed password and lands on the operator's page.
    client = app.test_client()
    answer = client.post(
        "/login", data={"email": "ops@plateforme.fr", "password": password}, follow_redirects=True
    )
    assert answer.request.path == "/operator"
    assert "Cabinets de la plateforme" in answer.get_data(as_text=True)


def test_init_demo_creates_the_demo_operator_once(tmp_path: Any) -> None:
    from core.cli import main

    env = {"CLASSEUR_DATA_DIR": str(tmp_path / "var"), "CLASSEUR_DATABASE_URL": ""}
    runner = CliRunner()
    first = runner.invoke(main, ["init", "--demo"], env=env, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "operateur@classeur.local" in first.output
    lines = first.output.splitlines()
    # The admin's password comes first (what the README and tools read), the operator's after.
    assert "password:" in next(line for line in lines if "password:" in line)
    assert "operator password:" in "\n".join(lines)
    again = runner.invoke(main, ["init", "--demo"], env=env, catch_exceptions=False)
    assert "operateur@classeur.local" not in again.output


# --- the operator's page ---------------------------------------------------------------------


def test_operator_page_lists_figures_never_content(app: Any, factory: Any) -> None:
    firm = factory.firm("Cabinet Figures")
    company = factory.company(firm, name="Entreprise Secrète", code="SEC01")
    binder = factory.binder(company)
    factory.document(binder, filename="zygomatique-confidentiel.pdf", content=b"%PDF" + b"1" * 1996)
    factory.document(binder, filename="autre.pdf", content=b"%PDF" + b"2" * 496)
    factory.user(firm, "accountant", email="compta@figures.fr")
    factory.firm("Cabinet Vide")
    client = app.test_client()
    Auth(client).login(_operator(app))

    page = client.get("/operator")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    import re

    row = re.search(rf'<tr data-firm="{firm.id}">.*?</tr>', html, re.S).group(0)
    cells = dict(re.findall(r'data-col="([a-z-]+)"[^>]*>([^<]*)<', row))
    assert cells["users"] == "1" and cells["companies"] == "1" and cells["documents"] == "2"
    assert 'data-bytes="2500"' in row and cells["storage"].split() == ["2,5", "ko"]
    assert cells["last-activity"] != "—"
    assert "Cabinet Vide" in html
    assert "zygomatique" not in html and "autre.pdf" not in html

    detail = client.get(f"/operator/firms/{firm.id}").get_data(as_text=True)
    assert "compta@figures.fr" in detail and "Entreprise Secrète" in detail and "SEC01" in detail
    assert "zygomatique" not in detail and "texte" not in detail
    assert 'id="modules"' in detail  # the firm's module switches, read only
    assert client.get("/operator/firms/999999").status_code == 404


def test_operator_creates_a_firm_and_its_admin_is_invited(app: Any, mail_outbox: Any) -> None:
    from core.tenancy.models import Firm

    client = app.test_client()
    Auth(client).login(_operator(app))
    answer = client.post(
        "/operator", data={"name": "Cabinet Neuf", "admin_email": "patron@neuf.fr"}
    )
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Cabinet « Cabinet Neuf » créé" in page and "patron@neuf.fr" in page
    sent = mail_outbox.deliver()
    assert [m["To"] for m in sent] == ["patron@neuf.fr"]
    with app.app_context():
        firm = db.session.scalar(select(Firm).where(Firm.name == "Cabinet Neuf"))
    assert _audit_actions(app, firm.id) == ["firm_created"]

    # Refused, with the reason beside the field, and nothing created.
    twice = client.post("/operator", data={"name": "cabinet neuf", "admin_email": ""})
    assert twice.status_code == 422
    assert "Un cabinet « cabinet neuf » existe déjà." in twice.get_data(as_text=True)
    empty = client.post("/operator", data={"name": "", "admin_email": "pas-une-adresse"})
    assert empty.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count(Firm.id))) == 1


def test_operator_disables_and_enables_from_the_page(app: Any, factory: Any) -> None:
    firm = factory.firm("Cabinet Pause")
    client = app.test_client()
    Auth(client).login(_operator(app))
    page = client.post(f"/operator/firms/{firm.id}/disable", follow_redirects=True)
    assert "Cabinet « Cabinet Pause » désactivé" in page.get_data(as_text=True)
    assert 'id="firm-disabled"' in page.get_data(as_text=True)
    assert not _firm(app, firm.id).active
    page = client.post(f"/operator/firms/{firm.id}/enable", follow_redirects=True)
    assert 'id="firm-active"' in page.get_data(as_text=True)
    assert _audit_actions(app, firm.id) == ["firm_disabled", "firm_enabled"]
    # The firm's own audit log names them in French, the operator as their author.
    admin_client = app.test_client()
    Auth(admin_client).login(factory.user(firm, "admin"))
    log = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "Cabinet désactivé" in log and "Cabinet réactivé" in log
    assert "ops@plateforme.fr" in log and "firm_disabled" not in log


@pytest.mark.parametrize("role", ["admin", "accountant", "uploader"])
def test_firm_members_cannot_reach_the_operator(app: Any, factory: Any, role: str) -> None:
    firm = factory.firm()
    other = factory.firm("Cabinet Autre")
    company = factory.company(firm)
    user = factory.user(firm, role, companies=[company] if role == "uploader" else None)
    client = app.test_client()
    Auth(client).login(user)
    for path in ("/operator", f"/operator/firms/{other.id}", "/api/v1/operator/firms"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/operator/firms/{other.id}/disable").status_code == 403
    assert client.post("/operator", data={"name": "Intrus"}).status_code == 403
    token = factory.token(user, scopes=("read", "write", "admin") if role == "admin" else ("read",))
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/operator/firms", headers=bearer).status_code == 403
    assert _firm(app, other.id).active
    anonymous = app.test_client().get("/operator")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_operator_api(app: Any, factory: Any) -> None:
    firm = factory.firm("Cabinet Api")
    operator = _operator(app)
    read_only = {"Authorization": f"Bearer {factory.token(operator, scopes=('read',))}"}
    admin = {"Authorization": f"Bearer {factory.token(operator, scopes=('read', 'admin'))}"}
    client = app.test_client()
    assert client.get("/api/v1/operator/firms", headers=read_only).status_code == 403
    listed = client.get("/api/v1/operator/firms", headers=admin).get_json()
    assert [(f["name"], f["active"], f["documents"]) for f in listed] == [("Cabinet Api", True, 0)]
    made = client.post("/api/v1/operator/firms", headers=admin, json={"name": "Cabinet Json"})
    assert made.status_code == 201 and made.get_json()["name"] == "Cabinet Json"
    dup = client.post("/api/v1/operator/firms", headers=admin, json={"name": "cabinet json"})
    assert dup.status_code == 409 and dup.get_json()["error"]["field"] == "name"
    assert dup.get_json()["error"]["message"] == "Un cabinet « cabinet json » existe déjà."
    missing = client.post("/api/v1/operator/firms", headers=admin, json={}).get_json()
    assert (missing["error"]["field"], missing["error"]["message"]) == (
        "name",
        "name : Champ obligatoire.",
    )
    with_admin = client.post(
        "/api/v1/operator/firms",
        headers=admin,
        json={"name": "Cabinet Trois", "admin_email": "Chef@Trois.fr"},
    ).get_json()
    assert with_admin["admin"]["email"] == "chef@trois.fr"
    assert with_admin["admin"]["access"] == "invited" and with_admin["users"] == 1
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/operator/firms", "/api/v1/operator/firms/{firm_id}/disable"} <= set(
        spec["paths"]
    )
    off = client.post(f"/api/v1/operator/firms/{firm.id}/disable", headers=admin).get_json()
    assert off["active"] is False
    on = client.post(f"/api/v1/operator/firms/{firm.id}/enable", headers=admin).get_json()
    assert on["active"] is True
    assert client.post("/api/v1/operator/firms/999999/disable", headers=admin).status_code == 404


# --- a disabled firm -------------------------------------------------------------------------


def _disable(app: Any, firm_id: int, enabled: bool = False) -> None:
    from core.tenancy.models import Firm
    from core.tenancy.services import disable_firm, enable_firm

    with app.app_context():
        firm = db.session.get(Firm, firm_id)
        (enable_firm if enabled else disable_firm)(firm)
        db.session.commit()


def test_disabled_firm_member_is_refused_at_login(app: Any, factory: Any) -> None:
    firm = factory.firm("Cabinet Fermé")
    user = factory.user(firm, "admin", email="chef@ferme.fr")
    _disable(app, firm.id)
    client = app.test_client()
    page = client.post(
        "/login", data={"email": user.email, "password": user.password}, follow_redirects=True
    )
    assert page.status_code == 403 and page.request.path == "/login"
    assert "Le cabinet Cabinet Fermé est désactivé" in page.get_data(as_text=True)
    from core.auth.models import AuditEvent, User

    with app.app_context():  # not logged in: no login recorded, no last login moved
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login")) is None
        assert db.session.get(User, user.id).last_login_at is None
    answer = client.get("/companies")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_disabled_firm_session_and_token_stop_then_enable_restores(app: Any, factory: Any) -> None:
    firm = factory.firm("Cabinet Suspendu")
    company = factory.company(firm, name="Boulangerie Suspendue", code="SUS01")
    binder = factory.binder(company)
    document = factory.document(binder, filename="facture-suspendue.pdf")
    user = factory.user(firm, "accountant")
    token = factory.token(user)
    bearer = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    Auth(client).login(user)
    assert client.get("/companies").status_code == 200
    assert client.get("/api/v1/companies", headers=bearer).status_code == 200

    _disable(app, firm.id)
    page = client.get("/companies", follow_redirects=True)
    assert page.request.path == "/login"
    assert "Le cabinet Cabinet Suspendu est désactivé" in page.get_data(as_text=True)
    refused = app.test_client().get("/api/v1/companies", headers=bearer)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "firm_disabled"
    assert "Cabinet Suspendu est désactivé" in refused.get_json()["error"]["message"]
    refused = app.test_client().get(f"/api/v1/documents/{document.id}", headers=bearer)
    assert refused.status_code == 403

    _disable(app, firm.id, enabled=True)
    back = app.test_client().get(f"/api/v1/documents/{document.id}", headers=bearer)
    assert back.status_code == 200 and back.get_json()["filename"] == "facture-suspendue.pdf"
    Auth(client).login(user)
    assert "Boulangerie Suspendue" in client.get("/companies").get_data(as_text=True)


def test_a_member_of_two_firms_keeps_the_active_one(app: Any, factory: Any) -> None:
    from core.auth.models import User
    from core.tenancy.models import Firm, Membership

    closed = factory.firm("Cabinet Fermé")
    factory.company(closed, name="Société Fermée", code="FER01")
    open_ = factory.firm("Cabinet Ouvert")
    factory.company(open_, name="Société Ouverte", code="OUV01")
    user = factory.user(closed, "admin", email="double@cabinets.fr")
    with app.app_context():
        row = db.session.get(User, user.id)
        row.memberships.append(Membership(firm=db.session.get(Firm, open_.id), role="admin"))
        db.session.commit()
    client = app.test_client()
    Auth(client).login(user)
    assert "Société Fermée" in client.get("/companies").get_data(as_text=True)
    _disable(app, closed.id)
    html = client.get("/companies").get_data(as_text=True)
    assert "Société Ouverte" in html and "Société Fermée" not in html
