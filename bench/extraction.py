"""Invoice-reading benchmark: real documents, their scans, generated and held-out corpora.

Usage::

    .venv/bin/python bench/extraction.py [--sets xml,text,scans,generated,heldout,template]
        [--size 60] [--heldout-size 40] [--max-scans 3] [--seed 7] [--json FILE]
        [--show-misses] [--show-heldout-misses]

Sets (each reported apart):

- ``xml``: the shared EN 16931 / Factur-X / ZUGFeRD 1 / UBL samples (``xml/**``), read
  normally, against ``bench/truth.py`` (explicit XPaths, independent of the reader).
- ``text``: the shared Factur-X PDFs (``pdf/fnfe-2017``, ``pdf/horstoeko``) read from their
  text layer only (``use_einvoice=False``) against their embedded XML, French prints apart
  from German / other; PDFs printing the same page (one per Factur-X profile) count once, with
  the union of their XMLs as truth. ``pdf/invoice2data`` PDFs against their JSON.
- ``scans``: the same PDFs rasterised at 200 dpi, skewed, noised, blurred, JPEG 60
  (``bench/scans.py``, cached under ``bench/out/scans``), plus invoice2data's own PNG scans.
- ``generated``: ``bench/corpus/generate.py``'s corpus (text, Factur-X and scan documents) and
  the account proposals from a supplier's 2nd invoice on.
- ``heldout``: ``bench/corpus/heldout.py``'s corpus (layouts not in generate.py) and scans of
  part of it, printed apart as "held-out"; its misses are never printed unless
  ``--show-heldout-misses``.
- ``template``: a supplier's 2nd document read with the template learnt from its 1st.

``--json FILE`` writes one record per scored field (set, file, field, truth, value, confidence,
correct); held-out records keep only set, field, confidence and correct unless
``--show-heldout-misses``. ``--show-misses`` prints every wrong field of the real sets.

A field is scored only where the truth has a value. Amounts compare as Decimals, other strings
after removing spaces and case; identifiers also ignore punctuation, names also punctuation and
legal forms (SARL, SAS, GmbH, Inc...). ``--max-scans`` caps the scanned documents of each scan set
(OCR takes seconds a page). Each table also sums the buyer's fields (name, VAT number, SIREN:
what the buyer check compares) and how many of them were given wrong, where the truth has them
(the invoice2data JSONs and the generated labels have no buyer).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus.generate import generate  # noqa: E402
from bench.corpus.heldout import VERSION as HELDOUT_VERSION  # noqa: E402
from bench.corpus.heldout import generate_heldout  # noqa: E402
from bench.scans import make_scan  # noqa: E402
from bench.truth import merge_truths, truth_from_invoice2data, truth_from_xml  # noqa: E402
from plugins.binder_purchases.accounting.model import AccountModel  # noqa: E402
from plugins.binder_purchases.accounting.rules import propose_by_rules  # noqa: E402
from plugins.binder_purchases.extraction import extract_file  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "invoices"
OUT = ROOT / "bench" / "out"
ALL_SETS = ("xml", "text", "scans", "generated", "heldout", "template")

FIELDS = (
    "invoice_number",
    "invoice_date",
    "due_date",
    "currency",
    "total_excl_tax",
    "total_tax",
    "total_incl_tax",
    "amount_due",
    "document_kind",
    "vat_lines",
    "payment_mode",
    "vat_regime",
    "supplier.name",
    "supplier.trade_name",
    "supplier.vat_number",
    "supplier.siren",
    "supplier.siret",
    "supplier.iban",
    "supplier.country",
    "buyer.name",
    "buyer.vat_number",
    "buyer.siren",
)
KEY_FIELDS = (
    "invoice_number",
    "invoice_date",
    "total_excl_tax",
    "total_tax",
    "total_incl_tax",
    "supplier.vat_number",
    "supplier.siren",
)
#: The buyer as the buyer check compares it with the company whose binder holds the invoice.
BUYER_FIELDS = ("buyer.name", "buyer.vat_number", "buyer.siren")
AMOUNT_FIELDS = {"total_excl_tax", "total_tax", "total_incl_tax", "amount_due"}
#: Identifiers compare on letters and digits only ("NL8200.98.395.B.01" = "NL820098395B01").
ID_FIELDS = {
    "supplier.vat_number",
    "supplier.siren",
    "supplier.siret",
    "supplier.iban",
    "buyer.vat_number",
    "buyer.siren",
}
FIELD_KEYS = (
    "document_kind",
    "invoice_number",
    "invoice_date",
    "due_date",
    "currency",
    "total_excl_tax",
    "total_tax",
    "total_incl_tax",
    "amount_due",
    "vat_lines",
    "payment_mode",
    "vat_regime",
    "supplier",
    "buyer",
)
CONF_BINS = ((0.0, 0.5, "< 0.5"), (0.5, 0.7, "0.5-0.7"), (0.7, 0.9, "0.7-0.9"))
CONF_BINS += ((0.9, 0.95, "0.9-0.95"), (0.95, 1.01, ">= 0.95"))

# Column (set) names, in print order.
REAL_COLUMNS = ("xml", "text FR", "text DE/other", "text i2d", "scan FR", "scan DE/other")
REAL_COLUMNS += ("scan i2d",)
GEN_COLUMNS = ("gen text", "gen einvoice", "gen scan")
HELDOUT_COLUMNS = ("held-out text", "held-out scan")
TEMPLATE_COLUMNS = ("template real", "template generated", "template held-out")

# Printed language of the shared Factur-X PDFs (by file stem prefix): French prints.
FRENCH_PRINTS = (
    "fnfe-2017/Facture_FR",
    "fnfe-2017/Facture_DOM",
    "fnfe-2017/Avoir_FR",
    "fnfe-2017/Resultat_TEST",
    "fnfe-2017/embedded_data",
    "horstoeko/pdf_fx_",
)
# A supplier's 1st and 2nd real documents, for the template set (same seller, same program).
REAL_TEMPLATE_PAIRS = (
    ("fnfe-2017/Facture_FR_EN16931.pdf", "fnfe-2017/Facture_DOM_EN16931.pdf"),
    ("fnfe-2017/Facture_DOM_EN16931.pdf", "fnfe-2017/Facture_FR_EN16931.pdf"),
    ("fnfe-2017/Facture_FR_EN16931.pdf", "fnfe-2017/Avoir_FR_type381_EN16931.pdf"),
    ("fnfe-2017/Avoir_FR_type381_EN16931.pdf", "fnfe-2017/Facture_FR_EN16931.pdf"),
    ("fnfe-2017/Facture_FR_EN16931.pdf", "fnfe-2017/Facture_UE_EN16931.pdf"),
    ("horstoeko/pdf_fx_extended_1.pdf", "horstoeko/pdf_fx_minimum_1.pdf"),
    ("horstoeko/pdf_fx_minimum_1.pdf", "horstoeko/pdf_fx_extended_1.pdf"),
    ("horstoeko/pdf_zf_en16931_1.pdf", "horstoeko/pdf_zf_en16931_3.pdf"),
)


@dataclass
class Doc:
    """One document to read: where, how, and its truth."""

    column: str
    file: str
    path: Path
    truth: dict[str, Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    pages: int = 1
    hidden: bool = False  # held-out: misses not printed


@dataclass
class Result:
    """One read document: its fields, time and scored records."""

    doc: Doc
    fields: dict[str, Any]
    seconds: float
    error: str | None
    records: list[dict[str, Any]]


# -- comparison ------------------------------------------------------------------------------
def get(fields: dict[str, Any], name: str) -> Any:
    """Value of ``name`` (``supplier.x`` / ``buyer.x`` for nested) in a fields dict."""
    if "." in name:
        head, sub = name.split(".", 1)
        return (fields.get(head) or {}).get(sub)
    return fields.get(name)


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        out = Decimal(str(value).replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None
    return out if out.is_finite() else None


def _norm(value: Any) -> str:
    return "".join(str(value).split()).casefold()


def _vat_set(lines: Any) -> list[tuple[Any, ...]]:
    out = []
    for line in lines or []:
        if isinstance(line, dict):
            out.append(tuple(_dec(line.get(k)) for k in ("rate", "base", "amount")))
    return sorted(out, key=str)


#: Legal-form words a name may carry or not ("Au bon moulin" = "Au bon moulin SARL").
LEGAL_FORMS = {"sarl", "sas", "sasu", "eurl", "sa", "sci", "ei", "selarl", "snc", "scop"}
LEGAL_FORMS |= {"gmbh", "ag", "kg", "bv", "nv", "inc", "ltd", "llc", "co", "plc", "ab"}


def _name_key(value: Any) -> str:
    words = re.findall(r"\w+", str(value).casefold())
    return "".join(w for w in words if w not in LEGAL_FORMS)


def same(name: str, truth: Any, value: Any) -> bool:
    """Whether the reader's value matches the truth for field ``name``."""
    if value is None or value == []:
        return False
    if name in AMOUNT_FIELDS:
        return _dec(truth) is not None and _dec(truth) == _dec(value)
    if name == "vat_lines":
        return _vat_set(truth) == _vat_set(value)
    if name in ID_FIELDS:
        return re.sub(r"[\W_]", "", _norm(truth)) == re.sub(r"[\W_]", "", _norm(value))
    if name.endswith("name"):
        return _norm(truth) == _norm(value) or _name_key(truth) == _name_key(value)
    return _norm(truth) == _norm(value)


