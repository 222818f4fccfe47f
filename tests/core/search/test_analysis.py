"""The French analysis and the snippet highlighter."""

from __future__ import annotations

import re

from core.search.analysis import (
    WORD_PATTERN,
    french_analyzer,
    highlight,
    normalize_identifier,
    stem_word,
)

SAMPLE = (
    "Facture d'électricité : consommations des mois de janvier et février, "
    "relevés du compteur n° 12.03.2024, total 1234,56 € TTC — Société Générale_relevé.pdf"
)


def test_stem_word_matches_the_analyzer() -> None:
    analyzed = [t.text for t in french_analyzer()(SAMPLE)]
    by_hand = [stem_word(m.lower()) for m in re.findall(WORD_PATTERN, SAMPLE)]
    assert [s for s in by_hand if s is not None] == analyzed
    assert "1234,56" in analyzed and "12.03.2024" in analyzed
    # Underscores split words (file names), stop words are gone.
    assert "pdf" in analyzed and "des" not in analyzed


def test_accents_and_plurals_share_a_term() -> None:
    assert stem_word("électricité") == stem_word("electricite")
    assert stem_word("factures") == stem_word("facture")
    assert stem_word("de") is None
    assert stem_word("a") is None


def test_highlight_marks_and_escapes() -> None:
    terms = frozenset({stem_word("releves"), stem_word("electricite")})
    snippet = highlight("<b>Facture</b> d'électricité & relevés", terms)  # type: ignore[arg-type]
    assert (
        snippet
        == "&lt;b&gt;Facture&lt;/b&gt; d'<mark>électricité</mark> &amp; <mark>relevés</mark>"
    )
    assert highlight("rien à voir", terms) == ""  # type: ignore[arg-type]


def test_highlight_cuts_long_text_around_the_match() -> None:
    text = "début " + "mot " * 100 + "facture finale " + "suite " * 100
    snippet = highlight(text, frozenset({stem_word("facture")}), max_chars=80)  # type: ignore[arg-type]
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "<mark>facture</mark>" in snippet
    assert len(snippet) < 120


def test_normalize_identifier() -> None:
    assert normalize_identifier(" FR 03 552 081 317 ") == "fr03552081317"
