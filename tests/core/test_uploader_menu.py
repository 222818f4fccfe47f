"""The uploader (a firm's client) sees its own menu (« Mon espace », « Notifications »,
« Mon compte »), not the staff's; the company's accounting/MEG tabs are refused to it and a
document's exports (MEG's technical messages) are not shown to it."""

from __future__ import annotations

from typing import Any

from core.db import db
from core.exports.models import ExportState, ExportStatus

STAFF_MENU = ("Tableau de bord", "Entreprises", "Bannettes", "Rechercher", "Recherches enregistr")


def _page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def _nav(html: str) -> str:
    return html[html.index('<nav class="sidebar"') : html.index("</nav>")]


def test_uploader_menu_is_its_space_notifications_account(
    app: Any, world: dict[str, Any], client: Any, auth: Any
) -> None:
    auth.login(world["a"]["uploader"])
    for url in ("/portal", "/notifications", "/account"):
        nav = _nav(_page(client, url))
        assert "Mon espace" in nav and "Notifications" in nav and "Mon compte" in nav
        for label in STAFF_MENU:
            assert label not in nav, (url, label)


def test_staff_menu_unchanged(app: Any, world: dict[str, Any], client: Any, auth: Any) -> None:
    auth.login(world["a"]["accountant"])
    nav = _nav(_page(client, "/notifications"))
    assert "Tableau de bord" in nav and "Entreprises" in nav and "Mon espace" not in nav


def test_accounting_tabs_refused_to_uploader(
    app: Any, world: dict[str, Any], client: Any, auth: Any
) -> None:
    company = world["a"]["companies"][0]  # the uploader's own company
    urls = [f"/companies/{company.id}/accounting"]
    with app.app_context():
        urls += [
            f"/companies/{company.id}/meg",
        ]
    auth.login(world["a"]["uploader"])
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert "Comptabilité" not in client.get(f"/companies/{company.id}").get_data(as_text=True)
    client.post("/logout")
    auth.login(world["a"]["accountant"])
    for url in urls:
        assert client.get(url, follow_redirects=True).status_code == 200, url


def test_document_exports_hidden_from_uploader(
    app: Any, world: dict[str, Any], factory: Any, client: Any, auth: Any
) -> None:
    a = world["a"]
    document = factory.document(a["binders"][0], state="validated")
    with app.app_context():
        db.session.add(
            ExportStatus(
                document_id=document.id,
                firm_id=a["firm"].id,
                connector="meg",
                state=ExportState.ERROR,
                message="HTTP 500 from MEG: Traceback zzqq",
            )
        )
        db.session.commit()
    auth.login(a["uploader"])
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "zzqq" not in page and 'id="exports"' not in page
    assert "zzqq" not in client.get(f"/documents/{document.id}/live").get_data(as_text=True)
    client.post("/logout")
    auth.login(a["accountant"])
    assert "zzqq" in _page(client, f"/documents/{document.id}")
