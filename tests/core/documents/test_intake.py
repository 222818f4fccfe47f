"""Intake: type detection from content, limits, and a hostile corpus."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from docfiles import DATA, hand_made_pdf, png_bomb_bytes, text_image, text_pdf_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript

from core.documents.intake import Inspection, RejectedFile, inspect_file, safe_filename

Writer = Callable[[str, bytes], Path]


def rejected(path: Path, **limits: int) -> RejectedFile:
    with pytest.raises(RejectedFile) as info:
        inspect_file(path, **limits)
    assert info.value.message  # always something to show the accountant
    return info.value


# -- accepted files ---------------------------------------------------------------------------


def test_text_pdf_is_accepted_with_its_pages(text_pdf: Path) -> None:
    result = inspect_file(text_pdf)
    assert result == Inspection("application/pdf", 2, "pdf", None, True)


def test_image_only_pdf_has_no_text_layer_hint(scan_pdf: Path) -> None:
    result = inspect_file(scan_pdf)
    assert (result.kind, result.pages, result.has_text_layer) == ("pdf", 1, False)


def test_png_jpeg_and_multi_frame_tiff(write: Writer, png_file: Path, tiff_2_frames: Path) -> None:
    buf = io.BytesIO()
    text_image("Note de frais").convert("RGB").save(buf, format="JPEG", quality=80)
    jpeg = write("photo.jpeg", buf.getvalue())
    assert inspect_file(png_file) == Inspection("image/png", 1, "image", None, False)
    assert inspect_file(jpeg) == Inspection("image/jpeg", 1, "image", None, False)
    assert inspect_file(tiff_2_frames) == Inspection("image/tiff", 2, "image", None, False)


@pytest.mark.parametrize(
    ("name", "flavor"),
    [
        ("en16931/CII_example8.xml", "cii"),
        ("akretion/factur-x-en16931.xml", "cii"),
        ("akretion/zugferd-comfort.xml", "cii"),  # ZUGFeRD 1 namespace
        ("akretion/ubl-21-en16931.xml", "ubl"),
        ("en16931/ubl-tc434-creditnote1.xml", "ubl"),
    ],
)
def test_e_invoices_are_accepted_with_their_flavor(name: str, flavor: str) -> None:
    result = inspect_file(DATA / "invoices" / name)
    assert result == Inspection("application/xml", 1, "xml", flavor, None)


def test_zugferd_1_and_xml_without_declaration(write: Writer) -> None:
    zugferd = write(
        "zugferd.xml",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<rsm:CrossIndustryDocument '
        b'xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"><rsm:HeaderExchangedDocument/>'
        b"</rsm:CrossIndustryDocument>",
    )
    bare_ubl = write(
        "bare.xml",
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
        b"<ID>F1</ID></Invoice>",
    )
    assert inspect_file(zugferd).xml_flavor == "cii"
    assert inspect_file(bare_ubl).xml_flavor == "ubl"


def test_type_comes_from_content_not_name(write: Writer, text_pdf: Path, png_file: Path) -> None:
    pdf_as_jpg = write("photo.jpg", text_pdf.read_bytes())
    png_as_pdf = write("facture.pdf", png_file.read_bytes())
    assert inspect_file(pdf_as_jpg).media_type == "application/pdf"
    assert inspect_file(png_as_pdf).media_type == "image/png"


def test_pdf_with_javascript_and_attachment_is_accepted(write: Writer, text_pdf: Path) -> None:
    # Documented choice: we never execute or extract them, so the PDF is a normal document.
    writer = PdfWriter(clone_from=PdfReader(text_pdf))
    writer.add_open_action(JavaScript("app.alert('hello');"))
    writer.add_attachment("payload.exe", b"MZ\x90\x00not really")
    buf = io.BytesIO()
    writer.write(buf)
    result = inspect_file(write("active.pdf", buf.getvalue()))
    assert (result.kind, result.pages) == ("pdf", 2)


# -- refused files ----------------------------------------------------------------------------


def test_empty_file(write: Writer) -> None:
    assert rejected(write("vide.pdf", b"")).code == "empty"


def test_too_large(text_pdf: Path) -> None:
    error = rejected(text_pdf, max_bytes=100)
    assert error.code == "too_large"
    assert "Mo" in error.message


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02" * 3000,
        os.urandom(4096),
        b"Bonjour, ceci est un simple texte.\n",
        b"PK\x03\x04" + b"\x00" * 200,  # a zip (e.g. docx) header
    ],
)
def test_unknown_types(write: Writer, data: bytes) -> None:
    assert rejected(write("x.pdf", data)).code == "unsupported_type"


def test_other_xml_is_unsupported(write: Writer) -> None:
    path = write("order.xml", b'<?xml version="1.0"?><Order xmlns="urn:example"><a/></Order>')
    assert rejected(path).code == "unsupported_type"


def test_malformed_xml_is_corrupt(write: Writer) -> None:
    path = write(
        "cut.xml", (DATA / "invoices" / "en16931" / "CII_example8.xml").read_bytes()[:3000]
    )
    assert rejected(path).code == "corrupt"


def test_encrypted_pdf_even_with_empty_password(write: Writer, text_pdf: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(text_pdf))
    writer.encrypt(user_password="", owner_password="secret", algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    error = rejected(write("protege.pdf", buf.getvalue()))
    assert error.code == "encrypted"
    assert "protégé" in error.message


def test_truncated_pdf(write: Writer, text_pdf: Path) -> None:
    data = text_pdf.read_bytes()
    for cut in (len(data) // 2, len(data) - 40):
        assert rejected(write("cut.pdf", data[:cut])).code == "corrupt"


def test_pdf_header_with_garbage(write: Writer) -> None:
    body = os.urandom(3000)
    assert rejected(write("a.pdf", b"%PDF-1.7\n" + body)).code == "corrupt"
    faked_tail = b"%PDF-1.7\n" + body + b"\nstartxref\n9\n%%EOF\n"
    assert rejected(write("b.pdf", faked_tail)).code == "corrupt"


def test_pdf_with_a_missing_page_object(write: Writer) -> None:
    data = hand_made_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 9 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )
    assert rejected(write("missing-page.pdf", data)).code == "corrupt"


def test_pdf_with_a_damaged_content_stream_is_tolerated(write: Writer) -> None:
    # Documented choice: like PDF viewers, pypdf repairs what it can of a damaged stream;
    # the page is then read (text layer or OCR), not refused.
    data = hand_made_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length 20 /Filter /FlateDecode >>\nstream\nthis is not zlib!!!\nendstream",
        ]
    )
    assert inspect_file(write("bad-stream.pdf", data)).pages == 1


def test_pdf_claiming_a_million_pages(write: Writer) -> None:
    data = hand_made_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1000000 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )
    error = rejected(write("million.pdf", data))
    assert error.code == "too_many_pages"
    assert "200" in error.message


def test_pdf_claiming_a_million_pages_through_a_reference(write: Writer) -> None:
    data = hand_made_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 4 0 R >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
            b"1000000",
        ]
    )
    assert rejected(write("million-ref.pdf", data)).code == "too_many_pages"


def test_pdf_lying_about_a_small_count(write: Writer) -> None:
    kids = b" ".join(b"%d 0 R" % n for n in range(3, 3 + 12))
    pages = [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * 12
    data = hand_made_pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [" + kids + b"] /Count 1 >>"]
        + pages
    )
    assert rejected(write("liar.pdf", data), max_pages=10).code == "too_many_pages"
    assert inspect_file(write("liar.pdf", data)).pages == 12


def test_pdf_page_tree_cycle(write: Writer) -> None:
    data = hand_made_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
        ]
    )
    assert rejected(write("cycle.pdf", data)).code == "corrupt"


def test_too_many_tiff_frames(tiff_2_frames: Path) -> None:
    error = rejected(tiff_2_frames, max_pages=1)
    assert error.code == "too_many_pages"
    assert "plus de 1 pages" in error.message


def test_png_decompression_bomb(write: Writer) -> None:
    path = write("bomb.png", png_bomb_bytes(30000, 30000))
    assert path.stat().st_size < 1_000_000
    error = rejected(path)
    assert error.code == "too_many_pixels"
    assert "mégapixels" in error.message


def test_image_over_a_custom_pixel_limit(png_file: Path) -> None:
    assert rejected(png_file, max_pixels=10_000).code == "too_many_pixels"


def test_truncated_images(write: Writer, png_file: Path) -> None:
    buf = io.BytesIO()
    text_image("Recu").convert("RGB").save(buf, format="JPEG")
    jpeg = buf.getvalue()
    png = png_file.read_bytes()
    assert rejected(write("cut.jpg", jpeg[: len(jpeg) // 2])).code == "corrupt"
    assert rejected(write("cut.png", png[: len(png) // 2])).code == "corrupt"


def test_xml_with_a_doctype(write: Writer) -> None:
    path = write(
        "dtd.xml",
        b'<?xml version="1.0"?>\n<!DOCTYPE Invoice SYSTEM "http://example.com/x.dtd">\n'
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>',
    )
    assert rejected(path).code == "xml_forbidden"


def test_billion_laughs(write: Writer) -> None:
    entities = "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{entities}]>'
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
        "<ID>&lol9;</ID></Invoice>"
    )
    assert rejected(write("lol.xml", doc.encode())).code == "xml_forbidden"


def test_external_entity_is_never_read(write: Writer) -> None:
    doc = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
        b"<ID>&xxe;</ID></Invoice>"
    )
    error = rejected(write("xxe.xml", doc))
    assert error.code == "xml_forbidden"
    assert "root:" not in str(error) and "root:" not in repr(error.__cause__)


def test_doctype_hidden_after_a_long_comment(write: Writer) -> None:
    # The DOCTYPE sits beyond the quick byte scan: the parsed tree must still reveal it.
    doc = (
        b'<?xml version="1.0"?><!--' + b"x" * 70_000 + b"-->"
        b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
        b"<ID>&xxe;</ID></Invoice>"
    )
    assert rejected(write("late.xml", doc)).code == "xml_forbidden"


# -- safe_filename ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\compta\\Facture été.pdf", "Facture été.pdf"),
        ("facture\x00\x1b[31m.pdf", "facture[31m.pdf"),
        ("..", "document"),
        ("", "document"),
        ("   ", "document"),
        ("/", "document"),
        (".bashrc", "bashrc"),
        ("a:b*c?.pdf", "a_b_c_.pdf"),
        ("e\u0301te\u0301\u202e.pdf", "été.pdf"),
    ],
)
def test_safe_filename(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


def test_safe_filename_caps_length_and_keeps_extension() -> None:
    name = safe_filename("f" * 500 + ".pdf")
    assert len(name) == 200
    assert name.endswith("ffff.pdf")


# -- fuzzing ----------------------------------------------------------------------------------


def _inspect_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(data)
        try:
            result = inspect_file(path)
        except RejectedFile as error:
            assert error.code in {
                "empty",
                "unsupported_type",
                "corrupt",
                "encrypted",
                "too_many_pages",
                "too_many_pixels",
                "xml_forbidden",
            }
        else:
            assert isinstance(result, Inspection)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_fuzz_random_bytes(data: bytes) -> None:
    _inspect_bytes(data)


_SEED_PDF = text_pdf_bytes(["FACTURE 42\nTotal 10,00 EUR", "page deux"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(_SEED_PDF) - 1),
            st.sampled_from(["flip", "cut", "insert", "delete"]),
            st.binary(min_size=1, max_size=16),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_fuzz_mutated_pdf(mutations: list[tuple[int, str, bytes]]) -> None:
    data = bytearray(_SEED_PDF)
    for position, action, chunk in mutations:
        position = min(position, max(len(data) - 1, 0))
        if action == "flip" and data:
            data[position] ^= chunk[0] or 0xFF
        elif action == "cut":
            del data[position:]
        elif action == "insert":
            data[position:position] = chunk
        else:
            del data[position : position + len(chunk)]
    _inspect_bytes(bytes(data))


def test_shared_sample_e_invoices_all_accepted(tmp_path: Path) -> None:
    """Every e-invoice sample of the shared corpus is accepted with a flavor."""
    shared = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "invoices" / "xml"
    if not shared.is_dir():
        pytest.skip("shared invoice corpus not available")
    for sample in sorted(shared.glob("*/*.[xX][mM][lL]")):
        copy = tmp_path / "upload"
        shutil.copyfile(sample, copy)
        assert inspect_file(copy).xml_flavor in {"cii", "ubl"}, sample.name