def has_truth(value: Any) -> bool:
    """A truth value that can be scored."""
    return value not in (None, "", [])


def confidence(fields: dict[str, Any], name: str) -> float | None:
    """The reader's confidence for a field, None when not given."""
    conf = fields.get("confidence") or {}
    value = conf.get(name)
    return float(value) if isinstance(value, int | float) else None


#: Amounts a credit note carries in negative in Classeur (its convention: HT + TVA = TTC).
_SIGNED = ("total_excl_tax", "total_tax", "total_incl_tax", "amount_due")


def _negative(value: Any) -> Any:
    text = str(value) if value is not None else ""
    if not text or text.startswith("-") or text.strip("0.,") == "":
        return value
    return f"-{text}"


def signed_truth(truth: dict[str, Any]) -> dict[str, Any]:
    """A credit note's truth (labelled, as printed, in positive amounts) in Classeur's
    convention: its amounts and VAT lines negative."""
    if truth.get("document_kind") != "credit_note":
        return truth
    out = dict(truth)
    for key in _SIGNED:
        if key in out:
            out[key] = _negative(out[key])
    if isinstance(out.get("vat_lines"), list):
        out["vat_lines"] = [
            {**line, "base": _negative(line.get("base")), "amount": _negative(line.get("amount"))}
            if isinstance(line, dict)
            else line
            for line in out["vat_lines"]
        ]
    return out


