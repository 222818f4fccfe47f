"""In a real browser (CSRF on): the document page's « Renommer », « Archiver » and
« Désarchiver » as a person uses them, the action buttons in one row of one height, a refused
move shown as its reason, and the viewer kept in sight (sticky) with the box of a field clicked
low in the fields panel inside the window."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import LiveServer, login
from tests.browser.test_document_viewer import FIELDS
from tests.conftest import make_pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def app(app_config):
    from core.app import create_app
    from core.db import db

    application = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    application.extensions["classeur"].tasks.start()
    yield application
    application.extensions["classeur"].tasks.stop()
    state = application.extensions["classeur"]
    if state._search is not None:
        state._search.close()
    db.engine_for(application).dispose()


def _document(app, factory, state: str = "validated"):
    from core.db import db
    from core.documents.models import Document

    firm = factory.firm()
    company = factory.company(firm, name="Boulangerie Martin")
    binder = factory.binder(company, name="Achats")
    factory.binder(company, "other", name="Divers")
    user = factory.user(firm, "accountant")
    content = make_pdf_bytes(
        ["Free SAS", "Facture FA-2026-0042 du 15/10/2026", "Total TTC : 1 500,00 EUR"], pages=2
    )
    doc = factory.document(binder, state=state, fields=FIELDS, content=content, filename="scan.pdf")
    with app.app_context():
        db.session.get(Document, doc.id).pages = 2
        db.session.commit()
    return doc, user


def _row_boxes(page) -> list[dict]:
    return [
        page.locator(selector).bounding_box()
        for selector in (
            "#move > summary",
            "#rename > summary",
            "#archive button",
            "#trash > summary",
        )
    ]


def test_rename_archive_unarchive_on_the_page(page, live_server: LiveServer, factory, app):
    from playwright.sync_api import expect

    doc, user = _document(app, factory)
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, live_server, user)
    page.goto(f"{live_server.url}/documents/{doc.id}")

    # The actions: one row, one height.
    boxes = _row_boxes(page)
    assert len({round(b["height"]) for b in boxes}) == 1, boxes
    assert len({round(b["y"]) for b in boxes}) == 1, boxes

    # Renommer: the current name prefilled; a bad name refused in French, then a good one.
    page.get_by_text("Déplacer", exact=True).click()
    expect(page.get_by_label("Vers le classeur")).to_be_visible()
    page.get_by_text("Renommer", exact=True).click()
    name = page.get_by_label("Nouveau nom du fichier")
    expect(name).to_have_value("scan.pdf")
    expect(name).to_be_focused()
    # One confirmation at a time, opened over the page (the card is not cut nor scrolled).
    expect(page.get_by_label("Vers le classeur")).to_be_hidden()
    card = page.locator("#actions").bounding_box()
    submit = page.get_by_role("button", name="Renommer le document")
    box = submit.bounding_box()
    assert box["y"] > card["y"] + card["height"] - 5  # below the card's edge...
    assert submit.evaluate(  # ...and not cut by it: the button is what is under the pointer
        """e => { const r = e.getBoundingClientRect();
                  const x = r.x + r.width / 2, y = r.y + r.height / 2;
                  return document.elementFromPoint(x, y) === e; }"""
    )
    name.fill("factures/octobre")
    page.get_by_role("button", name="Renommer le document").click()
    expect(page.locator(".flash-error")).to_have_text(
        "Le nom du fichier ne peut pas contenir « / » ni « \\ »."
    )
    expect(page.locator("h1")).to_have_text("scan.pdf")
    page.get_by_text("Renommer", exact=True).click()
    page.get_by_label("Nouveau nom du fichier").fill("Free octobre")
    page.get_by_role("button", name="Renommer le document").click()
    expect(page.locator(".flash-success")).to_have_text("Document renommé en « Free octobre.pdf ».")
    expect(page.locator("h1")).to_have_text("Free octobre.pdf")
    expect(page.locator("#history")).to_contain_text("Renommé : scan.pdf → Free octobre.pdf")

    # Archiver: the notice with its date, « Désarchiver », and no « Déplacer » but the reason.
    page.get_by_role("button", name="Archiver", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("Document archivé")
    notice = page.locator("#archived-notice")
    expect(notice).to_contain_text(re.compile(r"Archivé le \d\d/\d\d/\d{4}"))
    expect(page.locator("#move")).to_have_count(0)
    expect(page.locator("#move-refusal")).to_have_text(
        "Déplacement impossible : Document archivé : désarchivez-le d'abord."
    )
    expect(page.get_by_role("button", name="Archiver", exact=True)).to_have_count(0)

    page.get_by_role("button", name="Désarchiver").click()
    expect(page.locator(".flash-success")).to_have_text("Document désarchivé.")
    expect(notice).to_have_count(0)
    expect(page.locator("#move > summary")).to_be_visible()
    expect(page.get_by_role("button", name="Archiver", exact=True)).to_be_visible()
    expect(page.locator("#history")).to_contain_text("Désarchivé")


def test_the_viewer_stays_in_sight_for_a_field_low_in_the_panel(
    page, live_server: LiveServer, factory, app
):
    from playwright.sync_api import expect

    doc, user = _document(app, factory)
    page.set_viewport_size({"width": 1366, "height": 640})
    login(page, live_server, user)
    page.goto(f"{live_server.url}/documents/{doc.id}")
    viewer = page.locator("#viewer-card")
    assert viewer.evaluate("e => getComputedStyle(e).position") == "sticky"
    expect(page.locator("#page-1.loaded")).to_have_count(1)

    # Scroll the window until the total (low in the panel) is at the bottom of the window.
    field = page.locator('.field-value[data-field="total_incl_tax"]')
    field.evaluate("e => e.scrollIntoView({block: 'end'})")
    assert page.evaluate("window.scrollY") > 0, "the page is not taller than the window"
    field.click()
    box = page.locator('#page-1 .word-box[data-field="total_incl_tax"]')
    expect(box).to_have_count(1)
    height = page.evaluate("window.innerHeight")

    def in_window() -> bool:
        rect = box.evaluate(
            "e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom] }"
        )
        return rect[0] >= 0 and rect[1] <= height

    page.wait_for_function(
        """() => { const b = document.querySelector('#page-1 .word-box');
                   const r = b && b.getBoundingClientRect();
                   return r && r.top >= 0 && r.bottom <= window.innerHeight; }"""
    )
    assert in_window()
    # The viewer column itself never grows past the window.
    card = viewer.bounding_box()
    assert card["height"] <= height
