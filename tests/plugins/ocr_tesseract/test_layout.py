"""Words from Tesseract's TSV and the laid-out page text (pure functions, no Tesseract)."""

from __future__ import annotations

import pickle

from plugins.ocr_tesseract.layout import PageText, layout_text, words_from_tsv

HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
)


def tsv(*rows: tuple[int, int, int, int, int, int, int, int, float, str]) -> str:
    lines = [HEADER, "1\t1\t0\t0\t0\t0\t0\t0\t1000\t500\t-1\t"]
    for block, par, line, word, left, top, width, height, conf, text in rows:
        lines.append(
            f"5\t1\t{block}\t{par}\t{line}\t{word}\t{left}\t{top}\t{width}\t{height}\t{conf}\t{text}"
        )
    return "\n".join(lines) + "\n"


def word(text: str, x0: float, y0: float, x1: float, y1: float, line: int, block: int = 1):
    return {"text": text, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "conf": 0.9, "block": block,
            "line": line}  # fmt: skip


def test_words_from_tsv_normalises_and_drops_empty_words() -> None:
    data = tsv(
        (1, 1, 1, 1, 100, 50, 200, 20, 96.5, "Facture"),
        (1, 1, 1, 2, 320, 50, 100, 20, 91.0, "FA-12"),
        (1, 1, 1, 3, 450, 50, 10, 20, -1, ""),  # no word: dropped
        (1, 1, 1, 4, 470, 50, 10, 20, 95.0, " "),  # blank text: dropped
        (2, 1, 1, 1, 700, 50, 100, 20, 88.0, "12/03/2024"),
        (1, 1, 2, 1, 100, 90, 100, 20, 80.0, "Lyon"),
    )
    words = words_from_tsv(data, (1000, 500))
    assert [w["text"] for w in words] == ["Facture", "FA-12", "12/03/2024", "Lyon"]
    first = words[0]
    assert (first["x0"], first["y0"], first["x1"], first["y1"]) == (0.1, 0.1, 0.3, 0.14)
    assert first["conf"] == 0.965 and first["block"] == 1
    # Line ids are unique within the page: (block, par, line) in Tesseract's order.
    assert [w["line"] for w in words] == [0, 0, 1, 2]
    assert set(first) == {"text", "x0", "y0", "x1", "y1", "conf", "block", "line"}


def test_words_from_a_zoomed_crop_map_back_to_the_page() -> None:
    data = tsv((1, 1, 1, 1, 20, 10, 200, 40, 90.0, "1234,56"))
    (found,) = words_from_tsv(data, (1000, 500), origin=(600, 200), zoom=2)
    assert (found["x0"], found["y0"], found["x1"], found["y1"]) == (0.61, 0.41, 0.71, 0.45)


def test_layout_text_merges_blocks_of_one_band_and_separates_columns() -> None:
    words = [
        word("Total", 0.10, 0.50, 0.15, 0.52, line=0),
        word("TTC", 0.16, 0.50, 0.19, 0.52, line=0),
        # Another Tesseract block on the same band, far right: the amount column.
        word("1", 0.70, 0.501, 0.71, 0.521, line=5, block=4),
        word("234,56", 0.715, 0.501, 0.77, 0.521, line=5, block=4),
        word("Designation", 0.10, 0.40, 0.20, 0.42, line=1),
        word("Vis", 0.10, 0.45, 0.13, 0.47, line=2),
        word("18,90", 0.72, 0.45, 0.77, 0.47, line=3, block=3),
        word("Merci", 0.10, 0.80, 0.15, 0.82, line=4),
    ]
    lines = layout_text(words).split("\n")
    assert lines[0].strip() == "Designation"
    assert lines[1].split() == ["Vis", "18,90"]
    assert lines[2].split() == ["Total", "TTC", "1", "234,56"]
    assert "Total TTC" in lines[2] and "1 234,56" in lines[2]  # close words: one space
    assert "TTC   " in lines[2]  # far-apart words: 3 spaces or more
    # Columns follow x0: the amounts start near 72 % of 120 columns, one under the other.
    assert abs(lines[1].index("18,90") - lines[2].index("1 234,56")) <= 2
    assert lines[0].index("Designation") == 12  # indentation kept (0.10 × 120)
    assert lines[3] == "" and lines[4].strip() == "Merci"  # a tall gap leaves a blank line
    assert layout_text([]) == ""


def test_lines_overlapping_horizontally_are_not_merged() -> None:
    words = [
        word("Ligne", 0.10, 0.500, 0.20, 0.510, line=0),
        word("Autre", 0.12, 0.504, 0.22, 0.514, line=1, block=2),
    ]
    assert layout_text(words).split("\n") == [" " * 12 + "Ligne", " " * 14 + "Autre"]


def test_page_text_is_a_str_that_pickles_with_its_words() -> None:
    words = [word("Facture", 0.1, 0.1, 0.3, 0.14, line=0)]
    page = PageText("Facture", words, {"rotate": 180, "skew": -1.2})
    assert isinstance(page, str) and page == "Facture" and page.upper() == "FACTURE"
    copy = pickle.loads(pickle.dumps(page))
    assert type(copy) is PageText and copy == "Facture"
    assert copy.words == words and copy.transform == {"rotate": 180, "skew": -1.2}
    assert PageText("x").words == [] and PageText("x").transform == {}
    assert "\f".join([page, "texte"]) == "Facture\ftexte"