def score(doc: Doc, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per field the truth has."""
    out = []
    signed = signed_truth(doc.truth)
    for name in FIELDS:
        truth = get(signed, name)
        if not has_truth(truth):
            continue
        value = get(fields, name)
        out.append(
            {
                "set": doc.column,
                "file": doc.file,
                "field": name,
                "truth": truth,
                "value": value,
                "confidence": confidence(fields, name),
                "correct": same(name, truth, value),
            }
        )
    return out


def as_fields(truth: dict[str, Any]) -> dict[str, Any]:
    """A truth / label dict reduced to the fields-dict keys (for learn_template)."""
    out = {k: truth[k] for k in FIELD_KEYS if k in truth}
    out["supplier"] = dict(truth.get("supplier") or {})
    out["buyer"] = dict(truth.get("buyer") or {})
    return out


#: How scans are OCRed: "engine" = the product's path (the ocr_tesseract plugin's engine:
#: upright, deskewed pages, words with positions, the second pass through ``ocr_region``);
#: "local" = the extraction library's in-process Tesseract (``classeur extract``).
OCR_MODE = {"mode": "engine"}
_ENGINE: list[Any] = []


def _is_scan(doc: Doc) -> bool:
    return "scan" in doc.column


def read_scan_like_the_product(path: Path, kwargs: dict[str, Any]) -> dict[str, Any]:
    """OCR a scan as ``classeur serve`` does, then read it (words, second pass by region)."""
    from core.documents.intake import inspect_file
    from plugins.ocr_tesseract.ocr import OcrEngine

    if not _ENGINE:
        _ENGINE.append(OcrEngine())
    engine = _ENGINE[0]
    inspection = inspect_file(path)
    pages = engine.ocr_pages(path, inspection, range(1, inspection.pages + 1))
    words = {page: list(getattr(text, "words", None) or []) for page, text in pages.items()}
    text = "\f".join(pages[page] for page in sorted(pages))
    return extract_file(
        path,
        ocr=lambda _path: text,
        ocr_words=words,
        reocr=lambda page, box, digits=False: engine.ocr_region(
            path, inspection, page, box, digits=digits
        ),
        **kwargs,
    )


def read(doc: Doc) -> Result:
    """Run the reader on one document, timed; errors are recorded, never raised."""
    start = time.perf_counter()
    error = None
    try:
        if OCR_MODE["mode"] == "engine" and _is_scan(doc):
            fields = read_scan_like_the_product(doc.path, doc.kwargs)
        else:
            fields = extract_file(doc.path, **doc.kwargs)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
        fields, error = {"supplier": {}, "buyer": {}}, f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    return Result(doc, fields, seconds, error, score(doc, fields))


def pdf_pages(path: Path) -> int:
    """Page count of a PDF (1 when unknown)."""
    try:
        from pypdf import PdfReader

        return len(PdfReader(str(path)).pages)
    except Exception:  # noqa: BLE001
        return 1


# -- (a) real documents ----------------------------------------------------------------------
def xml_docs(notes: dict[str, list[str]]) -> list[Doc]:
    """Every shared XML e-invoice (duplicates by content counted once)."""
    docs, seen = [], {}
    for path in sorted((SHARED / "xml").rglob("*")):
        if path.suffix.lower() != ".xml":
            continue
        data = path.read_bytes()
        rel = str(path.relative_to(SHARED))
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen:
            notes[rel].append(f"same bytes as {seen[digest]}: counted once")
            continue
        seen[digest] = rel
        truth = truth_from_xml(data)
        if truth is None:
            notes[rel].append("not an e-invoice: skipped")
            continue
        notes[rel].extend(truth["_notes"])
        docs.append(Doc("xml", rel, path, truth))
    _pair_notes(docs, notes)
    return docs


def _pair_notes(docs: list[Doc], notes: dict[str, list[str]]) -> None:
    """CII_exampleN and ubl-tc434-exampleN describe the same invoice: note where they differ."""
    by_name = {Path(d.file).stem: d for d in docs}
    for stem, doc in by_name.items():
        m = re.fullmatch(r"CII_example(\d+)", stem)
        other = by_name.get(f"ubl-tc434-example{m[1]}") if m else None
        if other is None:
            continue
        for name in FIELDS:
            a, b = get(doc.truth, name), get(other.truth, name)
            if has_truth(a) and has_truth(b) and not same(name, a, b):
                notes[doc.file].append(f"differs from {other.file} on {name}: {a!r} / {b!r}")
            elif has_truth(a) != has_truth(b) and name not in ("supplier.trade_name",):
                notes[doc.file].append(
                    f"{name} only in {'CII' if has_truth(a) else 'UBL'}: {a or b!r}"
                )


def embedded_xml(path: Path) -> tuple[bytes | None, str]:
    """The Factur-X / ZUGFeRD XML of a PDF, via factur-x, else any *.xml attachment."""
    from facturx import get_xml_from_pdf

    try:
        with path.open("rb") as fh:
            _name, xml = get_xml_from_pdf(fh, check_xsd=False)
        if xml:
            return xml, ""
    except Exception:  # noqa: BLE001 - factur-x raises bare exceptions on odd PDFs
        pass
    try:
        from pypdf import PdfReader

        for name, contents in PdfReader(str(path)).attachments.items():
            if name.strip("\x00 ").lower().endswith(".xml") and contents:
                return contents[0], f"XML attachment {name.strip(chr(0))!r} not found by factur-x"
    except Exception:  # noqa: BLE001
        pass
    return None, ""


def text_layer(path: Path) -> str:
    """The PDF text layer (pdftotext -layout)."""
    run = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    return run.stdout.decode("utf-8", "replace")


def text_layer_key(path: Path) -> str:
    """Hash of the PDF's text layer: PDFs printing the same page share it."""
    return hashlib.sha1(text_layer(path).encode()).hexdigest()


MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "en": "january february march april may june july august september october november december",
    "de": "januar februar märz april mai juni juli august september oktober november dezember",
}


