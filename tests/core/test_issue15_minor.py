"""Issue 15's minor findings: links in the caught mails clickable (escaped first, http(s)
only), distinct titles for two answers of one company, « Retour à la connexion » on an error
page for someone not logged in."""

from __future__ import annotations

from typing import Any


def test_linkify_escapes_then_links_http_only() -> None:
    from core.mail.views import linkify

    html = str(
        linkify(
            'Ouvrez "https://c.fr/reset?t=a&u=1". <b>x</b> javascript:alert(1) http://d.fr, fin'
        )
    )
    assert '<a href="https://c.fr/reset?t=a&amp;u=1" rel="noopener noreferrer">' in html
    assert "&#34;." in html  # the quote and the final dot stay out of the link
    assert '<a href="http://d.fr" rel="noopener noreferrer">http://d.fr</a>, fin' in html
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert 'href="javascript' not in html


def test_two_answers_of_one_company_get_distinct_titles() -> None:
    from core.portal.services import _answered_subject

    one = _answered_subject("Boulangerie Martin", "Merci de déposer la facture EDF de mars.")
    two = _answered_subject("Boulangerie Martin", "Le relevé bancaire de février SVP")
    assert one.startswith("Le client a répondu : Boulangerie Martin — « Merci de déposer")
    assert one.endswith("…»") or one.endswith("… »")
    assert one != two
    assert _answered_subject("Boulangerie Martin", "") == "Le client a répondu : Boulangerie Martin"


def test_error_page_sends_an_anonymous_visitor_to_the_login(
    app: Any, client: Any, world: dict[str, Any], auth: Any
) -> None:
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "Retour à la connexion" in page and "Retour au tableau de bord" not in page
    auth.login(world["a"]["admin"])
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "Retour au tableau de bord" in page