def _printed_forms(name: str, value: Any) -> list[str]:
    """Ways a truth value may be printed, spaces removed and case folded ([] = not checked)."""
    if name in AMOUNT_FIELDS:
        d = _dec(value)
        if d is None:
            return []
        whole, cents = f"{abs(d):.2f}".split(".")
        grouped = f"{int(whole):,}"
        forms = [f"{whole},{cents}", f"{whole}.{cents}", f"{grouped},{cents}".replace(",", ".", 1)]
        forms += [f"{grouped}.{cents}", f"{grouped.replace(',', '.')},{cents}"]
        if cents == "00":
            forms.append(whole)
        return forms
    if name in ("invoice_date", "due_date"):
        d = date.fromisoformat(value)
        forms = [d.strftime(f) for f in ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y-%m-%d")]
        forms += [d.strftime(f) for f in ("%Y%m%d", "%d/%m/%y", "%d.%m.%y")]
        for months in MONTHS.values():
            month = months.split()[d.month - 1]
            forms += [f"{d.day}{month}{d.year}", f"{d.day:02d}{month}{d.year}"]
            forms += [f"{month}{d.day},{d.year}", f"{d.day}.{month}{d.year}"]
            forms += [f"{d.day}{month[:3]}{d.year}", f"{d.day}{month[:4]}.{d.year}"]
        return [f.casefold() for f in forms]
    if name in ID_FIELDS or name in ("invoice_number", "supplier.name", "buyer.name"):
        return [_norm(value)]
    return []


def unprinted(truth: dict[str, Any], text: str) -> list[str]:
    """Truth values that the printed text does not show (in any usual form)."""
    flat = _norm(text.replace("\u00a0", " "))
    alnum = re.sub(r"[\W_]", "", flat)
    out = []
    for name in FIELDS:
        value = get(truth, name)
        forms = _printed_forms(name, value) if has_truth(value) else []
        if not forms:
            continue
        if name in ID_FIELDS:
            found = any(re.sub(r"[\W_]", "", f) in alnum for f in forms)
        else:
            found = any(f in flat for f in forms)
        if not found:
            out.append(f"{name} {value!r} of the truth is not printed as such on the PDF")
    return out


def facturx_docs(notes: dict[str, list[str]]) -> list[Doc]:
    """fnfe-2017 and horstoeko PDFs with an embedded XML, one per printed page."""
    groups: dict[str, list[tuple[str, Path, dict[str, Any]]]] = defaultdict(list)
    for folder in ("fnfe-2017", "horstoeko"):
        for path in sorted((SHARED / "pdf" / folder).glob("*.pdf")):
            rel = f"{folder}/{path.name}"
            xml, note = embedded_xml(path)
            if note:
                notes[rel].append(note)
            if not xml:
                notes[rel].append("no embedded XML: skipped")
                continue
            try:
                truth = truth_from_xml(xml)
            except Exception as exc:  # noqa: BLE001
                notes[rel].append(f"embedded XML unreadable ({exc}): skipped")
                continue
            if truth is None:
                notes[rel].append("embedded XML is not an e-invoice: skipped")
                continue
            groups[text_layer_key(path)].append((rel, path, truth))
    docs = []
    rank = ("EN16931", "EXTENDED", "BASIC.", "BASIC_", "BASICWL", "MINIMUM")

    def order(item: tuple[str, Path, dict[str, Any]]) -> tuple[int, str]:
        rel = item[0]
        return (next((i for i, r in enumerate(rank) if r in rel + "."), 9), rel)

    for members in groups.values():
        members.sort(key=order)
        rel, path, _ = members[0]
        truth = merge_truths([t for _, _, t in members])
        if truth["type_code"] == "380" and truth["document_kind"] == "invoice":
            neg = _dec(truth["total_incl_tax"])
            if neg is not None and neg < 0:
                truth["document_kind"] = None  # printed "Avoir", coded as an invoice
        name = rel if len(members) == 1 else f"{rel} (+{len(members) - 1} same print)"
        if len(members) > 1:
            notes[rel].append("same printed page as " + ", ".join(m[0] for m in members[1:]))
        notes[rel].extend(n for n in truth["_notes"] if n not in notes[rel])
        notes[rel].extend(unprinted(truth, text_layer(path)))
        column = "text FR" if rel.startswith(FRENCH_PRINTS) else "text DE/other"
        docs.append(Doc(column, name, path, truth, {"use_einvoice": False}, pdf_pages(path)))
    docs.sort(key=lambda d: (d.column, d.file))
    return docs


def invoice2data_docs(notes: dict[str, list[str]]) -> tuple[list[Doc], list[Doc]]:
    """invoice2data PDFs and PNG scans against their JSON: (text docs, real scan docs)."""
    folder = SHARED / "pdf" / "invoice2data"
    texts, scans = [], []
    for js in sorted(folder.glob("*.json")):
        entry = json.loads(js.read_text("utf-8"))
        truth = truth_from_invoice2data(entry[0] if isinstance(entry, list) else entry)
        rel = f"invoice2data/{js.stem}"
        notes[rel + ".pdf"].extend(truth["_notes"])
        pdf = js.with_suffix(".pdf")
        if pdf.is_file():
            notes[rel + ".pdf"].extend(unprinted(truth, text_layer(pdf)))
            texts.append(
                Doc("text i2d", rel + ".pdf", pdf, truth, {"use_einvoice": False}, pdf_pages(pdf))
            )
        png = js.with_suffix(".png")
        if png.is_file():
            scans.append(Doc("scan i2d", rel + ".png (real scan)", png, truth))
    return texts, scans


def scan_docs(text_docs: list[Doc], seed: int) -> list[Doc]:
    """Imitation scans of the real text documents (cached under bench/out/scans)."""
    out = []
    for doc in text_docs:
        column = doc.column.replace("text", "scan")
        stem = OUT / "scans" / f"seed{seed}" / (re.sub(r"[^\w-]+", "_", doc.path.stem) + "-scan")
        scan, pages = make_scan(doc.path, stem, seed)
        name = f"{doc.file.split(' ')[0]} -> {scan.name}"
        out.append(Doc(column, name, scan, doc.truth, {}, pages, doc.hidden))
    return out


def cap(docs: list[Doc], max_n: int | None, seed: int) -> list[Doc]:
    """At most ``max_n`` documents per column, a seeded sample (all when None)."""
    if max_n is None:
        return docs
    by_col: dict[str, list[Doc]] = defaultdict(list)
    for d in docs:
        by_col[d.column].append(d)
    out = []
    for col, items in by_col.items():
        rng = random.Random(f"{seed}-{col}")
        out.extend(rng.sample(items, min(max_n, len(items))) if len(items) > max_n else items)
    return out


# -- (c) generated corpora -------------------------------------------------------------------
def generated_docs(size: int, seed: int, max_scans: int | None) -> tuple[list[Doc], Path]:
    """generate.py's corpus (built when missing)."""
    corpus = OUT / f"corpus-{size}-{seed}"
    if len(list(corpus.glob("*.json"))) < size:
        print(f"generating {size} documents into {corpus.relative_to(ROOT)} ...")
        generate(corpus, size, seed)
    column = {"text": "gen text", "einvoice": "gen einvoice", "scan": "gen scan"}
    docs = []
    for label_path in sorted(corpus.glob("*.json"))[:size]:
        labels = json.loads(label_path.read_text("utf-8"))
        # generate.py labels the SIRET even when the layout prints only the SIREN or RCS.
        labels["supplier"]["siret"] = None
        path = corpus / labels["file"]
        pages = pdf_pages(path) if path.suffix == ".pdf" else 1
        docs.append(Doc(column[labels["kind"]], labels["file"], path, labels, {}, pages))
    scans = cap([d for d in docs if d.column == "gen scan"], max_scans, seed)
    return [d for d in docs if d.column != "gen scan"] + scans, corpus


def heldout_docs(size: int, seed: int, max_scans: int | None) -> tuple[list[Doc], Path]:
    """The held-out corpus (built when missing) and scans of part of it."""
    corpus = OUT / f"heldout-v{HELDOUT_VERSION}-{size}-{seed}"
    if len(list(corpus.glob("*.json"))) < size:
        print(f"generating {size} held-out documents into {corpus.relative_to(ROOT)} ...")
        generate_heldout(corpus, size, seed)
    docs = []
    for label_path in sorted(corpus.glob("*.json"))[:size]:
        labels = json.loads(label_path.read_text("utf-8"))
        path = corpus / labels["file"]
        docs.append(
            Doc(
                "held-out text",
                labels["file"],
                path,
                labels,
                {"use_einvoice": False},
                pdf_pages(path),
                hidden=True,
            )
        )
    chosen = cap(
        [Doc("held-out scan", d.file, d.path, d.truth, {}, d.pages, True) for d in docs],
        max_scans,
        seed,
    )
    scans = []
    for d in chosen:
        scan, pages = make_scan(d.path, corpus / "scans" / f"{d.path.stem}-scan", seed)
        scans.append(Doc(d.column, scan.name, scan, d.truth, {}, pages, True))
    return docs + scans, corpus


# -- (d) templates ---------------------------------------------------------------------------
def template_pairs(
    real: list[Doc], heldout: list[Doc], n_generated: int, seed: int
) -> list[tuple[Doc, Doc]]:
    """(1st, 2nd) document pairs of the same supplier: real, generated, held-out."""
    pairs = []
    by_path = {str(d.path.relative_to(SHARED / "pdf")): d for d in real if SHARED in d.path.parents}
    for first, second in REAL_TEMPLATE_PAIRS:
        a, b = _real_doc(first, by_path), _real_doc(second, by_path)
        if a and b:
            pairs.append((a, b))
    pairs.extend(_generated_pairs(n_generated, seed))
    by_key: dict[str, list[Doc]] = defaultdict(list)
    for d in heldout:
        if d.column == "held-out text":
            by_key[d.truth["supplier_key"]].append(d)
    for items in by_key.values():
        if len(items) >= 2:
            pairs.append((items[0], items[1]))
    return pairs


def _real_doc(rel: str, by_path: dict[str, Doc]) -> Doc | None:
    """A real text document by its path; when it was merged with its other profiles, the
    representative document with this file's own path."""
    if rel in by_path:
        return by_path[rel]
    path = SHARED / "pdf" / rel
    if not path.is_file():
        return None
    key = text_layer_key(path)
    for doc in by_path.values():
        if text_layer_key(doc.path) == key:
            return Doc(doc.column, rel, path, doc.truth, doc.kwargs, doc.pages)
    return None


def _generated_pairs(n: int, seed: int) -> list[tuple[Doc, Doc]]:
    """Two invoices per supplier from generate.py's helpers, same layout and wording."""
    from bench.corpus import generate as gen

    folder = OUT / f"template-gen-{n}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed * 31 + 5)
    all_layouts = gen.layouts()
    pairs = []
    for i in range(n):
        supplier = gen.make_supplier(rng, i)
        layout = all_layouts[(i * 5) % len(all_layouts)]
        style_seed = rng.randrange(2**31)
        day = date(2025, 3, 3) + timedelta(days=rng.randint(0, 200))
        docs = []
        for k in (1, 2):
            inv = gen.make_invoice(rng, i, supplier, layout, day + timedelta(days=31 * k))
            path = folder / f"{i:03d}-{k}.pdf"
            label_path = path.with_suffix(".json")
            pdf = gen.draw_pdf(inv, supplier, layout, random.Random(style_seed))
            if not path.is_file():
                path.write_bytes(pdf)
                labels = {x: v for x, v in inv.items() if not x.startswith("_")}
                label_path.write_text(json.dumps(labels, ensure_ascii=False), "utf-8")
            labels = json.loads(label_path.read_text("utf-8"))
            labels["supplier"]["siret"] = None  # not always printed (see generated_docs)
            docs.append(Doc("template generated", path.name, path, labels, {"use_einvoice": False}))
        pairs.append((docs[0], docs[1]))
    return pairs


def template_api() -> Any:
    """``learn_template`` of the reader, None (with a printed note) while it does not exist."""
    try:
        from plugins.binder_purchases.extraction import learn_template
    except ImportError as exc:
        print(f"template set skipped: learn_template is not available yet ({exc})")
        return None
    return learn_template


def run_templates(
    learn_template: Any, pairs: list[tuple[Doc, Doc]]
) -> tuple[list[Result], dict[str, list[int]]]:
    """Learn on the 1st document with its true fields, read the 2nd with the template."""
    results = []
    usage: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # used, learnt, pairs
    for first, second in pairs:
        column = {"template generated": "template generated"}.get(
            first.column,
            "template held-out" if first.hidden else "template real",
        )
        try:
            tpl = learn_template(first.path, as_fields(first.truth))
        except Exception as exc:  # noqa: BLE001
            print(f"  learn_template failed on {first.file}: {exc}")
            tpl = None
        doc = Doc(
            column,
            f"{second.file} (template of {first.file})",
            second.path,
            second.truth,
            {"use_einvoice": False, "template": tpl},
            second.pages,
            first.hidden,
        )
        res = read(doc)
        results.append(res)
        method = (res.fields.get("reading") or {}).get("method")
        usage[column][0] += int(method == "template")
        usage[column][1] += int(tpl is not None)
        usage[column][2] += 1
    return results, usage


# -- report ----------------------------------------------------------------------------------
def pct(ok: int, n: int) -> str:
    """'92.3 % (12/13)', or '-' when nothing was scored."""
    return f"{100 * ok / n:.1f} % ({ok}/{n})" if n else "-"


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (linear interpolation)."""
    if not values:
        return float("nan")
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def accuracy_table(title: str, results: list[Result], columns: tuple[str, ...]) -> None:
    """Per-field accuracy by column, key fields, documents and seconds per page."""
    cols = [c for c in columns if any(r.doc.column == c for r in results)]
    if not cols:
        return
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        for rec in r.records:
            cell = cells[(rec["field"], r.doc.column)]
            cell[0] += int(rec["correct"])
            cell[1] += 1
    print(f"\n## {title}\n")
    print("| field | " + " | ".join(cols) + " |")
    print("| --- | " + " | ".join("---:" for _ in cols) + " |")
    for name in FIELDS:
        if not any(cells[(name, c)][1] for c in cols):
            continue
        mark = "**" if name in KEY_FIELDS else ""
        row = [pct(*cells[(name, c)]) for c in cols]
        print(f"| {mark}{name}{mark} | " + " | ".join(row) + " |")
    key_row, doc_row, n_row, page_row, med_row, p95_row, err_row = ([] for _ in range(7))
    buyer_row, wrong_row = [], []
    for c in cols:
        mine = [r for r in results if r.doc.column == c]
        key = [rec for r in mine for rec in r.records if rec["field"] in KEY_FIELDS]
        key_row.append(pct(sum(x["correct"] for x in key), len(key)))
        buyer = [rec for r in mine for rec in r.records if rec["field"] in BUYER_FIELDS]
        buyer_row.append(pct(sum(x["correct"] for x in buyer), len(buyer)))
        # A buyer field given but wrong: what would raise a false "wrong company" warning.
        wrong = [x for x in buyer if not x["correct"] and x["value"] not in (None, "")]
        wrong_row.append(pct(len(wrong), len(buyer)))
        scored = [r for r in mine if any(x["field"] in KEY_FIELDS for x in r.records)]
        all_ok = sum(
            all(x["correct"] for x in r.records if x["field"] in KEY_FIELDS) for r in scored
        )
        doc_row.append(pct(all_ok, len(scored)))
        n_row.append(str(len(mine)))
        page_row.append(str(sum(r.doc.pages for r in mine)))
        per_page = [r.seconds / max(r.doc.pages, 1) for r in mine]
        med_row.append(f"{statistics.median(per_page):.2f}" if per_page else "-")
        p95_row.append(f"{quantile(per_page, 0.95):.2f}" if per_page else "-")
        err_row.append(str(sum(r.error is not None for r in mine)))
    print("| **key fields** | " + " | ".join(key_row) + " |")
    if any(x != "-" for x in buyer_row):
        print("| buyer fields (name, VAT number, SIREN) | " + " | ".join(buyer_row) + " |")
        print("| buyer fields given but wrong | " + " | ".join(wrong_row) + " |")
    print("| documents with every key field right | " + " | ".join(doc_row) + " |")
    print("| documents | " + " | ".join(n_row) + " |")
    print("| pages | " + " | ".join(page_row) + " |")
    print("| seconds / page, median | " + " | ".join(med_row) + " |")
    print("| seconds / page, p95 | " + " | ".join(p95_row) + " |")
    if any(e != "0" for e in err_row):
        print("| read errors | " + " | ".join(err_row) + " |")


def reliability_table(results: list[Result]) -> None:
    """Accuracy by the confidence the reader gave, real sets (fields it showed a value for)."""
    groups = {
        "xml": lambda c: c == "xml",
        "text": lambda c: c.startswith("text"),
        "scans": lambda c: c.startswith("scan"),
        "text + scans": lambda c: c != "xml",
        "all real": lambda c: True,
    }
    shown = [
        rec
        for r in results
        if r.doc.column in REAL_COLUMNS
        for rec in r.records
        if rec["value"] not in (None, [])
    ]
    if not shown:
        return
    names = [g for g, f in groups.items() if any(f(x["set"]) for x in shown)]
    print("\n## Reliability of the confidence (real sets, fields given a value)\n")
    print("| confidence | " + " | ".join(names) + " |")
    print("| --- | " + " | ".join("---:" for _ in names) + " |")
    bins = [*CONF_BINS, (None, None, "none given")]
    for lo, hi, label in bins:
        row = []
        for g in names:
            sel = [
                x
                for x in shown
                if groups[g](x["set"])
                and (
                    x["confidence"] is None
                    if lo is None
                    else x["confidence"] is not None and lo <= x["confidence"] < hi
                )
            ]
            row.append(pct(sum(x["correct"] for x in sel), len(sel)))
        print(f"| {label} | " + " | ".join(row) + " |")
    for g in names:
        sel = [
            x
            for x in shown
            if groups[g](x["set"]) and x["confidence"] is not None and x["confidence"] >= 0.9
        ]
        if sel:
            ok = sum(x["correct"] for x in sel)
            print(
                f"\nFields shown at >= 90 % ({g}) are right {100 * ok / len(sel):.1f} % "
                f"of the time ({ok}/{len(sel)})."
            )


def template_usage(usage: dict[str, list[int]]) -> None:
    """How often the template was learnt and used."""
    if not usage:
        return
    print("\n| template | learnt | used for the 2nd document |")
    print("| --- | ---: | ---: |")
    for col in TEMPLATE_COLUMNS:
        if col in usage:
            used, learnt, n = usage[col]
            print(f"| {col} | {pct(learnt, n)} | {pct(used, n)} |")


def account_proposals(corpus: Path) -> None:
    """Account accuracy from each supplier's 2nd invoice on: memory, model, rules, combined."""
    labels = [json.loads(p.read_text("utf-8")) for p in sorted(corpus.glob("*.json"))]
    memory: dict[str, str] = {}
    history: list[dict[str, Any]] = []
    model = AccountModel()
    counts = defaultdict(lambda: [0, 0])
    for i, lab in enumerate(labels):
        key = lab["supplier"]["vat_number"]
        sample = {
            "supplier_name": lab["supplier"]["name"],
            "text": lab["text"],
            "total_excl_tax": lab["total_excl_tax"],
            "vat_rate": lab["vat_lines"][0]["rate"] if lab["vat_lines"] else None,
        }
        if key in memory:
            truth = lab["account"]
            mem = memory[key]
            pred = model.predict(sample)
            rule = propose_by_rules(lab, lab["text"], allow_class2=True)
            combined = mem or (pred[0] if pred else None) or (rule.account if rule else None)
            for name, value in (
                ("supplier memory", mem),
                ("model", pred[0] if pred else None),
                ("rules", rule.account if rule else None),
                ("memory > model > rules", combined),
            ):
                counts[name][0] += int(value == truth)
                counts[name][1] += 1
        memory[key] = lab["account"]
        history.append({**sample, "account": lab["account"]})
        if i % 10 == 9:
            model.fit(history)
    print("\n| account proposal (2nd invoice of a supplier on) | accuracy |")
    print("| --- | ---: |")
    for name, (ok, n) in counts.items():
        print(f"| {name} | {pct(ok, n)} |")


def print_notes(notes: dict[str, list[str]]) -> None:
    """Oddities of the real documents' truth."""
    rows = [(f, n) for f, ns in sorted(notes.items()) for n in ns]
    if not rows:
        return
    print("\n## Notes on the truth of the real sets\n")
    for f, n in rows:
        print(f"- `{f}`: {n}")


def print_misses(results: list[Result], hidden: bool) -> None:
    """Every wrong field: file, truth, value; real sets, or held-out ones when ``hidden``."""
    real = (*REAL_COLUMNS, "template real")
    sel = [r for r in results if (r.doc.hidden if hidden else r.doc.column in real)]
    misses = [(r, x) for r in sel for x in r.records if not x["correct"]]
    errors = [r for r in sel if r.error]
    title = "held-out" if hidden else "real"
    print(f"\n## Misses ({title} sets: {len(misses)} fields)\n")
    for r in errors:
        print(f"- [{r.doc.column}] `{r.doc.file}`: read error {r.error}")
    for r, x in misses:
        print(
            f"- [{r.doc.column}] `{r.doc.file}` {x['field']}: truth {x['truth']!r}, "
            f"got {x['value']!r} (confidence {x['confidence']})"
        )


def dump(path: Path, results: list[Result], show_heldout: bool) -> None:
    """Per document and field records as JSON (held-out truth and values redacted)."""
    out = []
    for r in results:
        for rec in r.records:
            rec = {**rec, "seconds": round(r.seconds, 3), "pages": r.doc.pages}
            if r.doc.hidden and not show_heldout:
                rec = {k: rec[k] for k in ("set", "field", "confidence", "correct")}
            out.append(rec)
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str), "utf-8")
    print(f"\n{len(out)} records written to {path}")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", default=",".join(ALL_SETS))
    parser.add_argument("--size", type=int, default=60, help="generated documents")
    parser.add_argument("--heldout-size", type=int, default=40, help="held-out documents")
    parser.add_argument("--max-scans", type=int, default=3, help="per scan set; -1: all")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--show-heldout-misses", action="store_true")
    parser.add_argument(
        "--ocr",
        choices=("engine", "local"),
        default="engine",
        help="scans through the OCR plugin's engine (as the product) or the library's Tesseract",
    )
    args = parser.parse_args()
    OCR_MODE["mode"] = args.ocr
    sets = {s.strip() for s in args.sets.split(",") if s.strip()}
    unknown = sets - set(ALL_SETS)
    if unknown:
        parser.error(f"unknown sets: {', '.join(sorted(unknown))}")
    max_scans = None if args.max_scans < 0 else args.max_scans

    notes: dict[str, list[str]] = defaultdict(list)
    docs: list[Doc] = []
    real_text: list[Doc] = []
    shared = SHARED.is_dir()
    if not shared and sets & {"xml", "text", "scans"}:
        print(f"shared samples absent ({SHARED}): real sets skipped")
    if shared and "xml" in sets:
        docs += xml_docs(notes)
    if shared and sets & {"text", "scans", "template"}:
        real_text = facturx_docs(notes)
        i2d_text, i2d_scans = invoice2data_docs(notes)
        real_text += i2d_text
        if "text" in sets:
            docs += real_text
        if "scans" in sets:
            made = scan_docs(cap(real_text, max_scans, args.seed), args.seed)
            docs += cap(made + i2d_scans, max_scans, args.seed)
    corpus = None
    if "generated" in sets:
        gen, corpus = generated_docs(args.size, args.seed, max_scans)
        docs += gen
    heldout: list[Doc] = []
    if "heldout" in sets or "template" in sets:
        heldout, _ = heldout_docs(args.heldout_size, args.seed, max_scans)
        if "heldout" in sets:
            docs += heldout

    results = []
    start = time.perf_counter()
    for k, doc in enumerate(docs, 1):
        results.append(read(doc))
        if k % 25 == 0:
            print(f"  {k}/{len(docs)} read ({time.perf_counter() - start:.0f} s)", flush=True)
    usage: dict[str, list[int]] = {}
    learn_template = template_api() if "template" in sets else None
    if learn_template is not None:
        pairs = template_pairs(real_text, heldout, max(6, args.size // 5), args.seed)
        tpl_results, usage = run_templates(learn_template, pairs)
        results += tpl_results

    print("\n# Invoice reading benchmark")
    print(f"\nreader: `extract_file`; seed {args.seed}; {time.perf_counter() - start:.0f} s")
    accuracy_table("Real documents: XML, text layer, scans (a, b)", results, REAL_COLUMNS)
    accuracy_table("Generated corpus (c)", results, GEN_COLUMNS)
    accuracy_table("held-out", results, HELDOUT_COLUMNS)
    accuracy_table(
        "Second document of a supplier read with its template (d)", results, TEMPLATE_COLUMNS
    )
    template_usage(usage)
    reliability_table(results)
    if corpus is not None:
        account_proposals(corpus)
    if sets & {"xml", "text", "scans"}:
        print_notes(notes)
    if args.show_misses:
        print_misses(results, hidden=False)
    if args.show_heldout_misses:
        print_misses(results, hidden=True)
    if args.json:
        dump(args.json, results, args.show_heldout_misses)


if __name__ == "__main__":
    main()
